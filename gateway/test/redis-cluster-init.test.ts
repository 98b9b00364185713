/**
 * docker/redis/cluster-create.sh, the compose job `redis-cluster-init`, run for real against six
 * cluster-enabled redis-server processes (Debian's package, as the topology uses) with a password:
 * the first run forms 3 masters with a replica each and waits for every slot to be served; a second
 * run (every later `docker compose up`) changes nothing. Compose itself cannot run here (no Docker).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, waitForPort } from '@linkport/devstack';

const root = path.resolve(import.meta.dirname, '../..');
const script = path.join(root, 'docker/redis/cluster-create.sh');
const password = 'cluster-test-password';

void test('cluster-create.sh forms 3 masters + 3 replicas once, and is a no-op on the next run', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lp-cluster-init-'));
  const procs: ChildProcess[] = [];
  t.after(() => {
    for (const p of procs) p.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const ports: number[] = [];
  for (let i = 0; i < 6; i++) {
    const port = await freePort();
    const bus = await freePort();
    ports.push(port);
    const d = path.join(dir, String(i));
    fs.mkdirSync(d);
    // the compose node's flags (docker-compose.yml x-redis-node), on loopback ports with an explicit bus port
    procs.push(
      spawn('redis-server', ['--port', String(port), '--cluster-port', String(bus), '--bind', '127.0.0.1', '--dir', d, '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '5000', '--appendonly', 'no', '--save', '', '--requirepass', password, '--masterauth', password], { stdio: 'ignore' }),
    );
  }
  for (const p of ports) await waitForPort(p);
  const env = { ...process.env, REDISCLI_AUTH: password, CLUSTER_NODES: ports.map((p) => `localhost:${p}`).join(' ') };
  const first = spawnSync('sh', [script], { env, encoding: 'utf8', timeout: 90_000 });
  assert.equal(first.status, 0, first.stdout + first.stderr);
  assert.match(first.stdout, /redis cluster ok/);

  const cli = (...args: string[]) => spawnSync('redis-cli', ['-p', String(ports[0]), ...args], { env, encoding: 'utf8' }).stdout;
  assert.match(cli('cluster', 'info'), /cluster_state:ok/);
  // roles reach the first node by gossip (CLUSTER REPLICATE ran on the replicas): give it a few seconds
  const role = (l: string) => (/(^|,)(slave|replica)(,|$)/.test(l.split(' ')[2] ?? '') ? 'replica' : 'master');
  let nodes: string[] = [];
  for (let i = 0; i < 50; i++) {
    nodes = cli('cluster', 'nodes').trim().split('\n');
    if (nodes.filter((l) => role(l) === 'replica').length === 3) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(nodes.length, 6);
  const masters = nodes.filter((l) => role(l) === 'master');
  const replicas = nodes.filter((l) => role(l) === 'replica');
  assert.equal(masters.length, 3, cli('cluster', 'nodes'));
  assert.equal(replicas.length, 3);
  // every replica follows a master: 3 distinct masters, each with one replica
  assert.deepEqual(new Set(replicas.map((l) => l.split(' ')[3])).size, 3);

  const again = spawnSync('sh', [script], { env, encoding: 'utf8', timeout: 90_000 });
  assert.equal(again.status, 0, again.stdout + again.stderr);
  assert.match(again.stdout, /cluster already formed \(6 nodes known/);
  assert.equal(cli('cluster', 'nodes').trim().split('\n').length, 6);
});

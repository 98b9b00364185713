/**
 * What reaches `npm start` from outside is often a signal to npm alone: `timeout`, systemd, a
 * supervisor or a CI runner sends SIGTERM to the pid it started, and npm passes it to its `sh -c`
 * only, which dies without passing it on. Whatever the signal, no process of the stack and no
 * listening port may outlive it (issue 10).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { test } from 'node:test';
import { alive, fakeService, killLater, portEnv, readRun, root, tempDataDir } from './helper.ts';

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(false)));
    s.once('error', () => resolve(true));
  });
}

async function npmStart(t: { after(fn: () => void): void }) {
  const dataDir = tempDataDir(t);
  const ports = await portEnv();
  const env: NodeJS.ProcessEnv = { ...process.env, ...ports, LINKPORT_DATA_DIR: dataDir, LINKPORT_SERVICES: 'none', LINKPORT_EXTRA_SERVICES: JSON.stringify([fakeService('fake', ports.CORE_PORT!)]) };
  for (const k of ['DATABASE_URL', 'REDIS_URL', 'S3_ENDPOINT', 'HASURA_URL']) delete env[k];
  const npm = spawn('npm', ['start', '--silent'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  npm.stdout.on('data', (d: Buffer) => (out += d.toString()));
  npm.stderr.on('data', (d: Buffer) => (out += d.toString()));
  t.after(() => npm.kill('SIGKILL'));
  const deadline = Date.now() + 90_000;
  while (!out.includes('Ctrl-C stops everything')) {
    if (Date.now() > deadline || npm.exitCode !== null) throw new Error(`npm start did not come up:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const run = readRun(dataDir);
  const pids = { ...run.pids, launcher: run.launcherPid };
  const listening = [ports.PG_PORT, ports.REDIS_PORT, ports.S3_PORT, ports.CORE_PORT].map(Number);
  t.after(killLater(pids));
  return { npm, pids, listening, output: () => out };
}

async function allGone(pids: Record<string, number>, ports: number[], withinMs: number): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    if (!Object.values(pids).some(alive) && (await Promise.all(ports.map(portFree))).every(Boolean)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  const left = Object.entries(pids).filter(([, pid]) => alive(pid));
  const open = [];
  for (const p of ports) if (!(await portFree(p))) open.push(p);
  assert.fail(`still alive after ${withinMs} ms: ${JSON.stringify(left)}; ports still open: ${open.join(', ')}`);
}

void test('SIGTERM to the npm process only: the whole stack stops within 10 s', async (t) => {
  const { npm, pids, listening } = await npmStart(t);
  npm.kill('SIGTERM');
  await allGone(pids, listening, 10_000);
});

void test('SIGKILL of npm (the launcher’s parent): the whole stack stops within 10 s', async (t) => {
  const { npm, pids, listening } = await npmStart(t);
  npm.kill('SIGKILL');
  await allGone(pids, listening, 10_000);
});

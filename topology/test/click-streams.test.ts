/**
 * Sharded click streams on a real Redis Cluster (issue 18 §2) and the ClickHouse sink (§4): the
 * redirect writes clicks to CLICK_STREAM_SHARDS streams `{clicks:i}` spread over the cluster's
 * masters; two real worker processes consume every shard through one consumer group (and, with
 * ClickHouse, a second group into ClickHouse). Mid-burst, the master holding shard 0 is killed
 * (SIGKILL) and later one worker: every redirect is answered, and PostgreSQL (and ClickHouse)
 * hold exactly one row per redirect served.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createRedis, createRedisClient, type Cluster, type Redis } from '@linkport/common';
import { createTestDatabase, findClickHouseServer, freePort, startClickHouseServer, type RunningClickHouse } from '@linkport/devstack/testing';
import { buildRedirectApp, clickStreams, ClickHouseAnalytics, createClickHouse, loadRedirectConfig } from '@linkport/redirect';
import { startRedisCluster } from '../src/redis-cluster.ts';

const root = path.resolve(import.meta.dirname, '../..');
/** A browser's agent: clicks from `node` would be bots, stored but not counted. */
const BROWSER = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36';
// npm test sets LINKPORT_REQUIRE_CLICKHOUSE=1 once clickhouse-server is installed: then its absence fails.
const withClickHouse = findClickHouseServer() !== undefined || process.env.LINKPORT_REQUIRE_CLICKHOUSE === '1';

function spawnWorker(cleanup: Array<() => unknown>, name: string, env: Record<string, string>): ChildProcess & { output: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'redirect/src/worker.ts')], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'warn', WORKER_NAME: name, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (d: Buffer) => (out = (out + d.toString()).slice(-6000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  cleanup.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  });
  return Object.assign(child, { output: () => out });
}

async function until<T>(what: string, f: () => Promise<T | false | undefined>, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

void test('sharded click streams on a Redis Cluster: a master and a worker killed mid-burst, every redirect counted once in PostgreSQL (and ClickHouse)', async (t) => {
  // torn down in reverse: workers and the app before the database and the cluster they use
  const cleanup: Array<() => unknown> = [];
  t.after(async () => {
    for (const f of cleanup.reverse()) await f();
  });
  const SHARDS = 4;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lp-c18-streams-'));
  cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const ports: number[] = [];
  const bus: number[] = [];
  for (let i = 0; i < 6; i++) {
    ports.push(await freePort());
    bus.push(await freePort());
  }
  const cluster = await startRedisCluster({ ports, busPorts: bus, dir: path.join(dir, 'cluster'), nodeTimeoutMs: 1000 });
  cleanup.push(() => cluster.stop());
  const clusterUrl = `redis+cluster://${cluster.nodes.join(',')}`;
  const db = await createTestDatabase();
  cleanup.push(() => db.drop());
  let ch: RunningClickHouse | undefined;
  if (withClickHouse) {
    ch = await startClickHouseServer({ dir: path.join(dir, 'clickhouse') });
    cleanup.push(() => ch?.stop());
  } else t.diagnostic('clickhouse-server is not installed: the ClickHouse half of this test is skipped (apt-get install clickhouse-server)');

  const admin = new pg.Pool({ connectionString: db.adminUrl, max: 2 });
  cleanup.push(() => admin.end());
  const { rows: u } = await admin.query<{ id: string }>(`INSERT INTO core.users (email, password_hash) VALUES ('shards@example.com', 'x') RETURNING id`);
  const owner = u[0]!.id;
  const codes = Array.from({ length: 20 }, (_, i) => `sh${i}`);
  for (const code of codes) await admin.query(`INSERT INTO links.links (owner_id, code, destination) VALUES ($1, $2, 'https://example.com/s')`, [owner, code]);

  const shared = {
    DATABASE_URL: db.roleUrl('redirect_service'),
    REDIS_URL: clusterUrl,
    CLICK_STREAM_SHARDS: String(SHARDS),
  };
  const app = await buildRedirectApp(
    loadRedirectConfig({ ...shared, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'silent', TRUSTED_PROXIES: 'loopback', CLICK_STREAM_MIN_REPLICAS: '1' }),
  );
  const { url } = await app.listen();
  cleanup.push(() => app.close());

  const workerEnv = async () => ({
    ...shared,
    WORKER_PORT: String(await freePort()),
    WORKER_CLAIM_IDLE_MS: '1000',
    WORKER_BLOCK_MS: '200',
    ...(ch ? { CLICKHOUSE_URL: ch.url, CLICKHOUSE_DATABASE: 'lp_test' } : {}),
  });
  const env1 = await workerEnv();
  const env2 = await workerEnv();
  const w1 = spawnWorker(cleanup, 'w1', env1);
  const w2 = spawnWorker(cleanup, 'w2', env2);
  for (const [e, w] of [[env1, w1], [env2, w2]] as const) {
    await until('worker ready', async () => (await fetch(`http://127.0.0.1:${e.WORKER_PORT}/health/ready`)).ok, 60_000).catch((err: unknown) => {
      throw new Error(`${String(err)}: ${w.output()}`);
    });
  }

  const probe = createRedisClient(clusterUrl) as Cluster;
  cleanup.push(() => probe.disconnect());
  await new Promise<void>((r) => probe.once('ready', () => r()));
  const shardKeys = clickStreams('clicks', SHARDS);
  // the shards live on more than one master (slots of {clicks:0..3})
  // one plain connection per node, for node-local commands (the masters per CLUSTER NODES)
  const direct = new Map<number, Redis>();
  cleanup.push(() => {
    for (const r of direct.values()) r.disconnect();
  });
  const nodeClient = (port: number) => {
    let r = direct.get(port);
    if (!r) direct.set(port, (r = createRedis(`redis://127.0.0.1:${port}`, { maxRetriesPerRequest: 0 })));
    return r;
  };
  const slotOwner = async (key: string) => {
    // a master not serving the key's slot answers MOVED
    for (const port of cluster.masters()) if ((await nodeClient(port).exists(key).catch(() => 0)) === 1) return port;
    return undefined;
  };
  const owners = new Set<number | undefined>();
  for (const k of shardKeys) owners.add(await until(`stream ${k} exists`, () => slotOwner(k), 10_000));
  assert.ok(owners.size >= 2, `shards on ${owners.size} master(s)`);

  // the burst: 8 clients, the shard-0 master killed at a third, worker 1 at two thirds
  const TOTAL = 1200;
  let sent = 0;
  let served = 0;
  const statuses = new Map<number, number>();
  let killedMaster = -1;
  const client = async () => {
    while (sent < TOTAL) {
      const i = sent++;
      if (i === Math.floor(TOTAL / 3)) {
        killedMaster = (await slotOwner(shardKeys[0]!)) ?? -1;
        cluster.kill(killedMaster);
      }
      if (i === Math.floor((2 * TOTAL) / 3)) w1.kill('SIGKILL');
      const res = await fetch(`${url}/${codes[i % codes.length]!}`, { redirect: 'manual', headers: { 'x-forwarded-for': `10.0.${i >> 8}.${i & 255}`, 'user-agent': BROWSER } });
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      if (res.status === 302) served++;
      await res.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: 8 }, client));
  assert.deepEqual([...statuses.keys()], [302], JSON.stringify([...statuses]));
  assert.equal(served, TOTAL);
  await app.producer.drain(10_000);
  assert.equal(app.producer.buffered, 0, 'nothing left in the redirect buffer');

  // PostgreSQL: exactly one row per redirect, counted once
  const pgCount = async () => {
    const { rows } = await admin.query<{ n: string; ids: string; counted: string }>(
      `SELECT count(*) AS n, count(DISTINCT click_id) AS ids, (SELECT sum(click_count) FROM links.links) AS counted FROM links.clicks`,
    );
    return { n: Number(rows[0]!.n), ids: Number(rows[0]!.ids), counted: Number(rows[0]!.counted) };
  };
  const got = await until('all clicks in PostgreSQL', async () => {
    const c = await pgCount();
    return c.n >= served && c;
  }, 60_000).catch(async (err: unknown) => {
    const c = await pgCount();
    throw new Error(`${String(err)}: ${c.n} of ${served} rows; worker 2: ${w2.output()}`);
  });
  await new Promise((r) => setTimeout(r, 500));
  const final = await pgCount();
  assert.deepEqual(final, { n: served, ids: served, counted: served }, `PostgreSQL ${JSON.stringify(got)}`);

  // every shard was written to, and the surviving worker consumed every shard
  const slotOwnerNow = new Map<string, number>();
  for (const k of shardKeys) slotOwnerNow.set(k, await until(`${k} on a live master`, () => slotOwner(k), 15_000));
  for (const k of shardKeys) {
    assert.ok((await probe.xlen(k)) > 0, `${k} has entries`);
    // XINFO names its key after a subcommand, which ioredis' Cluster cannot route: ask the shard's master
    const consumers = (await nodeClient(slotOwnerNow.get(k)!).xinfo('CONSUMERS', k, 'click-workers')) as unknown[][];
    const names = consumers.map((c) => String(c[1]));
    assert.ok(names.includes('w2'), `${k} consumed by w2: ${names.join(',')}`);
  }
  assert.ok(cluster.masters().length === 3 && !cluster.masters().includes(killedMaster), 'the killed master was replaced by its replica');

  // The surviving worker's stream gauges read every shard on its own master (summed): nothing left
  // undelivered or unacked, and the length is every entry the shards hold (the old unsharded key empty).
  let kept = 0;
  for (const k of shardKeys) kept += await probe.xlen(k);
  const stream = await until('worker gauges settled', async () => {
    const text = await (await fetch(`http://127.0.0.1:${env2.WORKER_PORT}/metrics`)).text();
    const read = (stat: string) => Number(new RegExp(`^linkport_click_stream\\{stat="${stat}"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
    const v = { length: read('length'), lag: read('lag'), pending: read('pending') };
    return v.pending === 0 && v.lag === 0 && v;
  }, 15_000);
  assert.deepEqual(stream, { length: kept, lag: 0, pending: 0 });

  if (ch) {
    const chc = createClickHouse({ url: ch.url, database: 'lp_test' });
    cleanup.push(() => chc.close());
    const analytics = new ClickHouseAnalytics(chc, 'lp_test');
    const n = await until('all clicks in ClickHouse', async () => {
      const total = await analytics.totalClicks();
      return total >= served && total;
    }, 60_000).catch(async (err: unknown) => {
      throw new Error(`${String(err)}: ${await analytics.totalClicks()} of ${served}; worker 2: ${w2.output()}`);
    });
    assert.equal(n, served);
    const [country] = await analytics.accountBreakdown({ ownerId: owner, dimension: 'country', topN: 5, fromMs: Date.now() - 3_600_000, toMs: Date.now() + 60_000 });
    assert.equal(country?.clicks, served);
  }
  const m = await fetch(`http://127.0.0.1:${env2.WORKER_PORT}/metrics`).then((r) => r.text());
  const reclaimed = /linkport_worker_entries_reclaimed_total (\d+)/.exec(m)?.[1];
  t.diagnostic(`${served} redirects over ${SHARDS} shards on ${owners.size} masters; master :${killedMaster} and worker w1 killed; PostgreSQL ${final.n} rows${ch ? ', ClickHouse equal' : ''}; w2 reclaimed ${reclaimed ?? '?'} entries; ${app.metrics.c.clicks_buffered_total} clicks re-sent after a failed or unreplicated batch`);
});

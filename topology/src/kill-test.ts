/**
 * The kill test (issue 18, "Proof"): the whole topology up (3 redirects, 2 workers, Redis Cluster
 * 3+3 with sharded click streams, PG primary + replica, ClickHouse), N redirects through the gateway
 * spread over the replicas while one redirect replica, one worker and one Redis master are SIGKILLed
 * at random moments. Every request must be answered (a client retries a failed attempt, as a
 * browser would; the gateway also retries idempotent requests itself); then the clicks in
 * PostgreSQL and in ClickHouse are compared with the redirects served, and the difference is
 * reported exactly.
 *
 *   npm run test:scale                         # 100,000 redirects
 *   KILL_TEST_REDIRECTS=20000 npm run test:scale
 *
 * Ports: TOPOLOGY_BASE_PORT (default 24500 here, clear of a developer's `npm run topology` on
 * 23000); data in a fresh temporary directory, removed afterwards.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createRedisClient, type Cluster } from '@linkport/common';
import { defaultOptions, startTopology, type RunningTopology } from './topology.ts';

export interface KillTestOptions {
  redirects: number;
  concurrency: number;
  basePort: number;
  log(line: string): void;
}

export interface KillTestResult {
  served: number;
  /** Attempts that failed and were retried by the client (connection reset, 502/503/504). */
  clientRetries: number;
  unanswered: number;
  kills: Array<{ what: string; atRequest: number; atMs: number }>;
  postgres: number;
  clickhouse: number | undefined;
  /**
   * Distinct clicks of this run found in the Redis streams afterwards (all shards, duplicates from
   * re-sent batches counted once). served − inRedis = clicks that never reached Redis: answered by
   * a redirect that was SIGKILLed while they waited in its linger batch or in flight (the producer
   * answers first and appends asynchronously, by design). A batch a dying Redis master had taken
   * but not replicated is re-sent (CLICK_STREAM_MIN_REPLICAS=1), so it is in Redis.
   */
  inRedis: number;
  lostBeforeRedis: number;
  /** inRedis − stored: clicks that reached Redis but not the store (target 0: workers reclaim and dedup). */
  lostAfterRedisPostgres: number;
  lostAfterRedisClickhouse: number | undefined;
  /** served − stored: > 0 lost, < 0 counted twice (a redirect answered to a client that never saw the answer, then retried). */
  lostPostgres: number;
  lostClickhouse: number | undefined;
  /** Redis entries re-sent by the redirects after a failed or unreplicated batch (from their /metrics, survivors only). */
  durationMs: number;
  reqPerSec: number;
}

const BROWSER = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runKillTest(opts: KillTestOptions): Promise<KillTestResult> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lp-kill-'));
  const topoOpts = { ...defaultOptions({ ...process.env, TOPOLOGY_BASE_PORT: String(opts.basePort), TOPOLOGY_DATA_DIR: dataDir, TOPOLOGY_CLICKHOUSE: process.env.TOPOLOGY_CLICKHOUSE ?? '1' }, opts.log) };
  opts.log(`starting the topology on ${opts.basePort}… (data ${dataDir})`);
  const topo: RunningTopology = await startTopology(topoOpts);
  try {
    const r = await drive(topo, opts);
    // printed before teardown: the figures must not depend on a clean stop
    opts.log(`result: ${JSON.stringify(r)}`);
    return r;
  } finally {
    opts.log('stopping the topology…');
    const stopped = await Promise.race([topo.stop().then(() => true), sleep(60_000).then(() => false)]);
    if (!stopped) opts.log(`the topology did not stop within 60 s: see ${dataDir}/topology.json for the PIDs`);
    else fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

async function drive(topo: RunningTopology, opts: KillTestOptions): Promise<KillTestResult> {
  const { state } = topo;
  const admin = new pg.Pool({ connectionString: state.databaseUrl, max: 2 });
  try {
    const { rows: u } = await admin.query<{ id: string }>(`INSERT INTO core.users (email, password_hash) VALUES ($1, 'x') RETURNING id`, [`kill${Date.now()}@example.com`]);
    const owner = u[0]!.id;
    const codes = Array.from({ length: 50 }, (_, i) => `kt${i}x${Date.now().toString(36)}`);
    const linkIds: string[] = [];
    for (const code of codes) {
      const r = await admin.query<{ id: string }>(`INSERT INTO links.links (owner_id, code, destination) VALUES ($1, $2, 'https://example.com/k') RETURNING id`, [owner, code]);
      linkIds.push(r.rows[0]!.id);
    }

    // three kills at random moments between 10 % and 90 % of the run
    const at = () => Math.floor(opts.redirects * (0.1 + 0.8 * Math.random()));
    const plan = [
      { what: 'redirect-2', at: at() },
      { what: 'worker-1', at: at() },
      { what: 'redis-master', at: at() },
    ].sort((a, b) => a.at - b.at);
    const kills: KillTestResult['kills'] = [];
    const t0 = Date.now();
    const kill = (what: string, i: number) => {
      let target = what;
      if (what === 'redis-master') {
        const masters = topo.cluster.masters();
        const port = masters[Math.floor(Math.random() * masters.length)]!;
        topo.cluster.kill(port);
        target = `redis master :${port}`;
      } else {
        const p = state.processes.find((x) => x.name === what);
        if (p) process.kill(p.pid, 'SIGKILL');
      }
      kills.push({ what: target, atRequest: i, atMs: Date.now() - t0 });
      opts.log(`killed ${target} at request ${i} (${Date.now() - t0} ms)`);
    };

    let next = 0;
    let served = 0;
    let clientRetries = 0;
    let unanswered = 0;
    const one = async (i: number) => {
      const code = codes[i % codes.length]!;
      // a new visitor per request (the topology gateway trusts loopback's X-Forwarded-For)
      const headers = { 'user-agent': BROWSER, 'x-forwarded-for': `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` };
      for (let attempt = 0; attempt < 8; attempt++) {
        try {
          const res = await fetch(`${state.gateway}/${code}`, { redirect: 'manual', headers, signal: AbortSignal.timeout(10_000) });
          await res.arrayBuffer();
          if (res.status === 302) {
            served++;
            return;
          }
        } catch {
          // connection reset / timeout: retried below
        }
        clientRetries++;
        await sleep(50 * 2 ** attempt);
      }
      unanswered++;
    };
    const client = async () => {
      while (next < opts.redirects) {
        const i = next++;
        while (plan.length > 0 && plan[0]!.at <= i) kill(plan.shift()!.what, i);
        await one(i);
        if (i > 0 && i % 10_000 === 0) opts.log(`${i} requests, ${Math.round((i * 1000) / (Date.now() - t0))} req/s`);
      }
    };
    await Promise.all(Array.from({ length: opts.concurrency }, client));
    const durationMs = Date.now() - t0;
    opts.log(`${served} served, ${unanswered} unanswered, ${clientRetries} client retries in ${durationMs} ms; waiting for the workers to drain…`);

    // stored counts, until both stop moving (a reclaim waits WORKER_CLAIM_IDLE_MS = 5 s)
    const pgCount = async () => Number((await admin.query<{ n: string }>(`SELECT count(*) AS n FROM links.clicks c JOIN links.links l ON l.id = c.link_id WHERE l.owner_id = $1`, [owner])).rows[0]!.n);
    // ClickHouse's HTTP interface directly (the worker's sink counts the same way: uniqExact of the click key)
    const chCount = async () => {
      if (!state.clickhouse) return undefined;
      const res = await fetch(state.clickhouse, { method: 'POST', body: `SELECT uniqExact(click_key) FROM ${state.clickhouseDatabase}.clicks WHERE owner_id = toUUID('${owner}')` });
      if (!res.ok) throw new Error(`clickhouse: ${res.status} ${await res.text()}`);
      return Number((await res.text()).trim());
    };
    let last = '';
    let stableSince = Date.now();
    const deadline = Date.now() + 180_000;
    let pgN = 0;
    let chN: number | undefined;
    for (;;) {
      pgN = await pgCount();
      chN = await chCount().catch(() => chN);
      const key = `${pgN}/${chN}`;
      if (key !== last) {
        last = key;
        stableSince = Date.now();
      }
      const done = pgN >= served && (chN === undefined || chN >= served);
      if ((done && Date.now() - stableSince > 2_000) || Date.now() - stableSince > 20_000 || Date.now() > deadline) break;
      await sleep(500);
    }
    const inRedis = await clicksInRedis(state.redisCluster, state.streamShards, new Set(linkIds));
    return {
      served,
      inRedis,
      lostBeforeRedis: served - inRedis,
      lostAfterRedisPostgres: inRedis - pgN,
      lostAfterRedisClickhouse: chN === undefined ? undefined : inRedis - chN,
      clientRetries,
      unanswered,
      kills,
      postgres: pgN,
      clickhouse: chN,
      lostPostgres: served - pgN,
      lostClickhouse: chN === undefined ? undefined : served - chN,
      durationMs,
      reqPerSec: Math.round((served * 1000) / durationMs),
    };
  } finally {
    await admin.end();
  }
}

/** Distinct click ids of `links` in every shard stream (entries are `c` = TAB-joined values, clicks/click.ts: id second, link third). */
async function clicksInRedis(url: string, shards: number, links: Set<string>): Promise<number> {
  const redis = createRedisClient(url, { maxRetriesPerRequest: 3 }) as Cluster;
  try {
    await new Promise<void>((r) => redis.once('ready', () => r()));
    const ids = new Set<string>();
    const keys = shards <= 1 ? ['clicks'] : ['clicks', ...Array.from({ length: shards }, (_, i) => `{clicks:${i}}`)];
    for (const key of keys) {
      let start = '-';
      for (;;) {
        const page = await redis.xrange(key, start, '+', 'COUNT', 5000);
        for (const [, fields] of page) {
          const v = (fields[1] ?? '').split('\t');
          if (v[2] && links.has(v[2]) && v[1]) ids.add(v[1]);
        }
        if (page.length < 5000) break;
        start = `(${page[page.length - 1]![0]}`;
      }
    }
    return ids.size;
  } finally {
    redis.disconnect();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const n = (k: string, d: number) => {
    const v = Number(process.env[k] ?? d);
    if (!Number.isInteger(v) || v < 1) throw new Error(`${k} must be a positive integer`);
    return v;
  };
  const log = (l: string) => process.stdout.write(`${new Date().toISOString()} ${l}\n`);
  const r = await runKillTest({ redirects: n('KILL_TEST_REDIRECTS', 100_000), concurrency: n('KILL_TEST_CONCURRENCY', 16), basePort: n('TOPOLOGY_BASE_PORT', 24500), log });
  log(JSON.stringify(r, null, 2));
  const ok = r.unanswered === 0 && r.lostAfterRedisPostgres === 0 && (r.lostAfterRedisClickhouse ?? 0) === 0;
  log(
    `${ok ? 'PASS' : 'FAIL'}: ${r.served} served, ${r.unanswered} unanswered; PostgreSQL ${r.postgres}, ClickHouse ${r.clickhouse ?? 'n/a'}; ` +
      `lost before Redis (in the killed redirect's memory) ${r.lostBeforeRedis}, lost between Redis and PostgreSQL ${r.lostAfterRedisPostgres}, and ClickHouse ${r.lostAfterRedisClickhouse ?? 'n/a'}`,
  );
  process.exit(ok ? 0 : 1);
}

/**
 * `npm run bench:subscriptions -w @linkport/hasura-engine` (issue 14): N live-query subscriptions
 * over M WebSocket connections, K distinct users each watching their own links' click counts,
 * clicks committed continuously — with multiplexing ON and OFF (ENGINE_LIVE_QUERIES_MULTIPLEXING)
 * in the same run, against the same database. Reported per mode:
 *   - PostgreSQL statements per refetch interval: the queries the engine's live-query pool ran
 *     over the window (counted in the engine process, bench/subscriptions-engine.ts), divided by
 *     the refetch intervals in the window;
 *   - engine CPU (utime+stime of the engine process, /proc) per second and its RSS;
 *   - click committed → change delivered to a subscriber, p50/p99 over every delivery that
 *     carries a click's new count.
 * Streaming rows (modes `stream-on`, `stream-off`): the same subscribers each stream their links
 * clicked since they subscribed (`links_links_stream(cursor: {initial_value: {last_clicked_at: <start>}})`,
 * subscriptions/streaming.ts); a click sets `last_clicked_at`, so its row arrives in the subscriber's
 * next batch. `stream-off` serves every cohort with its own statement (batch size 1) — streams
 * have no per-subscription mode, a cursor must be advanced by the multiplexer either way.
 * @cached (mode `cache`): the first-party stats query (`rest_link_stats` in
 * hasura/metadata/query_collections.yaml, `@cached(ttl: 10)`) as a subscriber's user, hit vs the
 * same operation without the directive, in interleaved rounds against an engine with the project
 * metadata and a real redis-server (bench/subscriptions-cache.ts).
 * Defaults fit 2 cores: 2,000 subscriptions / 200 connections / 200 users; the figures are
 * `--subs 10000 --conns 1000 --users 1000`. To run that in one process on 2 cores the client
 * opens connections --open-batch at a time (default 50) and subscribes in waves of --wave
 * (default 500), each wave's first results awaited before the next, so neither side sees one
 * burst of 10,000 subscribes; per subscription it keeps only the last count per link. Other
 * flags: --seconds (per mode, default 10), --clicks (per second, default 50), --interval (refetch
 * ms, default 1000), --batch (default 100), --modes (default on,off,stream-on,stream-off,cache),
 * --cache-rounds (default 3), --cache-seconds (per round and side, default 2), --cache-conns
 * (default 16). Each flag can also be given as BENCH_<FLAG> (BENCH_SUBS=10000, BENCH_OPEN_BATCH …),
 * which passes through the root script. Loopback only; the engine runs in its own process
 * (bench/subscriptions-engine.ts), so its CPU and memory are measured apart from the clients'.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import WebSocket from 'ws';
import YAML from 'yaml';
import { createTestDatabase, startTestRedis } from '@linkport/devstack/testing';
import { cachedVsUncached } from './subscriptions-cache.ts';

const { values: flags } = parseArgs({
  options: {
    subs: { type: 'string', default: process.env.BENCH_SUBS ?? '2000' },
    conns: { type: 'string', default: process.env.BENCH_CONNS ?? '200' },
    users: { type: 'string', default: process.env.BENCH_USERS ?? '200' },
    seconds: { type: 'string', default: process.env.BENCH_SECONDS ?? '10' },
    clicks: { type: 'string', default: process.env.BENCH_CLICKS ?? '50' },
    interval: { type: 'string', default: process.env.BENCH_INTERVAL ?? '1000' },
    batch: { type: 'string', default: process.env.BENCH_BATCH ?? '100' },
    modes: { type: 'string', default: process.env.BENCH_MODES ?? 'on,off,stream-on,stream-off,cache' },
    'open-batch': { type: 'string', default: process.env.BENCH_OPEN_BATCH ?? '50' },
    wave: { type: 'string', default: process.env.BENCH_WAVE ?? '500' },
    'cache-rounds': { type: 'string', default: process.env.BENCH_CACHE_ROUNDS ?? '3' },
    'cache-seconds': { type: 'string', default: process.env.BENCH_CACHE_SECONDS ?? '2' },
    'cache-conns': { type: 'string', default: process.env.BENCH_CACHE_CONNS ?? '16' },
  },
});
const SUBS = Number(flags.subs);
const CONNS = Number(flags.conns);
const USERS = Number(flags.users);
const SECONDS = Number(flags.seconds);
const CLICK_RATE = Number(flags.clicks);
const INTERVAL = Number(flags.interval);
const OPEN_BATCH = Math.max(1, Number(flags['open-batch']));
const WAVE = Math.max(1, Number(flags.wave));
/** Waiting for first results: generous, and more for more subscriptions (multiplexing off on 2 cores). */
const STARTUP_LIMIT_MS = Math.max(120_000, SUBS * 30);
const METADATA_DIR = path.resolve(import.meta.dirname, '../../metadata');
const SECRET = 'bench-secret';
const LINKS_PER_USER = 3;
const uid = (u: number) => `00000000-0000-4000-8000-${(u + 1).toString(16).padStart(12, '0')}`;
const QUERY = 'subscription { links_links(order_by: {code: asc}) { code click_count } }';
const STREAM = 'subscription ($from: timestamptz!) { links_links_stream(cursor: {initial_value: {last_clicked_at: $from}}, batch_size: 100) { code click_count } }';
type Mode = 'on' | 'off' | 'stream-on' | 'stream-off' | 'cache';

const SEED = `
INSERT INTO core.users (id, email, password_hash)
SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(u), 12, '0'))::uuid, 'u' || u || '@example.com', 'x' FROM generate_series(1, ${USERS}) u;
INSERT INTO links.domains (owner_id, hostname, verified) SELECT id, 'd' || row_number() OVER () || '.example.com', true FROM core.users;
INSERT INTO links.links (owner_id, domain_id, code, destination, title, click_count)
SELECT u.id, d.id, 'c' || substr(md5(u.id::text), 1, 8) || '-' || i, 'https://example.com/' || i, 'Title ' || i, 0
FROM core.users u JOIN links.domains d ON d.owner_id = u.id, generate_series(1, ${LINKS_PER_USER}) i;
ANALYZE;`;

const pct = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** utime+stime (seconds), RSS and peak RSS (MiB) of a process, from /proc. */
function procStats(pid: number): { cpu: number; rssMiB: number; peakMiB: number } {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => { const m = new RegExp(`${k}:\\s+(\\d+) kB`).exec(status); return m ? Number(m[1]) / 1024 : NaN; };
  return { cpu: ticks / 100, rssMiB: kb('VmRSS'), peakMiB: kb('VmHWM') };
}

async function startEngine(url: string, multiplexing: 'on' | 'off', extraEnv: Record<string, string> = {}): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'subscriptions-engine.ts')], {
    env: {
      ...process.env,
      ...extraEnv,
      HASURA_GRAPHQL_DATABASE_URL: url,
      HASURA_GRAPHQL_ADMIN_SECRET: SECRET,
      HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_REFETCH_INTERVAL: String(INTERVAL),
      HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_BATCH_SIZE: flags.batch,
      ENGINE_LIVE_QUERIES_MULTIPLEXING: multiplexing,
      HASURA_GRAPHQL_STREAMING_QUERIES_MULTIPLEXED_REFETCH_INTERVAL: String(INTERVAL),
      HASURA_GRAPHQL_STREAMING_QUERIES_MULTIPLEXED_BATCH_SIZE: flags.batch,
      ENGINE_WS_MAX_SUBSCRIPTIONS: String(Math.max(SUBS, 10_000)),
      ENGINE_WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: String(Math.max(100, Math.ceil(SUBS / CONNS))),
      // Connection c carries user c % USERS: a user holds about SUBS / min(USERS, CONNS) subscriptions.
      ENGINE_WS_MAX_SUBSCRIPTIONS_PER_USER: String(Math.max(300, Math.ceil(SUBS / Math.min(USERS, CONNS)) + 1)),
    },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += String(d);
      const m = /port (\d+)/.exec(buf);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`engine exited (${code})`)));
  });
  return { child, port };
}

interface Conn { ws: WebSocket }

/** Commit times of clicks by `<code>:<count>`: a delivery showing that count measures from it. */
const committed = new Map<string, number>();

async function mode(dbUrl: string, adminUrl: string, m: Mode) {
  const stream = m.startsWith('stream');
  const { child, port } = await startEngine(dbUrl, m.endsWith('off') ? 'off' : 'on');
  const from = new Date().toISOString();
  const conns: Conn[] = [];
  const latencies: number[] = [];
  let firsts = 0;
  let errors = 0;
  let deliveries = 0;
  try {
    // Connections OPEN_BATCH at a time, then subscriptions in waves; subscription i is on
    // connection i % CONNS, which carries user (i % CONNS) % USERS.
    const last = new Map<string, Map<string, number>>();
    const t0 = performance.now();
    for (let c0 = 0; c0 < CONNS; c0 += OPEN_BATCH) {
      const opened = await Promise.all(Array.from({ length: Math.min(OPEN_BATCH, CONNS - c0) }, async (_, k) => {
        const ci = c0 + k;
        const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/graphql`, 'graphql-transport-ws');
        await new Promise<void>((r, j) => { ws.once('open', () => r()); ws.once('error', j); });
        // One connection carries one user's session (Hasura authenticates per connection).
        const u = ci % USERS;
        const acked = new Promise<void>((r) => ws.on('message', (raw) => {
          const msg = JSON.parse(String(raw)) as { type: string; id?: string; payload?: { data?: { links_links?: Array<{ code: string; click_count: string }>; links_links_stream?: Array<{ code: string; click_count: string }> } } };
          if (msg.type === 'connection_ack') return r();
          if (msg.type === 'error') { errors++; return; }
          if (msg.type !== 'next' || !msg.id) return;
          if (stream) {
            // Every batch is news: each row is a click's new count.
            const batch = msg.payload?.data?.links_links_stream;
            if (!batch) { errors++; return; }
            deliveries++;
            const now = performance.now();
            for (const r0 of batch) {
              const t = committed.get(`${r0.code}:${Number(r0.click_count)}`);
              if (t !== undefined) latencies.push(now - t);
            }
            return;
          }
          const rows = msg.payload?.data?.links_links;
          if (!rows) { errors++; return; }
          const key = `${ci}:${msg.id}`;
          let prev = last.get(key);
          if (!prev) { prev = new Map(); last.set(key, prev); firsts++; for (const r0 of rows) prev.set(r0.code, Number(r0.click_count)); return; }
          deliveries++;
          const now = performance.now();
          for (const r0 of rows) {
            const n = Number(r0.click_count);
            if (prev.get(r0.code) !== n) {
              const t = committed.get(`${r0.code}:${n}`);
              if (t !== undefined) latencies.push(now - t);
              prev.set(r0.code, n);
            }
          }
        }));
        ws.send(JSON.stringify({ type: 'connection_init', payload: { headers: { 'x-hasura-admin-secret': SECRET, 'x-hasura-role': 'user', 'x-hasura-user-id': uid(u) } } }));
        await acked;
        return { ws };
      }));
      conns.push(...opened);
    }
    const openMs = performance.now() - t0;
    for (let w0 = 0; w0 < SUBS; w0 += WAVE) {
      const end = Math.min(SUBS, w0 + WAVE);
      for (let i = w0; i < end; i++) {
        conns[i % CONNS]!.ws.send(JSON.stringify({ type: 'subscribe', id: String(i), payload: stream ? { query: STREAM, variables: { from } } : { query: QUERY } }));
      }
      // A stream sends nothing until it has rows: a wave is let through after a pause instead.
      if (stream) { await sleep(20); continue; }
      while (firsts + errors < end) {
        if (performance.now() - t0 > STARTUP_LIMIT_MS) throw new Error(`only ${firsts} of ${SUBS} first results after ${STARTUP_LIMIT_MS} ms`);
        await sleep(20);
      }
    }
    const startupMs = performance.now() - t0;
    const afterStartup = procStats(child.pid!);

    // Which users have a subscription: clicks go to their links only.
    const watched = Math.min(USERS, CONNS);
    const clicker = new pg.Client({ connectionString: adminUrl });
    await clicker.connect();
    const codes = (await clicker.query<{ code: string; owner: string }>('SELECT code, owner_id::text AS owner FROM links.links')).rows
      .filter((r) => Number.parseInt(r.owner.slice(-12), 16) - 1 < watched).map((r) => r.code);
    const liveStatements = () => new Promise<number>((resolve) => {
      child.once('message', (m) => resolve((m as Record<string, number>)['hasura-engine-live'] ?? 0));
      child.send('stats');
    });

    await sleep(INTERVAL * 2); // settle: every subscription polled at least once
    latencies.length = 0;
    deliveries = 0;
    const x0 = await liveStatements();
    const s0 = procStats(child.pid!);
    const w0 = performance.now();
    let clicks = 0;
    const every = 1000 / CLICK_RATE;
    while (performance.now() - w0 < SECONDS * 1000) {
      const code = codes[Math.floor(Math.random() * codes.length)]!;
      const r = await clicker.query<{ n: string }>('UPDATE links.links SET click_count = click_count + 1, last_clicked_at = clock_timestamp() WHERE code = $1 RETURNING click_count AS n', [code]);
      committed.set(`${code}:${Number(r.rows[0]!.n)}`, performance.now());
      clicks++;
      const next = w0 + clicks * every;
      const wait = next - performance.now();
      if (wait > 0) await sleep(wait);
    }
    const windowS = (performance.now() - w0) / 1000;
    const s1 = procStats(child.pid!);
    const engineStatements = (await liveStatements()) - x0;
    await clicker.end();
    latencies.sort((a, b) => a - b);
    const intervals = (windowS * 1000) / INTERVAL;
    return {
      mode: m, startupMs, windowS, clicks, deliveries, errors,
      statementsPerInterval: engineStatements / intervals,
      cpuPerSecond: (s1.cpu - s0.cpu) / windowS,
      rssMiB: s1.rssMiB, peakMiB: s1.peakMiB, startupCpuS: afterStartup.cpu, openMs,
      p50: pct(latencies, 50), p99: pct(latencies, 99), samples: latencies.length,
    };
  } finally {
    for (const c of conns) c.ws.close();
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

/**
 * The @cached phase: an engine with the project metadata and Redis; the first-party stats query
 * for a link of user 0, hit vs uncached (the same text without the directive).
 */
async function cachePhase(dbUrl: string, adminUrl: string): Promise<string[]> {
  const collections = YAML.parse(fs.readFileSync(path.join(METADATA_DIR, 'query_collections.yaml'), 'utf8')) as Array<{ name: string; definition: { queries: Array<{ name: string; query: string }> } }>;
  const cachedQuery = collections.find((c) => c.name === 'linkport_first_party')?.definition.queries.find((q) => q.name === 'rest_link_stats')?.query;
  if (!cachedQuery?.includes('@cached')) throw new Error('rest_link_stats with @cached not found in hasura/metadata/query_collections.yaml');
  const uncachedQuery = cachedQuery.replace(/\s*@cached(\([^)]*\))?/, '');
  const seed = new pg.Client({ connectionString: adminUrl });
  await seed.connect();
  const link = (await seed.query<{ id: string }>('SELECT id::text FROM links.links WHERE owner_id = $1 ORDER BY code LIMIT 1', [uid(0)])).rows[0]!.id;
  await seed.query("INSERT INTO links.daily_stats (link_id, day, dimension, value, clicks, visitors) SELECT $1, current_date - d, 'total', '', d * 3, d FROM generate_series(1, 365) d ON CONFLICT DO NOTHING", [link]);
  await seed.end();
  const redis = await startTestRedis();
  const { child, port } = await startEngine(dbUrl, 'on', { HASURA_GRAPHQL_METADATA_DIR: METADATA_DIR, BENCH_KEEP_METADATA: '1', REDIS_URL: redis.url });
  try {
    const r = await cachedVsUncached({
      url: `http://127.0.0.1:${port}/v1/graphql`,
      headers: { 'x-hasura-admin-secret': SECRET, 'x-hasura-role': 'user', 'x-hasura-user-id': uid(0) },
      variables: { id: link },
      cachedQuery, uncachedQuery,
      rounds: Number(flags['cache-rounds']), durationS: Number(flags['cache-seconds']), connections: Number(flags['cache-conns']),
    });
    console.table(r.rounds);
    return [
      `@cached: first-party stats query (rest_link_stats, ${/@cached\([^)]*\)/.exec(cachedQuery)?.[0] ?? '@cached'}), ${flags['cache-conns']} connections, ${flags['cache-rounds']} interleaved rounds of ${flags['cache-seconds']} s per side`,
      ...r.lines.map((l) => `  ${l}`),
    ];
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await redis.stop();
  }
}

const SIZES = `${SUBS} subscriptions over ${CONNS} WebSocket connections, ${USERS} users (${LINKS_PER_USER} links each)`;
// Each connection is a descriptor in this process and in the engine's: say so before a run fails on it.
const fdLimit = Number(/Max open files\s+(\d+)/.exec(fs.readFileSync('/proc/self/limits', 'utf8'))?.[1] ?? Infinity);
if (CONNS + 256 > fdLimit) console.warn(`warning: ${CONNS} connections near the open-files limit ${fdLimit} (ulimit -n): raise it for this size`);
const db = await createTestDatabase();
try {
  const seed = new pg.Client({ connectionString: db.adminUrl });
  await seed.connect();
  await seed.query(SEED);
  await seed.end();
  console.log(`sizes: ${SIZES}; ${CLICK_RATE} clicks/s, refetch ${INTERVAL} ms, batch ${flags.batch}, ${SECONDS} s per mode (connections opened ${OPEN_BATCH} at a time, subscribed in waves of ${WAVE})`);
  const summary: string[] = [];
  for (const m of (flags.modes ?? 'on,off').split(',') as Mode[]) {
    if (m === 'cache') {
      const lines = await cachePhase(db.roleUrl('links_admin'), db.adminUrl);
      for (const l of lines) console.log(l);
      summary.push(...lines);
      continue;
    }
    const r = await mode(db.roleUrl('links_admin'), db.adminUrl, m);
    const title = m.startsWith('stream') ? `streaming, multiplexing ${m.endsWith('off') ? 'OFF (one statement per cohort)' : 'ON'}` : `live queries, multiplexing ${r.mode.toUpperCase()}`;
    const lines = [
      `${title} — ${SIZES}`,
      `  connections open in ${r.openMs.toFixed(0)} ms; all subscribed${m.startsWith('stream') ? '' : ', first results in'} ${r.startupMs.toFixed(0)} ms (${r.errors} errors)`,
      `  PostgreSQL statements       ${r.statementsPerInterval.toFixed(1)} per refetch interval`,
      `  engine CPU                  ${(r.cpuPerSecond * 100).toFixed(1)} % of one core; RSS ${r.rssMiB.toFixed(0)} MiB (peak ${r.peakMiB.toFixed(0)} MiB)`,
      `  click committed → delivered p50 ${r.p50.toFixed(0)} ms   p99 ${r.p99.toFixed(0)} ms   (${r.samples} deliveries measured, ${r.clicks} clicks)`,
    ];
    console.log(`\n${lines.join('\n')}`);
    summary.push(...lines);
  }
  console.log(`\n=== bench:subscriptions summary (${SIZES}) ===\n${summary.join('\n')}`);
} finally {
  await db.drop();
}

/**
 * npm run bench:freshness [-- --rate 5000 --seconds 30 --links 1000 --markers 10]
 *
 * Issue 16 §2 target: "a click is visible in the link's counter and analytics within 2 s p99 at
 * 5,000 clicks/s sustained". A real redirect server and click worker (child processes, the
 * project's entry points, default worker settings unless WORKER_* is set in the environment) on a
 * real PostgreSQL and Redis; autocannon (in this process) drives --rate redirects/s over --links
 * links for a warm-up then --seconds. Meanwhile --markers times per second the bench follows one
 * redirect of its own, each on a link nobody else clicks, and polls (every POLL_MS) until the click
 * shows
 *   - in links.links.click_count (what the dashboard and the links API show), and
 *   - in links.analytics_series(link, hour buckets) called as links_admin with the owner's session
 *     — the tracked SQL function the engine's `links_analytics_series` field runs.
 * Freshness = time from the redirect's response to the first poll that sees it (resolution POLL_MS).
 * Printed: p50/p99/max of both, markers never seen (timed out after 30 s), the rate the load
 * generator reached, clicks the worker wrote per second, the stream's backlog at the end, the
 * worker's settings, and the load average (the machine is shared).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createTestDatabase, startTestRedis } from '@linkport/devstack/testing';
import { loadRedirectConfig } from '../src/config.ts';

// autocannon ships no types; the slice used here (as in bench/redirect.ts).
interface AcRequest {
  path?: string;
  [k: string]: unknown;
}
interface AcResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  errors: number;
  non2xx: number;
  statusCodeStats?: Record<string, { count: number }>;
}
interface AcInstance extends PromiseLike<AcResult> {
  stop(): void;
}
const autocannon = createRequire(import.meta.url)('autocannon') as (opts: {
  url: string;
  connections: number;
  duration: number;
  overallRate: number;
  headers: Record<string, string>;
  requests: { setupRequest: (req: AcRequest) => AcRequest }[];
}) => AcInstance;

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '5000' },
    seconds: { type: 'string', default: '30' },
    warmup: { type: 'string', default: '5' },
    links: { type: 'string', default: '1000' },
    markers: { type: 'string', default: '10' },
  },
});
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const WARMUP = Number(values.warmup);
const LINKS = Number(values.links);
const MARKERS_PER_S = Number(values.markers);
const POLL_MS = 25;
const GIVE_UP_MS = 30_000;
const root = path.resolve(import.meta.dirname, '../..');
const UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36';

function start(entry: string, env: Record<string, string>, ready: RegExp): Promise<{ child: ChildProcess; port: number; log: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      out = (out + d.toString()).slice(-20_000);
      const m = ready.exec(out);
      if (m) resolve({ child, port: Number(m[1] ?? 0), log: () => out });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${entry} exited ${code}: ${out.slice(-2000)}`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

const quantile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN;
};

/** One GET on a keep-alive agent; resolves when the response has been read. */
function get(agent: http.Agent, port: number, p: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: p, agent, headers: { 'user-agent': UA } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      })
      .on('error', reject);
  });
}

async function main(): Promise<void> {
  const markerCount = Math.ceil(MARKERS_PER_S * SECONDS);
  console.log(`bench:freshness — ${RATE} clicks/s over ${LINKS} links for ${WARMUP} s warm-up + ${SECONDS} s, ${MARKERS_PER_S} markers/s (${markerCount}), poll every ${POLL_MS} ms; ${os.availableParallelism()} CPUs, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  const db = await createTestDatabase();
  const redis = await startTestRedis();
  const admin = new pg.Pool({ connectionString: db.adminUrl, max: 2 });
  // The engine's role (HASURA_GRAPHQL_DATABASE_URL is links_admin in the launcher and compose).
  const reader = new pg.Pool({ connectionString: db.roleUrl('links_admin'), max: 2 });
  const children: ChildProcess[] = [];
  try {
    const owner = (await admin.query<{ id: string }>(`INSERT INTO core.users (email, password_hash) VALUES ('fresh@example.com', 'x') RETURNING id`)).rows[0]!.id;
    await admin.query(`INSERT INTO links.links (owner_id, code, destination) SELECT $1, 'load' || i, 'https://example.com/' || i FROM generate_series(1, $2::int) i`, [owner, LINKS]);
    const markers = (
      await admin.query<{ id: string; code: string }>(
        `INSERT INTO links.links (owner_id, code, destination) SELECT $1, 'mark' || i, 'https://example.com/m' || i FROM generate_series(1, $2::int) i ORDER BY i RETURNING id, code`,
        [owner, markerCount],
      )
    ).rows;
    const env = {
      DATABASE_URL: db.roleUrl('redirect_service'),
      REDIS_URL: redis.url,
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      WORKER_PORT: '0',
    };
    const config = loadRedirectConfig({ ...process.env, ...env });
    const settings = {
      // worker.ts validates WORKER_SINK itself; unset means its default mode.
      WORKER_SINK: process.env.WORKER_SINK ?? "(unset: the worker's default)",
      WORKER_BATCH: config.WORKER_BATCH,
      WORKER_BLOCK_MS: config.WORKER_BLOCK_MS,
      CLICK_STREAM: config.CLICK_STREAM,
      CLICK_STREAM_SHARDS: config.CLICK_STREAM_SHARDS,
      CLICK_LINGER_MS: config.CLICK_LINGER_MS,
    };
    console.log(`worker settings: ${Object.entries(settings).map(([k, v]) => `${k}=${v}`).join(' ')} (one worker process)`);
    const server = await start('redirect/src/server.ts', env, /"url":"http:\/\/127\.0\.0\.1:(\d+)"/);
    children.push(server.child);
    const worker = await start('redirect/src/worker.ts', env, /click worker started/);
    children.push(worker.child);

    // Load: every request another load link, at the overall rate, spread over connections.
    let k = 0;
    const total = WARMUP + SECONDS;
    const loadRun = autocannon({
      url: `http://127.0.0.1:${server.port}`,
      connections: 32,
      duration: total,
      overallRate: RATE,
      headers: { 'user-agent': UA },
      requests: [{ setupRequest: (req) => ({ ...req, path: `/load${1 + (k++ % LINKS)}` }) }],
    });
    const loadDone = Promise.resolve(loadRun);
    await new Promise((r) => setTimeout(r, WARMUP * 1000));
    const c0 = Number((await admin.query<{ n: string }>('SELECT count(*) AS n FROM links.clicks')).rows[0]!.n);
    const t0 = performance.now();

    // Markers and the poller.
    const session = JSON.stringify({ 'x-hasura-role': 'user', 'x-hasura-user-id': owner });
    const pending = new Map<string, { at: number; counter?: number; series?: number }>();
    const counterLat: number[] = [];
    const seriesLat: number[] = [];
    let lost = 0;
    let sending = true;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    const sender = (async () => {
      for (let i = 0; i < markers.length; i++) {
        const due = t0 + (i * 1000) / MARKERS_PER_S;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const m = markers[i]!;
        const status = await get(agent, server.port, `/${m.code}`);
        if (status !== 302) throw new Error(`marker ${m.code}: HTTP ${status}`);
        pending.set(m.id, { at: performance.now() });
      }
      sending = false;
    })();
    const poller = (async () => {
      while (sending || pending.size > 0) {
        const ids = [...pending.keys()];
        if (ids.length > 0) {
          const { rows } = await reader.query<{ id: string; click_count: string; series: string }>(
            `SELECT m.id, l.click_count,
                    (SELECT coalesce(sum(s.clicks), 0) FROM links.analytics_series(hasura_session => $2::json, link_id => m.id, bucket => 'hour',
                                                                                  from_ts => now() - interval '2 hours', to_ts => now() + interval '1 hour') s) AS series
               FROM unnest($1::uuid[]) m(id) JOIN links.links l ON l.id = m.id`,
            [ids, session],
          );
          const now = performance.now();
          for (const r of rows) {
            const p = pending.get(r.id)!;
            if (p.counter === undefined && Number(r.click_count) >= 1) counterLat.push((p.counter = now - p.at));
            if (p.series === undefined && Number(r.series) >= 1) seriesLat.push((p.series = now - p.at));
            if (p.counter !== undefined && p.series !== undefined) pending.delete(r.id);
            else if (now - p.at > GIVE_UP_MS) {
              lost++;
              pending.delete(r.id);
            }
          }
        }
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
    })();
    await sender;
    const measured = (performance.now() - t0) / 1000;
    const c1 = Number((await admin.query<{ n: string }>('SELECT count(*) AS n FROM links.clicks')).rows[0]!.n);
    const client = new Redis(redis.url);
    // Entries not yet read by the group (lag, Redis 7) plus read but not acknowledged (pending).
    // (Sharded streams, CLICK_STREAM_SHARDS > 1, have other key names: the backlog then reads '?'.)
    const groups = ((await client.xinfo('GROUPS', config.CLICK_STREAM).catch(() => [])) ?? []) as unknown[][];
    const g = Object.fromEntries((groups[0] ?? []).reduce<[string, unknown][]>((acc, v, i, a) => (i % 2 === 0 ? [...acc, [String(v), a[i + 1]]] : acc), []));
    client.disconnect();
    const result = await loadDone;
    await poller;
    agent.destroy();

    const redirects = Object.entries(result.statusCodeStats ?? {}).reduce((s, [code, v]) => s + (code.startsWith('3') ? v.count : 0), 0);
    const ms = (x: number) => `${x.toFixed(0)} ms`;
    console.log(`\nload: ${result.requests.total.toLocaleString('en')} requests in ${total} s (${result.requests.average.toFixed(0)} req/s average, target ${RATE}); redirects ${redirects.toLocaleString('en')}, errors ${result.errors + result.non2xx - redirects}; latency p50 ${result.latency.p50} ms / p99 ${result.latency.p99} ms`);
    console.log(`worker: ${((c1 - c0) / measured).toFixed(0)} clicks/s written during the ${measured.toFixed(1)} s measured; stream backlog at the end: lag ${String(g.lag ?? '?')}, pending ${String(g.pending ?? '?')}`);
    console.log(`\nfreshness (${counterLat.length} + ${lost} lost of ${markers.length} markers, resolution ${POLL_MS} ms):`);
    console.log(`  links.click_count          p50 ${ms(quantile(counterLat, 0.5))}  p99 ${ms(quantile(counterLat, 0.99))}  max ${ms(Math.max(...counterLat))}`);
    console.log(`  analytics_series (hour)    p50 ${ms(quantile(seriesLat, 0.5))}  p99 ${ms(quantile(seriesLat, 0.99))}  max ${ms(Math.max(...seriesLat))}`);
    const p99 = Math.max(quantile(counterLat, 0.99), quantile(seriesLat, 0.99));
    const sustained = result.requests.average >= 0.95 * RATE;
    console.log(`  target: visible within 2 s p99 at ${RATE} clicks/s sustained: ${p99 < 2000 && lost === 0 && sustained ? 'met' : `MISSED${sustained ? '' : ` (the load generator reached ${result.requests.average.toFixed(0)} req/s only)`}`}`);
    console.log(`  load average at the end: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  } finally {
    for (const c of children.reverse()) await stop(c);
    await reader.end();
    await admin.end();
    await redis.stop();
    await db.drop();
  }
}

await main();
process.exit(0);

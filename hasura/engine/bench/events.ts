/**
 * `npm run bench:events -w @linkport/hasura-engine` (issue 15 §1): event-trigger delivery by the
 * engine to a local receiver (node:http on loopback), two figures with a same-run baseline:
 *
 *   - throughput: N rows inserted in one statement (N events committed at once), time until the
 *     receiver has all N → events/s. Baseline: the same N payloads POSTed straight to the same
 *     receiver with the same concurrency (HASURA_GRAPHQL_EVENTS_HTTP_POOL_SIZE) — the HTTP
 *     ceiling on this machine, so the engine's figure reads as a fraction of it.
 *   - latency: single-row inserts at a steady rate; committed (the INSERT returned) → received,
 *     p50/p99. The fetch interval bounds it from below: an event waits for the next fetch. The
 *     baseline is the direct POST's own p50/p99.
 *
 * Flags (or BENCH_<FLAG>): --events (default 3000), --rate (inserts/s, default 100), --seconds
 * (latency phase, default 5), --interval (HASURA_GRAPHQL_EVENTS_FETCH_INTERVAL ms, default 1000,
 * Hasura's), --batch (fetch batch size, default 100), --pool (HTTP pool size, default 100).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createTestDatabase } from '@linkport/devstack/testing';
import { buildApp } from '../src/app.ts';
import { loadEngineConfig } from '../src/config.ts';

const { values: flags } = parseArgs({
  options: {
    events: { type: 'string', default: process.env.BENCH_EVENTS ?? '3000' },
    rate: { type: 'string', default: process.env.BENCH_RATE ?? '100' },
    seconds: { type: 'string', default: process.env.BENCH_SECONDS ?? '5' },
    interval: { type: 'string', default: process.env.BENCH_INTERVAL ?? '1000' },
    batch: { type: 'string', default: process.env.BENCH_BATCH ?? '100' },
    pool: { type: 'string', default: process.env.BENCH_POOL ?? '100' },
  },
});
const N = Number(flags.events);
const RATE = Number(flags.rate);
const SECONDS = Number(flags.seconds);
const POOL = Number(flags.pool);

const pct = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ── the receiver: records when each event (by row id) arrived ──────────────────────────────────
const arrived = new Map<number, number>();
let waiter: { n: number; resolve: () => void } | undefined;
const receiver = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { event?: { data: { new: { id: number } } }; direct?: number };
    const id = body.direct ?? body.event!.data.new.id;
    arrived.set(id, performance.now());
    if (waiter && arrived.size >= waiter.n) waiter.resolve();
    res.writeHead(200).end('ok');
  });
});
await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`;
const waitFor = (n: number) => new Promise<void>((resolve) => (arrived.size >= n ? resolve() : (waiter = { n, resolve })));

// ── the engine, in this process, delivering with its own loop ─────────────────────────────────
const db = await createTestDatabase({ migrated: false });
const config = loadEngineConfig({
  HASURA_GRAPHQL_DATABASE_URL: db.adminUrl,
  HASURA_GRAPHQL_ADMIN_SECRET: 'bench',
  LOG_LEVEL: 'warn',
  HASURA_GRAPHQL_EVENTS_FETCH_INTERVAL: String(flags.interval),
  HASURA_GRAPHQL_EVENTS_FETCH_BATCH_SIZE: String(flags.batch),
  HASURA_GRAPHQL_EVENTS_HTTP_POOL_SIZE: String(POOL),
});
const app = await buildApp(config);
const adminCall = async (body: unknown) => {
  const res = await app.inject({ method: 'POST', url: '/v1/metadata', payload: JSON.stringify(body), headers: { 'content-type': 'application/json', 'x-hasura-admin-secret': 'bench' } });
  if (res.statusCode !== 200) throw new Error(res.body);
};
await adminCall({ type: 'bulk', args: [
  { type: 'run_sql', args: { sql: 'CREATE TABLE bench_items (id int PRIMARY KEY, name text, created timestamptz DEFAULT now())' } },
  { type: 'pg_track_table', args: { table: 'bench_items' } },
  { type: 'pg_create_event_trigger', args: { name: 'bench_ins', table: 'bench_items', webhook: url, insert: { columns: '*' } } },
] });
const pool = new pg.Pool({ connectionString: db.adminUrl, max: 4 });

async function directBaseline(count: number, offset: number): Promise<{ seconds: number; latencies: number[] }> {
  const payload = (i: number) => JSON.stringify({ direct: offset + i, event: { op: 'INSERT', data: { old: null, new: { id: offset + i, name: 'x' } } } });
  const latencies: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: Math.min(POOL, count) }, async () => {
    while (next < count) {
      const i = next++;
      const s = performance.now();
      const res = await fetch(url, { method: 'POST', body: payload(i), headers: { 'content-type': 'application/json' } });
      await res.text();
      latencies.push(performance.now() - s);
    }
  }));
  return { seconds: (performance.now() - t0) / 1000, latencies };
}

// Warm-up: a few events through the whole path (JIT, connections).
await pool.query("INSERT INTO bench_items SELECT g, 'warm' FROM generate_series(1000000, 1000019) g");
await waitFor(20);
arrived.clear();

// ── throughput ─────────────────────────────────────────────────────────────────────────────────
const base = await directBaseline(N, 2_000_000);
arrived.clear();
const t0 = performance.now();
await pool.query(`INSERT INTO bench_items SELECT g, 'n' || g FROM generate_series(1, ${N}) g`);
await waitFor(N);
const engineSeconds = (performance.now() - t0) / 1000;
arrived.clear();

// ── latency at a steady rate ───────────────────────────────────────────────────────────────────
const committed = new Map<number, number>();
const total = Math.round(RATE * SECONDS);
const start = performance.now();
for (let i = 0; i < total; i++) {
  const due = start + (i * 1000) / RATE;
  const wait = due - performance.now();
  if (wait > 0) await sleep(wait);
  const id = 10_000_000 + i;
  await pool.query('INSERT INTO bench_items (id, name) VALUES ($1, $2)', [id, 'lat']);
  committed.set(id, performance.now());
}
await waitFor(total);
const lat = [...committed].map(([id, at]) => arrived.get(id)! - at).sort((a, b) => a - b);
const baseLat = [...base.latencies].sort((a, b) => a - b);

const fmt = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : 'n/a');
console.log(`bench:events — ${N} events, fetch interval ${flags.interval} ms, batch ${flags.batch}, HTTP pool ${POOL}, loopback receiver`);
console.log(`throughput  engine ${fmt(N / engineSeconds)} events/s (${fmt(engineSeconds)} s) | baseline direct POST ${fmt(N / base.seconds)} req/s (${fmt(base.seconds)} s) | ratio ${(base.seconds / engineSeconds).toFixed(2)}`);
console.log(`latency     engine commit→received p50 ${fmt(pct(lat, 50))} ms, p99 ${fmt(pct(lat, 99))} ms over ${lat.length} events at ${RATE}/s | baseline direct POST p50 ${fmt(pct(baseLat, 50))} ms, p99 ${fmt(pct(baseLat, 99))} ms`);

await app.close();
await pool.end();
receiver.closeAllConnections();
receiver.close();
await db.drop();

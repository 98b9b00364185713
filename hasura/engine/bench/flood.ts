/**
 * `npm run bench:flood -w @linkport/hasura-engine` (issue 11, item 5): a benign user's GraphQL
 * query latency (p50/p99) while quiet, then while ONE WebSocket connection of another user
 * starts 10,000 live-query subscriptions — same process, same run, two configurations:
 *   1. defaults: the per-connection cap (100) refuses most of the flood up front;
 *   2. caps raised to 10,000: every subscription is accepted, so what bounds the benign user's
 *      latency is the separate live-query pool and the fair, bounded start queue alone.
 * The benign client runs BENCH_BENIGN_CONCURRENCY (default 4) request loops; each phase lasts
 * BENCH_DURATION seconds (default 5). Loopback only.
 */
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import WebSocket from 'ws';
import { createTestDatabase } from '@linkport/devstack/testing';
import { buildApp } from '../src/app.ts';
import { loadEngineConfig } from '../src/config.ts';
import { linksMetadata } from '../test/query/fixtures.ts';

const DURATION_MS = Number(process.env.BENCH_DURATION ?? 5) * 1000;
const CONCURRENCY = Number(process.env.BENCH_BENIGN_CONCURRENCY ?? 4);
const FLOOD = Number(process.env.BENCH_FLOOD ?? 10_000);
const SECRET = 'bench-secret';
const BENIGN = '00000000-0000-4000-8000-000000000001';
const FLOODER = '00000000-0000-4000-8000-000000000002';

const SEED = `
INSERT INTO core.users (id, email, password_hash)
SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(u), 12, '0'))::uuid, 'u' || u || '@example.com', 'x' FROM generate_series(1, 20) u;
INSERT INTO links.domains (owner_id, hostname, verified)
SELECT id, 'd' || row_number() OVER () || '.example.com', true FROM core.users;
INSERT INTO links.links (owner_id, domain_id, code, destination, title, created_at, click_count)
SELECT u.id, d.id, 'c' || substr(md5(u.id::text), 1, 8) || '-' || i, 'https://example.com/' || i, 'Title ' || i, now() - (i || ' minutes')::interval, i
FROM core.users u JOIN links.domains d ON d.owner_id = u.id, generate_series(1, 200) i;
ANALYZE;`;

const QUERY = JSON.stringify({ query: '{ links_links(limit: 20, order_by: {created_at: desc}) { id code title domain { hostname } } }' });
const headersFor = (user: string) => ({ 'x-hasura-admin-secret': SECRET, 'x-hasura-role': 'user', 'x-hasura-user-id': user });

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** The benign user's loops for `ms`: latencies (ms) and failures. */
async function benign(base: string, ms: number): Promise<{ p50: number; p99: number; n: number; failed: number }> {
  const until = performance.now() + ms;
  const lat: number[] = [];
  let failed = 0;
  const headers = { 'content-type': 'application/json', ...headersFor(BENIGN) };
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < until) {
        const t0 = performance.now();
        const res = await fetch(`${base}/v1/graphql`, { method: 'POST', headers, body: QUERY });
        const body = (await res.json()) as { data?: { links_links?: unknown[] } };
        lat.push(performance.now() - t0);
        if (body.data?.links_links?.length !== 20) failed++;
      }
    }),
  );
  lat.sort((a, b) => a - b);
  return { p50: percentile(lat, 50), p99: percentile(lat, 99), n: lat.length, failed };
}

/** Opens one connection and sends FLOOD subscribe messages; counts first answers by kind. */
async function flood(wsUrl: string) {
  const ws = new WebSocket(wsUrl, 'graphql-transport-ws');
  await new Promise<void>((r) => ws.once('open', () => r()));
  const counts = { next: 0, limited: 0, otherErrors: 0 };
  const seen = new Set<string>();
  const acked = new Promise<void>((resolve) => {
    ws.on('message', (raw) => {
      const m = JSON.parse(String(raw)) as { type: string; id?: string; payload?: Array<{ extensions?: { code?: string } }> };
      if (m.type === 'connection_ack') return resolve();
      if (!m.id || seen.has(m.id)) return;
      if (m.type === 'next') counts.next++;
      else if (m.type === 'error' && m.payload?.[0]?.extensions?.code === 'subscription-limit-exceeded') counts.limited++;
      else if (m.type === 'error') counts.otherErrors++;
      else return;
      seen.add(m.id);
    });
  });
  ws.send(JSON.stringify({ type: 'connection_init', payload: { headers: headersFor(FLOODER) } }));
  await acked;
  for (let i = 0; i < FLOOD; i++) {
    ws.send(JSON.stringify({ type: 'subscribe', id: String(i), payload: { query: `subscription { links_links(limit: 5, where: {click_count: {_gte: ${i % 200}}}) { id click_count } }` } }));
  }
  return { ws, counts, answered: () => seen.size };
}

async function scenario(name: string, url: string, env: Record<string, string>): Promise<void> {
  const app = await buildApp(loadEngineConfig({ HASURA_GRAPHQL_DATABASE_URL: url, HASURA_GRAPHQL_ADMIN_SECRET: SECRET, LOG_LEVEL: 'silent', ...env }));
  try {
    const put = await app.inject({ method: 'POST', url: '/v1/metadata', headers: { 'x-hasura-admin-secret': SECRET }, payload: { type: 'replace_metadata', args: linksMetadata() } });
    if (put.statusCode !== 200) throw new Error(`replace_metadata: ${put.body}`);
    await app.listen({ host: '127.0.0.1', port: 0 });
    const port = (app.server.address() as AddressInfo).port;
    const base = `http://127.0.0.1:${port}`;
    await benign(base, 500); // warm-up: prepared statements, schema cache
    const quiet = await benign(base, DURATION_MS);
    const f = await flood(`ws://127.0.0.1:${port}/v1/graphql`);
    const during = await benign(base, DURATION_MS);
    const answered = f.answered();
    f.ws.close();
    const row = (label: string, r: typeof quiet) =>
      `  ${label.padEnd(8)} p50 ${r.p50.toFixed(1).padStart(7)} ms   p99 ${r.p99.toFixed(1).padStart(7)} ms   (${r.n} queries, ${r.failed} failed)`;
    console.log(`\n${name}`);
    console.log(row('quiet', quiet));
    console.log(row('flood', during));
    console.log(`  flood: ${FLOOD} subscribes on one connection → ${answered} answered during the phase: ${f.counts.next} data, ${f.counts.limited} refused by a cap, ${f.counts.otherErrors} other errors`);
    console.log(`  p99 during / quiet: ${(during.p99 / quiet.p99).toFixed(2)}×`);
  } finally {
    await app.close();
  }
}

const db = await createTestDatabase();
try {
  const seed = new pg.Client({ connectionString: db.adminUrl });
  await seed.connect();
  await seed.query(SEED);
  await seed.end();
  const url = db.roleUrl('links_admin');
  console.log(`benign: ${CONCURRENCY} loops, ${DURATION_MS / 1000} s per phase; flood: ${FLOOD} subscriptions from one WebSocket`);
  await scenario('1. default caps (100 per connection, 300 per user, 10,000 total)', url, {});
  await scenario('2. caps raised to 10,000 (live pool + fair start queue only)', url, {
    ENGINE_WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: String(FLOOD),
    ENGINE_WS_MAX_SUBSCRIPTIONS_PER_USER: String(FLOOD),
    ENGINE_WS_MAX_SUBSCRIPTIONS: String(FLOOD),
  });
} finally {
  await db.drop();
}

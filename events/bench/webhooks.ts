/**
 * npm run bench:webhooks — webhook deliveries/s to a local receiver and event → delivery latency
 * (p50/p99), against a baseline measured in the same run: the same signed POSTs sent straight with
 * undici (no queue, no PostgreSQL). BENCH_EVENTS (default 2000), BENCH_CONCURRENCY (16).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { createTestDatabase } from '@linkport/devstack/testing';
import pg from 'pg';
import { buildEvents } from '../src/app.ts';
import { loadEventsConfig } from '../src/config.ts';
import { webhookHeaders } from '../src/delivery/signing.ts';

const N = Number(process.env.BENCH_EVENTS ?? 2000);
const C = Number(process.env.BENCH_CONCURRENCY ?? 16);
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN;

const arrivals = new Map<string, number>();
let onArrive: (() => void) | undefined;
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    arrivals.set(String(req.headers['webhook-id']), performance.now());
    res.end('ok');
    onArrive?.();
  });
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
const secret = `whsec_${Buffer.alloc(24, 7).toString('base64')}`;

// Baseline: direct signed POSTs, C at a time.
{
  const body = JSON.stringify({ type: 'link.created', data: { link: { id: 'x' } } });
  let i = 0;
  const lat: number[] = [];
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: C }, async () => {
      while (i < N) {
        const id = `base_${i++}`;
        const s = performance.now();
        const r = await request(url, { method: 'POST', body, headers: { 'content-type': 'application/json', ...webhookHeaders({ secret }, id, Math.floor(Date.now() / 1000), body) } });
        await r.body.dump();
        lat.push(performance.now() - s);
      }
    }),
  );
  const s = (performance.now() - t0) / 1000;
  console.log(`baseline  direct POST          ${(N / s).toFixed(0).padStart(6)} req/s   p50 ${pct(lat, 50).toFixed(1)} ms   p99 ${pct(lat, 99).toFixed(1)} ms`);
}

const db = await createTestDatabase();
const admin = new pg.Pool({ connectionString: db.adminUrl, max: 2 });
const { rows } = await admin.query<{ id: string }>(`INSERT INTO core.users (email, password_hash) VALUES ('bench@example.com', 'x') RETURNING id`);
const owner = rows[0]!.id;
await admin.query(`INSERT INTO webhooks.endpoints (owner_id, url, secret) VALUES ($1, $2, $3)`, [owner, url, secret]);
const events = await buildEvents(
  loadEventsConfig({ DATABASE_URL: db.roleUrl('links_admin'), LOG_LEVEL: 'silent', EVENTS_HASURA_SECRET: 'bench-secret-value-16', EVENTS_ALLOW_LOOPBACK: '1', EVENTS_DELIVERY_CONCURRENCY: String(C), EVENTS_DELIVERY_BATCH: '100', EVENTS_DELIVERY_POLL_MS: '20', EVENTS_SCHEDULER: '0' }),
);
events.startWork();
// Events arrive one by one as Hasura would send them; latency = ingest committed → receiver got it.
const committed = new Map<string, number>();
const all = new Promise<void>((resolve) => (onArrive = () => arrivals.size >= 2 * N && resolve()));
arrivals.clear();
for (let i = 0; i < N; i++) arrivals.set(`base_${i}`, 0);
const t0 = performance.now();
for (let i = 0; i < N; i++) {
  await events.store.ingest([{ type: 'link.created', ownerId: owner, data: { link: { id: String(i) } }, sourceKey: `bench:${i}` }], [], new Date());
  committed.set(`bench:${i}`, performance.now());
  events.runner.nudge();
}
await all;
const elapsed = (performance.now() - t0) / 1000;
const ids = await admin.query<{ id: string; source_key: string }>(`SELECT id, source_key FROM webhooks.messages`);
const lat = ids.rows.map((r) => arrivals.get(r.id)! - committed.get(r.source_key)!);
console.log(`webhooks  queue → signed POST  ${(N / elapsed).toFixed(0).padStart(6)} del/s   p50 ${pct(lat, 50).toFixed(1)} ms   p99 ${pct(lat, 99).toFixed(1)} ms   (event committed → received; ${N} events, concurrency ${C})`);
await events.close();
await admin.end();
await db.drop();
server.close();

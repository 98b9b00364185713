/**
 * `npm run bench:cache`: @cached hit latency vs the same stats query uncached, same run, same app
 * (buildApp over a migrated database, the project metadata, a real redis-server), over HTTP with
 * autocannon. The query is the REST stats endpoint's (a link's click count and 30 daily totals)
 * as role `user`; the uncached run sends it without the directive, the cached run with
 * `@cached(ttl: 300)` after one warming request. Env: BENCH_DURATION (s, default 10),
 * BENCH_CONNECTIONS (default 16).
 */
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import pg from 'pg';
import { createTestDatabase, startTestRedis } from '@linkport/devstack/testing';
import { buildApp } from '../src/app.ts';
import { loadEngineConfig } from '../src/config.ts';

interface CannonResult { requests: { average: number; total: number }; latency: { p50: number; p99: number; average: number }; errors: number; non2xx: number }
const autocannon = createRequire(import.meta.url)('autocannon') as (opts: Record<string, unknown>) => Promise<CannonResult>;

const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const OWNER = '00000000-0000-4000-8000-000000000001';
const LINK = '00000000-0000-4000-9000-000000000001';

const SEED = `
INSERT INTO core.users (id, email, password_hash) VALUES ('${OWNER}', 'bench@example.com', 'x');
INSERT INTO links.links (id, owner_id, destination, click_count) VALUES ('${LINK}', '${OWNER}', 'https://example.com', 12345);
INSERT INTO links.links (owner_id, destination) SELECT '${OWNER}', 'https://example.com/' || i FROM generate_series(1, 2000) i;
INSERT INTO links.daily_stats (link_id, day, dimension, value, clicks, visitors)
SELECT '${LINK}', current_date - d, 'total', '', d * 3, d FROM generate_series(1, 365) d;
ANALYZE;`;

const STATS = `query LinkStats($id: uuid!, $days: Int = 30) {
  links_links_by_pk(id: $id) {
    id code click_count last_clicked_at
    daily_stats(where: {dimension: {_eq: "total"}}, order_by: {day: desc}, limit: $days) { day clicks visitors }
  }
}`;

async function main() {
  const db = await createTestDatabase();
  const redis = await startTestRedis();
  const seed = new pg.Client({ connectionString: db.adminUrl });
  await seed.connect();
  await seed.query(SEED);
  await seed.end();
  const app = await buildApp(loadEngineConfig({
    HASURA_GRAPHQL_DATABASE_URL: db.roleUrl('links_admin'),
    HASURA_GRAPHQL_METADATA_DIR: path.resolve(import.meta.dirname, '../../metadata'),
    REDIS_URL: redis.url,
    LOG_LEVEL: 'warn',
    HASURA_GRAPHQL_ENABLE_CONSOLE: 'false',
  }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/v1/graphql`;
  const headers = { 'content-type': 'application/json', 'x-hasura-role': 'user', 'x-hasura-user-id': OWNER };
  const body = (query: string) => JSON.stringify({ query, variables: { id: LINK } });
  const cached = STATS.replace('query LinkStats($id: uuid!, $days: Int = 30)', 'query LinkStats($id: uuid!, $days: Int = 30) @cached(ttl: 300)');
  // The cache connects in the background (a query before that runs uncached): warm until stored.
  for (let i = 0; ; i++) {
    const warm = await fetch(url, { method: 'POST', headers, body: body(cached) });
    if (warm.headers.get('x-hasura-query-cache-key')) break;
    if (i === 50) throw new Error(`not cached: ${await warm.text()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const run = async (label: string, query: string) => {
    const r = await autocannon({ url, method: 'POST', headers, body: body(query), duration: DURATION, connections: CONNECTIONS });
    return { label, rps: Math.round(r.requests.average), p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.non2xx };
  };
  // An unmeasured second of uncached requests first: JIT and pool warm-up must not count against the baseline.
  await autocannon({ url, method: 'POST', headers, body: body(STATS), duration: 1, connections: CONNECTIONS });
  // Uncached first (the baseline), then the hits, then uncached again: a drift of the machine
  // between the runs shows as a difference between the two baselines.
  const results = [await run('uncached (baseline)', STATS), await run('@cached hit', cached), await run('uncached (again)', STATS)];
  console.log(`stats query, ${CONNECTIONS} connections, ${DURATION} s each`);
  console.table(results);
  const base = (results[0]!.p50 + results[2]!.p50) / 2;
  console.log(`@cached hit p50 ${results[1]!.p50} ms vs uncached p50 ${base} ms (${(base / Math.max(results[1]!.p50, 0.001)).toFixed(1)}× faster); throughput ${(results[1]!.rps / ((results[0]!.rps + results[2]!.rps) / 2)).toFixed(1)}×`);
  await app.close();
  await redis.stop();
  await db.drop();
}

await main();

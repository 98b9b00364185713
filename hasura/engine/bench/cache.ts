/**
 * `npm run bench:cache`: @cached hit latency vs the same stats query uncached, same run, same app
 * (buildApp over a migrated database, the project metadata, a real redis-server), over HTTP with
 * autocannon. The query is the REST stats endpoint's (a link's click count and 30 daily totals)
 * as role `user`; the uncached run sends it without the directive, the cached run with
 * `@cached(ttl: 300)` after one warming request. The two are measured in interleaved rounds
 * (uncached, cached, uncached, cached, …) and compared by their medians: on a shared, loaded
 * machine one long run per side let load drift decide (two same-run baselines differed 2–3×);
 * alternating short rounds expose both sides to the same drift, and the per-round ratios show how
 * stable the comparison is. Env: BENCH_ROUNDS (default 5), BENCH_DURATION (s per round and side,
 * default 3), BENCH_CONNECTIONS (default 16).
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

const DURATION = Number(process.env.BENCH_DURATION ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
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
  const rounds: Array<{ round: number; uncachedRps: number; cachedRps: number; uncachedP50: number; cachedP50: number; uncachedP99: number; cachedP99: number; errors: number }> = [];
  for (let i = 1; i <= ROUNDS; i++) {
    // Alternate which side goes first, so neither always follows the other's after-effects.
    let a: Awaited<ReturnType<typeof run>>;
    let b: Awaited<ReturnType<typeof run>>;
    if (i % 2) {
      a = await run('uncached', STATS);
      b = await run('cached', cached);
    } else {
      b = await run('cached', cached);
      a = await run('uncached', STATS);
    }
    rounds.push({ round: i, uncachedRps: a.rps, cachedRps: b.rps, uncachedP50: a.p50, cachedP50: b.p50, uncachedP99: a.p99, cachedP99: b.p99, errors: a.errors + b.errors });
  }
  const median = (xs: number[]) => {
    const v = [...xs].sort((x, y) => x - y);
    const m = v.length >> 1;
    return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
  };
  console.log(`stats query, ${CONNECTIONS} connections, ${ROUNDS} interleaved rounds of ${DURATION} s per side`);
  console.table(rounds);
  const med = (k: keyof (typeof rounds)[number]) => median(rounds.map((r) => r[k]));
  const ratios = rounds.map((r) => r.cachedRps / Math.max(r.uncachedRps, 1));
  console.log(`median uncached (baseline): ${med('uncachedRps')} req/s, p50 ${med('uncachedP50')} ms, p99 ${med('uncachedP99')} ms`);
  console.log(`median @cached hit:         ${med('cachedRps')} req/s, p50 ${med('cachedP50')} ms, p99 ${med('cachedP99')} ms`);
  console.log(`throughput ratio per round: ${ratios.map((x) => x.toFixed(2)).join(' ')} → median ${median(ratios).toFixed(2)}×; p50 ${(med('uncachedP50') / Math.max(med('cachedP50'), 0.001)).toFixed(1)}× lower; errors ${rounds.reduce((n, r) => n + r.errors, 0)}`);
  await app.close();
  await redis.stop();
  await db.drop();
}

await main();

/**
 * `npm run bench:cache`: @cached hit latency vs the same stats query uncached, same run, same app
 * (buildApp over a migrated database, the project metadata, a real redis-server), over HTTP with
 * autocannon. The query is the REST stats endpoint's (a link's click count and 30 daily totals)
 * as role `user`; the uncached run sends it without the directive, the cached run with
 * `@cached(ttl: 300)` after warming. The two are measured in interleaved rounds and compared by
 * their medians (bench/subscriptions-cache.ts says why). Env: BENCH_ROUNDS (default 5), BENCH_DURATION (s per round and side,
 * default 3), BENCH_CONNECTIONS (default 16).
 */
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { createTestDatabase, startTestRedis } from '@linkport/devstack/testing';
import { buildApp } from '../src/app.ts';
import { loadEngineConfig } from '../src/config.ts';
import { cachedVsUncached } from './subscriptions-cache.ts';


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
  const cached = STATS.replace('query LinkStats($id: uuid!, $days: Int = 30)', 'query LinkStats($id: uuid!, $days: Int = 30) @cached(ttl: 300)');
  const result = await cachedVsUncached({
    url, headers: { 'x-hasura-role': 'user', 'x-hasura-user-id': OWNER }, variables: { id: LINK },
    cachedQuery: cached, uncachedQuery: STATS, rounds: ROUNDS, durationS: DURATION, connections: CONNECTIONS,
  });
  console.log(`stats query, ${CONNECTIONS} connections, ${ROUNDS} interleaved rounds of ${DURATION} s per side`);
  console.table(result.rounds);
  for (const l of result.lines) console.log(l);
  await app.close();
  await redis.stop();
  await db.drop();
}

await main();

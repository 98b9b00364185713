/**
 * @cached (cache/cache.ts) against a real redis-server and the project metadata: hits and misses,
 * the key over variables, role and the session variables the permissions use, ttl and refresh,
 * the response headers, /pro/cache/clear, REST endpoints through the cache, no Redis (CE: accepted,
 * nothing cached), and a Redis outage (answered uncached, counted, recovers by itself).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import pg from 'pg';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { startTestRedis } from '@linkport/devstack/testing';
import { buildTestApp, post } from '../http/helper.ts';
import { SEED_SQL, USERS } from '../query/fixtures.ts';

const METADATA = path.resolve(import.meta.dirname, '../../../metadata');
const STATS = 'query Stats($code: String!) @cached(ttl: 30) { links_links(where: {code: {_eq: $code}}) { code click_count } }';
const asUser = (id: string) => ({ 'x-hasura-role': 'user', 'x-hasura-user-id': id });

async function setup(t: import('node:test').TestContext, env: Record<string, string>) {
  const { app, db } = await buildTestApp(t, { fake: false, migrated: true, role: 'links_admin', env: { HASURA_GRAPHQL_METADATA_DIR: METADATA, HASURA_GRAPHQL_ENABLE_CONSOLE: 'false', ...env } });
  const admin = new pg.Client({ connectionString: db.adminUrl });
  await admin.connect();
  // The database is dropped at the end (buildTestApp), which ends this connection too.
  admin.on('error', () => undefined);
  t.after(() => admin.end().catch(() => undefined));
  await admin.query(SEED_SQL);
  const { rows } = await admin.query<{ code: string; owner_id: string }>(`SELECT code, owner_id FROM links.links WHERE owner_id = $1 ORDER BY code LIMIT 1`, [USERS.alice]);
  return { app, admin, code: rows[0]!.code };
}

const metric = async (app: import('fastify').FastifyInstance, name: string) => {
  const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  return text.split('\n').filter((l) => l.startsWith(name)).join('\n');
};

void test('@cached: miss then hit with Hasura headers; variables, user and refresh change the key; clear', async (t) => {
  const redis = await startTestRedis();
  t.after(() => redis.stop());
  const { app, admin, code } = await setup(t, { REDIS_URL: redis.url });
  const first = await post(app, '/v1/graphql', { query: STATS, variables: { code } }, asUser(USERS.alice));
  assert.equal(first.body.errors, undefined, JSON.stringify(first.body));
  assert.equal(first.headers['cache-control'], 'max-age=30');
  const key = first.headers['x-hasura-query-cache-key'] as string;
  const family = first.headers['x-hasura-query-family-cache-key'] as string;
  assert.match(key, /^[0-9a-f]{64}$/);
  // The row changes; the cached answer is served until the entry expires or is cleared.
  await admin.query(`UPDATE links.links SET click_count = 41 WHERE code = $1`, [code]);
  const hit = await post(app, '/v1/graphql', { query: STATS.replace(/\s+/g, '  '), variables: { code } }, asUser(USERS.alice));
  assert.deepEqual(hit.body, first.body, 'whitespace does not change the key');
  assert.equal(hit.headers['x-hasura-query-cache-key'], key);
  assert.match(String(hit.headers['cache-control']), /^max-age=(30|29|28)$/);
  // Another user (the permission reads X-Hasura-User-Id): another key, its own rows.
  const bob = await post(app, '/v1/graphql', { query: STATS, variables: { code } }, asUser(USERS.bob));
  assert.notEqual(bob.headers['x-hasura-query-cache-key'], key);
  assert.deepEqual(bob.body, { data: { links_links: [] } });
  // Same family, other variables: another key, the same family key.
  const other = await post(app, '/v1/graphql', { query: STATS, variables: { code: 'nope' } }, asUser(USERS.alice));
  assert.notEqual(other.headers['x-hasura-query-cache-key'], key);
  assert.equal(other.headers['x-hasura-query-family-cache-key'], family);
  // refresh: true fetches and stores the fresh answer (docs: a literal).
  const refreshed = await post(app, '/v1/graphql', { query: STATS.replace('ttl: 30', 'ttl: 30, refresh: true'), variables: { code } }, asUser(USERS.alice));
  assert.equal(refreshed.body.data.links_links[0].click_count, '41');
  // Clearing: only the admin; then the next request is a miss and sees the new value.
  await admin.query(`UPDATE links.links SET click_count = 42 WHERE code = $1`, [code]);
  assert.equal((await app.inject({ method: 'POST', url: '/pro/cache/clear', headers: asUser(USERS.alice) })).statusCode, 400);
  const cleared = await app.inject({ method: 'POST', url: `/pro/cache/clear?key=${key}` });
  assert.deepEqual(JSON.parse(cleared.body), { message: 'success', cleared: 1 });
  const after = await post(app, '/v1/graphql', { query: STATS, variables: { code } }, asUser(USERS.alice));
  assert.equal(after.body.data.links_links[0].click_count, '42');
  assert.equal(JSON.parse((await app.inject({ method: 'POST', url: `/pro/cache/clear?family=${family}` })).body).cleared, 2);
  // Errors are never stored (a miss each time); queries without @cached get no cache headers.
  const bad = await post(app, '/v1/graphql', { query: 'query @cached { links_links { nope } }' }, asUser(USERS.alice));
  assert.equal(bad.body.errors[0].extensions.code, 'validation-failed');
  assert.equal(bad.headers['x-hasura-query-cache-key'], undefined);
  const plain = await post(app, '/v1/graphql', { query: '{ links_links { code } }' }, asUser(USERS.alice));
  assert.equal(plain.headers['cache-control'], undefined);
  // @cached on a mutation is refused as Hasura's schema only defines it on queries.
  const mut = await post(app, '/v1/graphql', { query: 'mutation @cached { delete_links_links(where: {}) { affected_rows } }' }, asUser(USERS.alice));
  assert.equal(mut.body.errors[0].message, 'directive "cached" is not defined in the schema');
  const m = await metric(app, 'hasura_cache_request_count');
  assert.match(m, /status="hit"} 1\b/);
  assert.match(m, /status="miss"} 6\b/);
});

void test('@cached over a REST endpoint whose query carries it', async (t) => {
  const redis = await startTestRedis();
  t.after(() => redis.stop());
  const { app, code } = await setup(t, { REDIS_URL: redis.url });
  const created = await post(app, '/v1/metadata', { type: 'bulk', args: [
    { type: 'create_query_collection', args: { name: 'cached', definition: { queries: [{ name: 'stats', query: STATS }] } } },
    { type: 'create_rest_endpoint', args: { name: 'cached_stats', url: 'cached/:code', methods: ['GET'], definition: { query: { collection_name: 'cached', query_name: 'stats' } } } },
  ] });
  assert.equal(created.status, 200, JSON.stringify(created.body));
  const a = await app.inject({ method: 'GET', url: `/api/rest/cached/${code}`, headers: asUser(USERS.alice) });
  const b = await app.inject({ method: 'GET', url: `/api/rest/cached/${code}`, headers: asUser(USERS.alice) });
  assert.equal(a.statusCode, 200, a.body);
  assert.equal(a.headers['x-hasura-query-cache-key'], b.headers['x-hasura-query-cache-key']);
  assert.equal(JSON.parse(b.body).links_links[0].code, code);
  assert.match(await metric(app, 'hasura_cache_request_count'), /status="hit"} 1\b/);
});

/** One query over graphql-transport-ws on a fresh connection; resolves with its `next` payload. */
async function overWs(url: string, headers: Record<string, string>, payload: Record<string, unknown>): Promise<unknown> {
  const ws = new WebSocket(url, 'graphql-transport-ws');
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no answer over the WebSocket')), 10_000);
      ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { headers } })));
      ws.on('error', reject);
      ws.on('message', (raw) => {
        const m = JSON.parse(String(raw)) as { type: string; payload?: unknown };
        if (m.type === 'connection_ack') ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload }));
        else if (m.type === 'next' || m.type === 'error') {
          clearTimeout(timer);
          resolve(m.type === 'next' ? m.payload : { error: m.payload });
        }
      });
    });
  } finally {
    ws.terminate();
  }
}

// Hasura's runGQBatched runs each request of a batch through runGQ (cache lookup and store) and
// drops the headers; WebSocket.hs onStart looks queries up the same way, ignoring the headers.
void test('@cached applies to each request of an HTTP batch and to queries over WebSocket, as Hasura does', async (t) => {
  const redis = await startTestRedis();
  t.after(() => redis.stop());
  const { app, admin, code } = await setup(t, { REDIS_URL: redis.url });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/v1/graphql`;
  const stats = { query: STATS, variables: { code } };
  // Batch: the first item is a miss, the second (same key) a hit; the batch answer has no cache headers.
  const batch = await post(app, '/v1/graphql', [stats, stats, { query: '{ links_links(limit: 1) { code } }' }], asUser(USERS.alice));
  assert.equal(batch.status, 200);
  assert.equal(batch.body.length, 3);
  assert.deepEqual(batch.body[0], batch.body[1]);
  assert.equal(batch.headers['x-hasura-query-cache-key'], undefined);
  assert.match(await metric(app, 'hasura_cache_request_count'), /status="hit"} 1\b/);
  // The row changes in the database; the cached answer (stored by the batch) is what the WebSocket query gets.
  await admin.query(`UPDATE links.links SET click_count = 77 WHERE code = $1`, [code]);
  const wsAnswer = await overWs(url, asUser(USERS.alice), stats);
  assert.deepEqual(wsAnswer, batch.body[0], 'served from the cache entry the batch stored');
  assert.match(await metric(app, 'hasura_cache_request_count'), /status="hit"} 2\b/);
  // Another user over WebSocket: another key (a miss), never alice's entry.
  assert.deepEqual(await overWs(url, asUser(USERS.bob), stats), { data: { links_links: [] } });
  // Cleared, the WebSocket query reads the database and stores the fresh answer for HTTP.
  await app.inject({ method: 'POST', url: '/pro/cache/clear' });
  const fresh = await overWs(url, asUser(USERS.alice), stats) as { data: { links_links: Array<{ click_count: string }> } };
  assert.equal(fresh.data.links_links[0]!.click_count, '77');
  const http = await post(app, '/v1/graphql', stats, asUser(USERS.alice));
  assert.deepEqual(http.body, fresh);
  assert.match(await metric(app, 'hasura_cache_request_count'), /status="hit"} 3\b/);
  assert.match(await metric(app, 'hasura_cache_request_count'), /status="miss"} 3\b/);
});

void test('without Redis @cached is accepted and nothing is cached (Hasura CE)', async (t) => {
  const { app, code } = await setup(t, {});
  const r = await post(app, '/v1/graphql', { query: STATS, variables: { code } }, asUser(USERS.alice));
  assert.equal(r.body.data.links_links[0].code, code);
  assert.equal(r.headers['x-hasura-query-cache-key'], undefined);
});

void test('Redis down: @cached queries are answered uncached and counted, and caching resumes when it is back', async (t) => {
  let redis = await startTestRedis();
  const port = redis.port;
  t.after(() => redis.stop());
  const { app, code } = await setup(t, { REDIS_URL: redis.url });
  const ask = () => post(app, '/v1/graphql', { query: STATS, variables: { code } }, asUser(USERS.alice));
  assert.ok((await ask()).headers['x-hasura-query-cache-key']);
  await redis.stop();
  const during = await ask();
  assert.equal(during.body.data.links_links[0].code, code, 'answered from the database');
  assert.equal(during.headers['x-hasura-query-cache-key'], undefined);
  assert.match(await metric(app, 'engine_query_cache_unavailable_total'), /engine_query_cache_unavailable_total [1-9]/);
  redis = await startTestRedis({ port, dir: redis.dir });
  let back = await ask();
  for (let i = 0; i < 100 && !back.headers['x-hasura-query-cache-key']; i++) {
    await new Promise((r) => setTimeout(r, 100));
    back = await ask();
  }
  assert.ok(back.headers['x-hasura-query-cache-key'], 'caching resumed without a restart');
});

/**
 * Hardening at the HTTP and WebSocket surface (issue 11): the hostile request of the issue over
 * HTTP, batch/body limits, set_api_limits / remove_api_limits / api_limits.yaml, statement time
 * limits cancelled in PostgreSQL itself, and subscription caps with their errors.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import WebSocket from 'ws';
import { buildTestApp, post } from './helper.ts';
import { StartQueue } from '../../src/http/live-query.ts';

const SECRET = { 'x-hasura-admin-secret': 'sekret' };
const asUser = (id: string) => ({ ...SECRET, 'x-hasura-role': 'user', 'x-hasura-user-id': id });
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const setup = {
  type: 'bulk',
  args: [
    { type: 'run_sql', args: { sql: "CREATE TABLE items (id serial PRIMARY KEY, owner text NOT NULL); INSERT INTO items (owner) VALUES ('u1'), ('u2'); CREATE VIEW slow AS SELECT 1 AS id, pg_sleep(3)::text AS s;" } },
    { type: 'track_table', args: { schema: 'public', name: 'items' } },
    { type: 'track_table', args: { schema: 'public', name: 'slow' } },
    { type: 'create_select_permission', args: { table: 'items', role: 'user', permission: { columns: ['id', 'owner'], filter: { owner: 'X-Hasura-User-Id' } } } },
    { type: 'create_select_permission', args: { table: 'items', role: 'anonymous', permission: { columns: ['id'], filter: {} } } },
    { type: 'create_select_permission', args: { table: 'slow', role: 'user', permission: { columns: ['id', 's'], filter: {} } } },
  ],
};

async function realApp(t: TestContext, env: Record<string, string> = {}) {
  const { app, db } = await buildTestApp(t, {
    fake: false,
    env: { HASURA_GRAPHQL_ADMIN_SECRET: 'sekret', HASURA_GRAPHQL_UNAUTHORIZED_ROLE: 'anonymous', ...env },
  });
  const res = await post(app, '/v1/query', setup, SECRET);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return { app, db };
}

function fragmentBomb(count: number): string {
  const parts = ['{ ...F0 }'];
  for (let i = 0; i < count - 1; i++) parts.push(`fragment F${i} on query_root { ...F${i + 1} ...F${i + 1} }`);
  parts.push(`fragment F${count - 1} on query_root { a: __typename b: __typename }`);
  return parts.join('\n');
}

void test('HTTP: the issue\'s anonymous 2^26 fragment request is refused by the defaults; batch and body limits', async (t) => {
  const { app } = await realApp(t, { ENGINE_MAX_BATCH: '3', ENGINE_BODY_LIMIT_BYTES: '20000' });
  const bomb = await post(app, '/v1/graphql', { query: fragmentBomb(26) });
  assert.equal(bomb.status, 200);
  assert.deepEqual(bomb.body, {
    errors: [{ extensions: { path: '$', code: 'validation-failed' }, message: `the query exceeds the maximum allowed node count of 10000 (it has ${2 ** 26} fields once fragments are expanded)` }],
  });
  const benign = await post(app, '/v1/graphql', { query: '{ items(order_by: {id: asc}) { id } }' });
  assert.deepEqual(benign.body, { data: { items: [{ id: 1 }, { id: 2 }] } });

  // Batch: four operations against a ceiling of three, refused whole (nothing ran).
  const q = { query: '{ items { id } }' };
  const four = await post(app, '/v1/graphql', [q, q, q, q]);
  assert.deepEqual(four.body, { errors: [{ extensions: { path: '$', code: 'batch-limit-exceeded' }, message: 'the batch holds 4 operations, above the maximum allowed 3' }] });
  assert.equal((await post(app, '/v1/graphql', [q, q, q])).body.length, 3);
  assert.equal((await post(app, '/v1alpha1/graphql', [q, q, q, q])).status, 400);

  // Body over the limit: 413 with Hasura's error body, never a 500 or a reset.
  const big = await post(app, '/v1/graphql', { query: `{ items(where: {owner: {_eq: "${'x'.repeat(30_000)}"}}) { id } }` });
  assert.equal(big.status, 413);
  assert.deepEqual(big.body, { path: '$', error: 'request body too large', code: 'bad-request' });
  assert.deepEqual((await post(app, '/v1/graphql', q)).body, { data: { items: [{ id: 1 }, { id: 2 }] } });
});

void test('set_api_limits / remove_api_limits: validated, exported, enforced per role at once', async (t) => {
  const { app } = await realApp(t);
  const bad = await post(app, '/v1/metadata', { type: 'set_api_limits', args: { depth_limit: { global: 'deep' } } }, SECRET);
  assert.equal(bad.status, 400);
  assert.deepEqual(bad.body, { path: '$.args.depth_limit.global', error: 'expected a non-negative integer', code: 'parse-failed' });

  const limits = { disabled: false, depth_limit: { global: 1 }, batch_limit: { global: 5, per_role: { user: 2 } } };
  assert.deepEqual((await post(app, '/v1/metadata', { type: 'set_api_limits', args: limits }, SECRET)).body, { message: 'success' });
  const exported = await post(app, '/v1/metadata', { type: 'export_metadata', args: {} }, SECRET);
  assert.deepEqual(exported.body.api_limits, limits);

  const deep = { query: '{ items { id } }' }; // depth 2
  const refused = await post(app, '/v1/graphql', deep, asUser('u1'));
  assert.deepEqual(refused.body.errors[0], { extensions: { path: '$', code: 'validation-failed' }, message: 'the query exceeds the maximum allowed depth of 1' });
  assert.ok((await post(app, '/v1/graphql', deep, SECRET)).body.data, 'admin is exempt');
  const q = { query: '{ __typename }' };
  assert.equal((await post(app, '/v1/graphql', [q, q, q], asUser('u1'))).body.errors[0].extensions.code, 'batch-limit-exceeded');

  assert.deepEqual((await post(app, '/v1/metadata', { type: 'remove_api_limits', args: {} }, SECRET)).body, { message: 'success' });
  assert.deepEqual((await post(app, '/v1/graphql', deep, asUser('u1'))).body, { data: { items: [{ id: 1 }] } });
  assert.equal((await post(app, '/v1/graphql', [q, q, q], asUser('u1'))).body.length, 3);
});

void test('api_limits.yaml in the metadata directory is loaded and enforced', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'engine-apilimits-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.mkdirSync(path.join(dir, 'databases'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'version.yaml'), 'version: 3\n');
  fs.writeFileSync(path.join(dir, 'databases', 'databases.yaml'), '- name: default\n  kind: postgres\n  configuration:\n    connection_info:\n      database_url:\n        from_env: HASURA_GRAPHQL_DATABASE_URL\n  tables: []\n');
  fs.writeFileSync(path.join(dir, 'api_limits.yaml'), 'node_limit:\n  global: 2\n');
  const { app } = await buildTestApp(t, { fake: false, env: { HASURA_GRAPHQL_ADMIN_SECRET: 'sekret', HASURA_GRAPHQL_UNAUTHORIZED_ROLE: 'anonymous', HASURA_GRAPHQL_METADATA_DIR: dir } });
  const r = await post(app, '/v1/graphql', { query: '{ a: __typename b: __typename c: __typename }' });
  assert.equal(r.body.errors[0].message, 'the query exceeds the maximum allowed node count of 2 (it has 3 fields once fragments are expanded)');
  assert.deepEqual((await post(app, '/v1/graphql', { query: '{ a: __typename }' })).body, { data: { a: 'query_root' } });
});

/** Active statements of the engine on the slow view, seen from another connection. */
async function slowStatements(adminUrl: string): Promise<number> {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    const r = await c.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active' AND query LIKE '%"slow"%'`,
    );
    return r.rows[0]!.n;
  } finally {
    await c.end();
  }
}

void test('time limits: statement_timeout cancels the statement in PostgreSQL (env, and api_limits time_limit per role)', async (t) => {
  const { app, db } = await realApp(t, { ENGINE_QUERY_TIMEOUT_MS: '300' });
  const slow = { query: '{ slow { id s } }' };
  const r = await post(app, '/v1/graphql', slow, asUser('u1'));
  assert.deepEqual(r.body, { errors: [{ extensions: { path: '$', code: 'timeout' }, message: 'the operation exceeded its time limit and was cancelled' }] });
  assert.equal(await slowStatements(db.adminUrl), 0, 'PostgreSQL no longer runs the statement');
  assert.deepEqual((await post(app, '/v1/graphql', { query: '{ items { id } }' }, asUser('u2'))).body, { data: { items: [{ id: 2 }] } });

  // A role's api_limits time_limit (seconds) under a generous env limit.
  const { app: app2, db: db2 } = await realApp(t, { ENGINE_QUERY_TIMEOUT_MS: '60000' });
  await post(app2, '/v1/metadata', { type: 'set_api_limits', args: { time_limit: { global: 60, per_role: { user: 1 } } } }, SECRET);
  const pending = post(app2, '/v1/graphql', slow, asUser('u1'));
  await sleep(400);
  assert.equal(await slowStatements(db2.adminUrl), 1, 'running while within its limit');
  assert.equal((await pending).body.errors[0].extensions.code, 'timeout');
  assert.equal(await slowStatements(db2.adminUrl), 0, 'cancelled in PostgreSQL');
});

// ── subscriptions ────────────────────────────────────────────────────────────────────────────────

type Msg = Record<string, unknown>;

function wsClient(t: TestContext, url: string, protocol?: string) {
  const ws = protocol ? new WebSocket(url, protocol) : new WebSocket(url);
  t.after(() => ws.close());
  const messages: Msg[] = [];
  let wake: (() => void) | undefined;
  ws.on('message', (raw) => {
    const m = JSON.parse(String(raw)) as Msg;
    if (m.type === 'ka' || m.type === 'ping') return;
    messages.push(m);
    wake?.();
  });
  const opened = new Promise<void>((r) => ws.once('open', () => r()));
  const next = async (ms = 5000): Promise<Msg> => {
    const deadline = Date.now() + ms;
    while (!messages.length) {
      if (Date.now() > deadline) throw new Error(`no message within ${ms} ms`);
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 50);
      });
    }
    return messages.shift()!;
  };
  return {
    ws,
    next,
    send: (m: unknown) => ws.send(JSON.stringify(m)),
    async init(headers: Record<string, string>) {
      await opened;
      ws.send(JSON.stringify({ type: 'connection_init', payload: { headers } }));
      assert.equal((await next()).type, 'connection_ack');
    },
  };
}

void test('subscription caps: per connection, per user, global — each a clear error; freed on complete and close', async (t) => {
  const { app } = await buildTestApp(t, {
    env: {
      HASURA_GRAPHQL_ADMIN_SECRET: 'sekret',
      ENGINE_WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: '3',
      ENGINE_WS_MAX_SUBSCRIPTIONS_PER_USER: '4',
      ENGINE_WS_MAX_SUBSCRIPTIONS: '5',
    },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/v1/graphql`;
  const sub = (c: ReturnType<typeof wsClient>, id: string) => c.send({ type: 'subscribe', id, payload: { query: 'subscription { whoami }' } });
  const refusal = (m: Msg, id: string, text: RegExp) => {
    assert.equal(m.type, 'error', JSON.stringify(m));
    assert.equal(m.id, id);
    const [e] = m.payload as Array<{ message: string; extensions: { code: string } }>;
    assert.equal(e!.extensions.code, 'subscription-limit-exceeded');
    assert.match(e!.message, text);
  };

  const a = wsClient(t, url, 'graphql-transport-ws');
  await a.init(asUser('u1'));
  for (const id of ['1', '2', '3']) {
    sub(a, id);
    assert.equal((await a.next()).type, 'next');
  }
  sub(a, '4');
  refusal(await a.next(), '4', /too many subscriptions on this connection: at most 3/);

  const b = wsClient(t, url, 'graphql-transport-ws');
  await b.init(asUser('u1'));
  sub(b, '1');
  assert.equal((await b.next()).type, 'next');
  sub(b, '2');
  refusal(await b.next(), '2', /too many subscriptions for this user: at most 4/);

  const c = wsClient(t, url, 'graphql-transport-ws');
  await c.init(asUser('u2'));
  sub(c, '1');
  assert.equal((await c.next()).type, 'next');
  sub(c, '2');
  refusal(await c.next(), '2', /subscription capacity \(5\)/);

  a.send({ type: 'complete', id: '1' });
  await sleep(50);
  sub(c, '3');
  assert.equal((await c.next()).type, 'next', 'a completed subscription frees its place');

  a.ws.close();
  await sleep(100);
  sub(b, '3');
  assert.equal((await b.next()).type, 'next', 'a closed connection frees its places');

  // Apollo protocol: error then complete, the connection stays usable. Four run now (b: 2, c: 2).
  const d = wsClient(t, url);
  await d.init(asUser('u3'));
  d.send({ type: 'start', id: 'w', payload: { query: 'subscription { whoami }' } });
  assert.equal((await d.next()).type, 'data');
  d.send({ type: 'start', id: 'x', payload: { query: 'subscription { whoami }' } });
  const m = await d.next();
  assert.equal(m.type, 'error');
  assert.equal((m.payload as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions.code, 'subscription-limit-exceeded');
  assert.deepEqual(await d.next(), { type: 'complete', id: 'x' });
});

void test('StartQueue: bounded concurrency, and another owner is served before a flood drains', async () => {
  const q = new StartQueue(2);
  const order: string[] = [];
  let running = 0;
  let peak = 0;
  const job = (name: string) => async () => {
    running++;
    peak = Math.max(peak, running);
    await sleep(1);
    order.push(name);
    running--;
  };
  const all: Array<Promise<void>> = [];
  for (let i = 0; i < 100; i++) all.push(q.run('flood', job(`f${i}`)));
  all.push(q.run('other', job('other')));
  assert.equal(q.queued, 99);
  await Promise.all(all);
  assert.equal(peak, 2);
  assert.ok(order.indexOf('other') <= 4, `other ran at position ${order.indexOf('other')}`);
  assert.equal(order.length, 101);
});

void test('a flood of starts on one connection all succeed (queued, not failed) while HTTP queries keep answering', async (t) => {
  const { app } = await realApp(t, { ENGINE_LIVE_PG_CONNECTIONS: '2', ENGINE_WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: '400', ENGINE_WS_MAX_SUBSCRIPTIONS_PER_USER: '400' });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/v1/graphql`;
  const flood = wsClient(t, url, 'graphql-transport-ws');
  await flood.init(asUser('u1'));
  for (let i = 0; i < 400; i++) flood.send({ type: 'subscribe', id: String(i), payload: { query: `subscription { items(where: {id: {_gte: ${i % 7}}}) { id } }` } });
  const http = await Promise.all(Array.from({ length: 20 }, () => post(app, '/v1/graphql', { query: '{ items { id } }' }, asUser('u2'))));
  for (const r of http) assert.deepEqual(r.body, { data: { items: [{ id: 2 }] } });
  const firsts = new Map<string, Msg>();
  while (firsts.size < 400) {
    const m = await flood.next(20_000);
    if (!firsts.has(String(m.id))) firsts.set(String(m.id), m);
  }
  const failed = [...firsts.values()].filter((m) => m.type !== 'next');
  assert.deepEqual(failed, [], 'every start answered data');
});

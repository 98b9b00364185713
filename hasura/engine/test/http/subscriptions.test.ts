/**
 * Live queries over both WebSocket protocols (docs/research/hasura-v2.md §C.4, §C.5): the first result at once, a
 * new one only when the polled result changed, `stop`/`complete`/close end the poller, and the
 * role's permission filter applies to every refetch.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import WebSocket from 'ws';
import { buildTestApp, post } from './helper.ts';
import { LiveQuery } from '../../src/http/live-query.ts';
import type { GraphQLEngine, GraphQLResponse } from '../../src/contract.ts';

const ADMIN = { 'x-hasura-admin-secret': 'sekret' };
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const setup = {
  type: 'bulk',
  args: [
    { type: 'run_sql', args: { sql: 'CREATE TABLE clicks (id serial PRIMARY KEY, owner text NOT NULL, count int NOT NULL DEFAULT 0);' } },
    { type: 'track_table', args: { schema: 'public', name: 'clicks' } },
    { type: 'create_select_permission', args: { table: 'clicks', role: 'user', permission: { columns: ['id', 'owner', 'count'], filter: { owner: 'X-Hasura-User-Id' } } } },
    { type: 'insert', args: { table: 'clicks', objects: [{ owner: 'u1', count: 1 }, { owner: 'u2', count: 5 }] } },
  ],
};

async function liveApp(t: TestContext) {
  const { app, db } = await buildTestApp(t, { fake: false, env: { HASURA_GRAPHQL_ADMIN_SECRET: 'sekret' } });
  const res = await post(app, '/v1/query', setup, ADMIN);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const pool = new pg.Pool({ connectionString: db.adminUrl, max: 2 });
  pool.on('error', () => undefined); // the database is dropped under idle clients at teardown
  t.after(() => pool.end());
  return { app, pool, url: `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/v1/graphql` };
}

type Msg = Record<string, unknown>;

/** A raw client for either protocol that queues messages; keep-alives are ignored. */
function client(t: TestContext, url: string, protocol?: 'graphql-transport-ws') {
  const ws = protocol ? new WebSocket(url, protocol) : new WebSocket(url);
  t.after(() => ws.close());
  const messages: Msg[] = [];
  const waiters: Array<() => void> = [];
  let closed = false;
  ws.on('message', (raw) => {
    const m = JSON.parse(String(raw)) as Msg;
    if (m.type === 'ka' || m.type === 'ping') return;
    messages.push(m);
    waiters.splice(0).forEach((w) => w());
  });
  ws.on('close', () => {
    closed = true;
    waiters.splice(0).forEach((w) => w());
  });
  const opened = new Promise<void>((r) => ws.once('open', () => r()));
  return {
    ws,
    messages,
    async init(headers: Record<string, string>) {
      await opened;
      ws.send(JSON.stringify({ type: 'connection_init', payload: { headers } }));
      assert.deepEqual(await this.next(), { type: 'connection_ack' });
    },
    send: (m: unknown) => ws.send(JSON.stringify(m)),
    /** The next message, or a failure after `ms`. */
    async next(ms = 3000): Promise<Msg> {
      const deadline = Date.now() + ms;
      for (;;) {
        const m = messages.shift();
        if (m) return m;
        if (closed) throw new Error('socket closed');
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no message within ${ms} ms`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, left);
        });
      }
    },
    /** Asserts that nothing arrives for `ms`. */
    async quiet(ms: number) {
      await sleep(ms);
      assert.deepEqual(messages.splice(0), [], 'no message expected');
    },
  };
}

const CLICKS = 'subscription { clicks(order_by: {id: asc}) { id owner count } }';

void test('Apollo graphql-ws: first data, a SQL UPDATE shows up, nothing when unchanged, stop ends it', async (t) => {
  const { url, pool } = await liveApp(t);
  const c = client(t, url);
  await c.init(ADMIN);
  c.send({ type: 'start', id: 's1', payload: { query: CLICKS } });
  assert.deepEqual(await c.next(), {
    type: 'data',
    id: 's1',
    payload: { data: { clicks: [{ id: 1, owner: 'u1', count: 1 }, { id: 2, owner: 'u2', count: 5 }] } },
  });
  await c.quiet(1500);

  await pool.query('UPDATE clicks SET count = count + 1 WHERE id = 1');
  const started = Date.now();
  assert.deepEqual(await c.next(2500), {
    type: 'data',
    id: 's1',
    payload: { data: { clicks: [{ id: 1, owner: 'u1', count: 2 }, { id: 2, owner: 'u2', count: 5 }] } },
  });
  assert.ok(Date.now() - started < 2000, 'within one refetch interval or so');

  c.send({ type: 'stop', id: 's1' });
  await sleep(50);
  await pool.query('UPDATE clicks SET count = count + 1 WHERE id = 1');
  await c.quiet(1500);

  // A validation error answers `error` then `complete`, as before execution in Hasura.
  c.send({ type: 'start', id: 's2', payload: { query: 'subscription { nope }' } });
  const err = await c.next();
  assert.equal(err.type, 'error');
  assert.equal((err.payload as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions.code, 'validation-failed');
  assert.deepEqual(await c.next(), { type: 'complete', id: 's2' });
  // Hasura's one-top-level-field rule.
  c.send({ type: 'start', id: 's3', payload: { query: 'subscription { a: clicks { id } b: clicks { id } }' } });
  const two = await c.next();
  assert.equal(two.type, 'error');
  assert.deepEqual(await c.next(), { type: 'complete', id: 's3' });
  // The id is free again after stop.
  c.send({ type: 'start', id: 's1', payload: { query: 'subscription { clicks_by_pk(id: 2) { count } }' } });
  assert.deepEqual(await c.next(), { type: 'data', id: 's1', payload: { data: { clicks_by_pk: { count: 5 } } } });
});

void test('graphql-transport-ws: first next, a mutation over HTTP shows up, complete ends it', async (t) => {
  const { app, url } = await liveApp(t);
  const c = client(t, url, 'graphql-transport-ws');
  await c.init(ADMIN);
  c.send({ type: 'subscribe', id: 'a', payload: { query: 'subscription Count { clicks_aggregate { aggregate { count } } }' } });
  assert.deepEqual(await c.next(), { type: 'next', id: 'a', payload: { data: { clicks_aggregate: { aggregate: { count: 2 } } } } });

  const ins = await post(app, '/v1/graphql', { query: 'mutation { insert_clicks_one(object: {owner: "u3"}) { id } }' }, ADMIN);
  assert.deepEqual(ins.body, { data: { insert_clicks_one: { id: 3 } } });
  assert.deepEqual(await c.next(2500), { type: 'next', id: 'a', payload: { data: { clicks_aggregate: { aggregate: { count: 3 } } } } });
  await c.quiet(1300);

  c.send({ type: 'complete', id: 'a' });
  await sleep(50);
  await post(app, '/v1/graphql', { query: 'mutation { insert_clicks_one(object: {owner: "u3"}) { id } }' }, ADMIN);
  await c.quiet(1500);

  // A validation error is one `error` message (it ends the operation in this protocol).
  c.send({ type: 'subscribe', id: 'b', payload: { query: 'subscription { nope }' } });
  const err = await c.next();
  assert.equal(err.type, 'error');
  assert.equal((err.payload as Array<{ extensions: { code: string } }>)[0]!.extensions.code, 'validation-failed');
  await c.quiet(300);
});

void test('a user subscription only ever sees its own rows', async (t) => {
  const { url, pool } = await liveApp(t);
  const c = client(t, url);
  await c.init({ ...ADMIN, 'x-hasura-role': 'user', 'x-hasura-user-id': 'u1' });
  c.send({ type: 'start', id: 'mine', payload: { query: CLICKS } });
  assert.deepEqual(await c.next(), { type: 'data', id: 'mine', payload: { data: { clicks: [{ id: 1, owner: 'u1', count: 1 }] } } });

  // Another user's rows change: nothing to send.
  await pool.query("INSERT INTO clicks (owner, count) VALUES ('u2', 9)");
  await pool.query("UPDATE clicks SET count = 100 WHERE owner = 'u2'");
  await c.quiet(1500);

  await pool.query("INSERT INTO clicks (owner, count) VALUES ('u1', 7)");
  const m = await c.next(2500);
  assert.deepEqual(m, { type: 'data', id: 'mine', payload: { data: { clicks: [{ id: 1, owner: 'u1', count: 1 }, { id: 4, owner: 'u1', count: 7 }] } } });

  // A missing session variable fails before execution, as Hasura's negative test expects.
  const anon = client(t, url);
  await anon.init({ ...ADMIN, 'x-hasura-role': 'user' });
  anon.send({ type: 'start', id: 'x', payload: { query: CLICKS } });
  const err = await anon.next();
  assert.equal(err.type, 'error');
  assert.deepEqual(await anon.next(), { type: 'complete', id: 'x' });
});

void test('the poller stops on stop, on complete and when the socket closes (fake engine, counted)', async (t) => {
  const { app, fake } = await buildTestApp(t, { env: { HASURA_GRAPHQL_ADMIN_SECRET: 'sekret' } });
  let calls = 0;
  const execute = fake!.execute.bind(fake);
  fake!.execute = (req, session) => {
    calls++;
    return execute(req, session);
  };
  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/v1/graphql`;

  const c = client(t, url);
  await c.init(ADMIN);
  c.send({ type: 'start', id: '1', payload: { query: 'subscription { whoami }' } });
  assert.equal((await c.next()).type, 'data');
  await sleep(2400);
  assert.ok(calls >= 3, `polled (${calls} executions)`);
  await c.quiet(0); // unchanged results were not sent
  c.send({ type: 'stop', id: '1' });
  await sleep(100);
  const afterStop = calls;
  await sleep(1500);
  assert.equal(calls, afterStop, 'no execution after stop');

  const g = client(t, url, 'graphql-transport-ws');
  await g.init(ADMIN);
  g.send({ type: 'subscribe', id: '1', payload: { query: 'subscription { whoami }' } });
  assert.equal((await g.next()).type, 'next');
  g.send({ type: 'complete', id: '1' });
  await sleep(100);
  const afterComplete = calls;
  await sleep(1500);
  assert.equal(calls, afterComplete, 'no execution after complete');

  c.send({ type: 'start', id: '2', payload: { query: 'subscription { whoami }' } });
  g.send({ type: 'subscribe', id: '2', payload: { query: 'subscription { whoami }' } });
  assert.equal((await c.next()).type, 'data');
  assert.equal((await g.next()).type, 'next');
  c.ws.close();
  g.ws.close();
  await sleep(100);
  const afterClose = calls;
  await sleep(1500);
  assert.equal(calls, afterClose, 'no execution after the sockets closed');
});

void test('LiveQuery: sends only changes, never overlaps runs, and stop clears its timer', async () => {
  let n = 0;
  let starts = 0;
  let running = 0;
  let overlapped = false;
  const engine: GraphQLEngine = {
    async execute() {
      starts++;
      running++;
      if (running > 1) overlapped = true;
      await sleep(15);
      running--;
      n++;
      return { data: { v: Math.floor(n / 3) } };
    },
    async reload() {},
    roles: () => [],
  };
  const sent: GraphQLResponse[] = [];
  const lq = new LiveQuery({
    engine: () => engine,
    request: { query: 'subscription { v }' },
    session: { role: 'admin', vars: {}, isAdmin: true },
    intervalMs: 5,
    onFirst: (r) => sent.push(r),
    onChange: (r) => sent.push(r),
  });
  await lq.start();
  await sleep(300);
  lq.stop();
  const runs = starts;
  await sleep(100);
  assert.equal(starts, runs, 'no run after stop');
  assert.equal(overlapped, false);
  assert.ok(sent.length >= 3 && sent.length < runs, `${sent.length} sent of ${runs} runs`);
  const values = sent.map((r) => (r.data as { v: number }).v);
  assert.deepEqual(values, [...new Set(values)], 'each sent result differs from the previous one');
  assert.equal(lq.running, false);
});

/**
 * Upstream's WebSocket subscription tests, as test_subscriptions.py drives them (Apollo
 * `graphql-ws`, mutations on the same connection, `stop` then silence), with its data
 * (queries/subscriptions/live_queries/{setup,steps}.yaml and streaming/{setup,steps}.yaml in
 * hge_tests): TestSubscriptionLiveQueries.test_live_queries and
 * TestStreamingSubscription.test_streaming_subscriptions_with_concurrent_data_inserts. The refetch
 * intervals are shortened (100 ms); upstream's 3 s silence check is 1 s here.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { buildTestApp, post } from '../http/helper.ts';

const ADMIN = { 'x-hasura-admin-secret': 'sekret' };

const setup = {
  type: 'bulk',
  args: [
    { type: 'run_sql', args: { sql: `CREATE SCHEMA hge_tests;
      CREATE TABLE hge_tests.test_t2 (c1 int, c2 text, created_at timestamptz DEFAULT now());
      CREATE TABLE hge_tests.articles (id serial PRIMARY KEY, content text, title text, is_public bool DEFAULT false);` } },
    { type: 'track_table', args: { schema: 'hge_tests', name: 'test_t2' } },
    { type: 'track_table', args: { schema: 'hge_tests', name: 'articles' } },
    { type: 'create_select_permission', args: { table: { schema: 'hge_tests', name: 'articles' }, role: 'public', permission: { columns: ['title', 'content'], filter: { is_public: true } } } },
  ],
};

async function connect(t: TestContext) {
  const { app } = await buildTestApp(t, {
    fake: false,
    env: {
      HASURA_GRAPHQL_ADMIN_SECRET: 'sekret',
      HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_REFETCH_INTERVAL: '100',
      HASURA_GRAPHQL_STREAMING_QUERIES_MULTIPLEXED_REFETCH_INTERVAL: '100',
    },
  });
  assert.equal((await post(app, '/v1/query', setup, ADMIN)).status, 200);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const ws = new WebSocket(`ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/v1/graphql`);
  t.after(() => ws.terminate());
  // Events per operation id, in arrival order (ws_client.send_query's per-id queues).
  const queues = new Map<string, Array<Record<string, any>>>();
  const all: Array<Record<string, any>> = [];
  ws.on('message', (raw) => {
    const m = JSON.parse(String(raw)) as Record<string, any>;
    if (m.type === 'ka') return;
    all.push(m);
    const q = queues.get(m.id ?? '') ?? [];
    q.push(m);
    queues.set(m.id ?? '', q);
  });
  await new Promise<void>((r) => ws.once('open', () => r()));
  const next = async (id: string, ms = 15_000) => {
    const deadline = Date.now() + ms;
    for (;;) {
      const m = queues.get(id)?.shift();
      if (m) return m;
      if (Date.now() > deadline) throw new Error(`no event for ${id}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const send = (m: unknown) => ws.send(JSON.stringify(m));
  send({ type: 'connection_init', payload: { headers: ADMIN } });
  assert.equal((await next('')).type, 'connection_ack');
  const mutate = async (id: string, query: string, variables?: unknown) => {
    send({ type: 'start', id, payload: { query, variables } });
    const ev = await next(id);
    assert.equal(ev.type, 'data', JSON.stringify(ev));
    assert.equal((await next(id)).type, 'complete');
    return ev.payload.data;
  };
  return { send, next, mutate, all };
}

const INSERT = 'mutation insert_test_t2($objects: [hge_tests_test_t2_insert_input!]!) { insert_hge_tests_test_t2(objects: $objects) { returning { c1 c2 } } }';

void test('TestSubscriptionLiveQueries.test_live_queries', async (t) => {
  const c = await connect(t);
  const tmpl = 'subscription ($result_limit: Int!) { hge_tests_live_query_{0}: hge_tests_test_t2(order_by: {c1: asc}, limit: $result_limit) { c1, c2 } }';
  const queries: Array<[number, number]> = [[0, 1], [1, 2], [2, 2]];
  for (const [i, limit] of queries) {
    c.send({ type: 'start', id: `live_${i}`, payload: { query: tmpl.replace('{0}', String(i)), variables: { result_limit: limit } } });
    const ev = await c.next(`live_${i}`);
    assert.equal(ev.type, 'data');
    assert.deepEqual(ev.payload.data, { [`hge_tests_live_query_${i}`]: [] });
  }
  const steps: Array<{ query: string; variables?: unknown; name: string; response: unknown; live: Array<{ c1: number; c2: string }> }> = [
    {
      name: 'insert_hge_tests_test_t2', query: INSERT, variables: { objects: [{ c1: 1, c2: 'test1' }, { c1: 2, c2: 'test2' }] },
      response: { insert_hge_tests_test_t2: { returning: [{ c1: 1, c2: 'test1' }, { c1: 2, c2: 'test2' }] } },
      live: [{ c1: 1, c2: 'test1' }, { c1: 2, c2: 'test2' }],
    },
    {
      name: 'update_hge_tests_test_t2', query: 'mutation update_test_t2 { update_hge_tests_test_t2(where: {c1: {_eq: 1}}, _set: {c2: "test11"}) { returning { c1 c2 } } }',
      response: { update_hge_tests_test_t2: { returning: [{ c1: 1, c2: 'test11' }] } },
      live: [{ c1: 1, c2: 'test11' }, { c1: 2, c2: 'test2' }],
    },
    {
      name: 'delete_hge_tests_test_t2', query: 'mutation delete_test_t2 { delete_hge_tests_test_t2(where: {c1: {_in: [1, 2]}}) { affected_rows } }',
      response: { delete_hge_tests_test_t2: { affected_rows: 2 } },
      live: [],
    },
  ];
  for (const [index, step] of steps.entries()) {
    assert.deepEqual(await c.mutate(`mutation_${index}`, step.query, step.variables), step.response);
    for (const [i, limit] of queries) {
      const ev = await c.next(`live_${i}`);
      assert.equal(ev.type, 'data');
      assert.deepEqual(ev.payload.data, { [`hge_tests_live_query_${i}`]: step.live.slice(0, limit) }, `step ${step.name}, live_${i}`);
    }
  }
  for (const [i] of queries) c.send({ type: 'stop', id: `live_${i}` });
  const n = c.all.length;
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(c.all.length, n, 'nothing after stop');
});

void test('TestStreamingSubscription.test_streaming_subscriptions_with_concurrent_data_inserts', async (t) => {
  const c = await connect(t);
  c.send({
    type: 'start', id: 'stream_1',
    payload: {
      query: 'subscription ($batch_size: Int!, $initial_created_at: timestamptz!) { hge_tests_stream_query: hge_tests_test_t2_stream(cursor: [{initial_value: {created_at: $initial_created_at}, ordering: ASC}], batch_size: $batch_size) { c1 c2 } }',
      variables: { batch_size: 2, initial_created_at: '2020-01-01' },
    },
  });
  const steps = [
    { objects: [{ c1: 1, c2: 'test1' }], stream: [{ c1: 1, c2: 'test1' }] },
    { objects: [{ c1: 2, c2: 'test2' }, { c1: 3, c2: 'test3' }], stream: [{ c1: 2, c2: 'test2' }, { c1: 3, c2: 'test3' }] },
  ];
  for (const [index, step] of steps.entries()) {
    assert.deepEqual(await c.mutate(`mutation_${index}`, INSERT, { objects: step.objects }), { insert_hge_tests_test_t2: { returning: step.objects } });
    const ev = await c.next('stream_1');
    assert.equal(ev.type, 'data');
    assert.deepEqual(ev.payload.data, { hge_tests_stream_query: step.stream });
  }
  c.send({ type: 'stop', id: 'stream_1' });
  const n = c.all.length;
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(c.all.length, n, 'nothing after stop');
});

/**
 * The engine's `/metrics` after known traffic: GraphQL operations by type and Hasura error code,
 * RED per route, pool saturation for each of the engine's pools; and the operation-type sniffing
 * that labels them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { parseExposition, sampleValue } from '@linkport/common';
import { operationType } from '../../src/http/metrics.ts';
import { buildTestApp, post } from './helper.ts';

const SECRET = { 'x-hasura-admin-secret': 'sekret' };

void test('operation types are read without a parse', () => {
  assert.equal(operationType('{ a }'), 'query');
  assert.equal(operationType('  # mutation in a comment\n query Q { a }'), 'query');
  assert.equal(operationType('mutation M { a }'), 'mutation');
  assert.equal(operationType('query A { a } subscription B { a }', 'B'), 'subscription');
  assert.equal(operationType('query A { a(s: "mutation X") }'), 'query');
  assert.equal(operationType('fragment F on T { a } mutation { b }'), 'mutation');
  assert.equal(operationType('nonsense'), 'unknown');
});

void test('GraphQL operations are counted by type and error code', async (t) => {
  const { app } = await buildTestApp(t, { fake: false, env: { HASURA_GRAPHQL_ADMIN_SECRET: 'sekret' } });
  const setup = await post(
    app,
    '/v1/query',
    {
      type: 'bulk',
      args: [
        { type: 'run_sql', args: { sql: 'CREATE TABLE m_items (id serial PRIMARY KEY, name text NOT NULL)' } },
        { type: 'track_table', args: { schema: 'public', name: 'm_items' } },
      ],
    },
    SECRET,
  );
  assert.equal(setup.status, 200, JSON.stringify(setup.body));
  for (let i = 0; i < 3; i++) assert.equal((await post(app, '/v1/graphql', { query: '{ m_items { id } }' }, SECRET)).status, 200);
  const ins = await post(app, '/v1/graphql', { query: 'mutation { insert_m_items_one(object: {name: "a"}) { id } }' }, SECRET);
  assert.deepEqual(ins.body, { data: { insert_m_items_one: { id: 1 } } });
  const bad = await post(app, '/v1/graphql', { query: '{ no_such_field }' }, SECRET);
  assert.equal((bad.body as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code, 'validation-failed');
  // Not decodable: answered before the engine, so not an operation.
  assert.equal((await post(app, '/v1/graphql', { nope: 1 }, SECRET)).status, 200);

  const res = await app.inject({ method: 'GET', url: '/metrics' });
  assert.equal(res.statusCode, 200);
  const s = parseExposition(res.body);
  assert.equal(sampleValue(s, 'linkport_graphql_operations_total', { type: 'query', code: 'ok' }), 3);
  assert.equal(sampleValue(s, 'linkport_graphql_operations_total', { type: 'mutation', code: 'ok' }), 1);
  assert.equal(sampleValue(s, 'linkport_graphql_operations_total', { type: 'query', code: 'validation-failed' }), 1);
  assert.equal(sampleValue(s, 'linkport_graphql_operations_total'), 5);
  assert.equal(sampleValue(s, 'linkport_graphql_operation_duration_seconds_count', { type: 'query' }), 4);
  assert.equal(sampleValue(s, 'http_server_request_duration_seconds_count', { method: 'POST', route: '/v1/graphql', status_code: '200' }), 6);
  assert.equal(sampleValue(s, 'http_server_request_duration_seconds_count', { method: 'POST', route: '/v1/query' }), 1);
  for (const pool of ['query', 'live', 'admin']) assert.ok(s.some((x) => x.name === 'pg_pool_max_connections' && x.labels.pool === pool), pool);
  assert.equal(sampleValue(s, 'pg_pool_waiting_clients'), 0);
});

void test('open live subscriptions are a gauge: up on start, down on stop and on disconnect', async (t) => {
  const { app } = await buildTestApp(t, { fake: false, env: { HASURA_GRAPHQL_ADMIN_SECRET: 'sekret' } });
  const setup = await post(app, '/v1/query', { type: 'bulk', args: [
    { type: 'run_sql', args: { sql: 'CREATE TABLE g_items (id serial PRIMARY KEY)' } },
    { type: 'track_table', args: { schema: 'public', name: 'g_items' } },
  ] }, SECRET);
  assert.equal(setup.status, 200, JSON.stringify(setup.body));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/v1/graphql`;
  const open = async () => sampleValue(parseExposition((await app.inject({ method: 'GET', url: '/metrics' })).body), 'linkport_graphql_live_subscriptions');
  assert.equal(await open(), 0);

  // Apollo's graphql-ws protocol: init → ack, start → data (the first result), stop.
  const ws = new WebSocket(url, 'graphql-ws');
  const messages: Array<{ type: string; id?: string }> = [];
  ws.on('message', (raw) => messages.push(JSON.parse(String(raw)) as { type: string; id?: string }));
  await new Promise<void>((r) => ws.once('open', () => r()));
  const next = async (type: string, id?: string) => {
    for (let i = 0; i < 200; i++) {
      const k = messages.findIndex((m) => m.type === type && (id === undefined || m.id === id));
      if (k >= 0) return messages.splice(k, 1)[0];
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`no ${type}: ${JSON.stringify(messages)}`);
  };
  ws.send(JSON.stringify({ type: 'connection_init', payload: { headers: SECRET } }));
  await next('connection_ack');
  for (const id of ['a', 'b', 'c']) {
    ws.send(JSON.stringify({ type: 'start', id, payload: { query: 'subscription { g_items { id } }' } }));
    await next('data', id);
  }
  // A query over the socket is not a live subscription.
  ws.send(JSON.stringify({ type: 'start', id: 'q', payload: { query: '{ g_items { id } }' } }));
  await next('data', 'q');
  assert.equal(await open(), 3);
  /** The gauge once it settled on `n` (a stop or a close is handled after the message arrives), or its last value. */
  const settle = async (n: number) => {
    let v = await open();
    for (let i = 0; i < 100 && v !== n; i++) {
      await new Promise((r) => setTimeout(r, 20));
      v = await open();
    }
    return v;
  };
  ws.send(JSON.stringify({ type: 'stop', id: 'b' }));
  assert.equal(await settle(2), 2);
  ws.close();
  await new Promise<void>((r) => ws.once('close', () => r()));
  assert.equal(await settle(0), 0, 'a closed connection releases its subscriptions');
});

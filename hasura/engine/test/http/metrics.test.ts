/**
 * The engine's `/metrics` after known traffic: GraphQL operations by type and Hasura error code,
 * RED per route, pool saturation for each of the engine's pools; and the operation-type sniffing
 * that labels them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
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

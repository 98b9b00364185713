/**
 * Metadata-time validation of collection queries (src/allowlist/validate.ts) beyond upstream's
 * endpoint_query_validation.yaml: every metadata path that can break or add a query is refused
 * by upstream's `withNewInconsistentObjsCheck` (RQL/DDL/QueryCollection.hs, Postgres/DDL/RunSQL.hs)
 * with `unexpected` "cannot continue due to newly found inconsistent metadata" (400 here, 500
 * upstream), and the analysis is upstream's Analyse.hs — field names, selection sets and variable
 * types, not arguments.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildClientSchema, getIntrospectionQuery } from 'graphql';
import { createTestDatabase } from '@linkport/devstack/testing';
import { buildApp } from '../../src/app.ts';
import { loadEngineConfig } from '../../src/config.ts';
import { diagnoseQuery } from '../../src/allowlist/validate.ts';
import { post } from '../http/helper.ts';

const NEWLY = 'cannot continue due to newly found inconsistent metadata';

void test('run_sql dropping a column, create_query_collection and add_query_to_collection with a query the schema lacks: refused, nothing changed', async (t) => {
  const db = await createTestDatabase({ migrated: false });
  t.after(() => db.drop());
  const app = await buildApp(loadEngineConfig({ HASURA_GRAPHQL_DATABASE_URL: db.adminUrl, LOG_LEVEL: 'silent', HASURA_GRAPHQL_ENABLE_CONSOLE: 'false' }));
  t.after(() => app.close());
  const ok = async (body: unknown) => {
    const r = await post(app, '/v1/metadata', body);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body;
  };
  await ok({ type: 'run_sql', args: { sql: 'CREATE TABLE temp_table (id serial PRIMARY KEY, col1 text, col2 text); INSERT INTO temp_table (col1, col2) VALUES (\'a\', \'b\')' } });
  await ok({ type: 'pg_track_table', args: { table: 'temp_table' } });
  await ok({ type: 'create_query_collection', args: { name: 'c', definition: { queries: [{ name: 'q', query: 'query { temp_table { col1 col2 } }' }] } } });
  await ok({ type: 'create_rest_endpoint', args: { name: 'e', url: 'temp', methods: ['GET'], definition: { query: { collection_name: 'c', query_name: 'q' } } } });

  const drop = await post(app, '/v1/metadata', { type: 'run_sql', args: { sql: 'ALTER TABLE temp_table DROP COLUMN col2' } });
  assert.equal(drop.status, 400, JSON.stringify(drop.body));
  assert.equal(drop.body.code, 'unexpected');
  assert.equal(drop.body.error, NEWLY);
  assert.deepEqual(drop.body.internal, [{
    definition: { name: 'q', query: 'query { temp_table { col1 col2 } }' },
    name: 'query_collections q in c',
    reason: 'Inconsistent object: In query collection "c" the query "q" is invalid with the following error(s): "$.temp_table.col2: field \'col2\' not found in object \'temp_table\'". This query is being used in the following REST endpoint(s): "e"',
    type: 'query_collections',
  }]);
  // The DDL was rolled back with the refusal: the endpoint still answers with both columns.
  const still = await app.inject({ method: 'GET', url: '/api/rest/temp' });
  assert.deepEqual(JSON.parse(still.body), { temp_table: [{ col1: 'a', col2: 'b' }] });

  const create = await post(app, '/v1/metadata', { type: 'create_query_collection', args: { name: 'd', definition: { queries: [{ name: 'bad', query: 'query ($x: no_such_type) { temp_table { id nope } }' }] } } });
  assert.equal(create.status, 400);
  assert.equal(create.body.error, NEWLY);
  assert.equal(create.body.internal[0].reason, 'Inconsistent object: In query collection "d" the query "bad" is invalid with the following error(s): "$.x: type \'no_such_type\' not found in the schema", "$.temp_table.nope: field \'nope\' not found in object \'temp_table\'"');

  const add = await post(app, '/v1/metadata', { type: 'add_query_to_collection', args: { collection_name: 'c', query_name: 'typo', query: 'query { temp_tabel { id } }' } });
  assert.equal(add.status, 400);
  assert.equal(add.body.internal[0].name, 'query_collections typo in c');
  const exported = await ok({ type: 'export_metadata', args: {} });
  assert.deepEqual(exported.query_collections.map((c: { name: string; definition: { queries: Array<{ name: string }> } }) => [c.name, c.definition.queries.map((q) => q.name)]), [['c', ['q']]]);

  // Arguments are not analysed (Analyse.hs: "TODO: check field arguments?"): such a query is
  // accepted, as upstream accepts it, and fails when it runs.
  await ok({ type: 'add_query_to_collection', args: { collection_name: 'c', query_name: 'args', query: 'query { temp_table(no_such_arg: 1) { id } }' } });
  await ok({ type: 'get_inconsistent_metadata', args: {} }).then((b) => assert.equal(b.is_consistent, true));
});

void test('the analysis: root types, selection sets, fragments, merged fields, reserved fields', async (t) => {
  const db = await createTestDatabase({ migrated: false });
  t.after(() => db.drop());
  const app = await buildApp(loadEngineConfig({ HASURA_GRAPHQL_DATABASE_URL: db.adminUrl, LOG_LEVEL: 'silent', HASURA_GRAPHQL_ENABLE_CONSOLE: 'false' }));
  t.after(() => app.close());
  await post(app, '/v1/metadata', { type: 'run_sql', args: { sql: 'CREATE TABLE t (id serial PRIMARY KEY, name text)' } });
  await post(app, '/v1/metadata', { type: 'pg_track_table', args: { table: 't' } });
  // The admin schema as the engine serves it, from its introspection.
  const intro = await post(app, '/v1/graphql', { query: getIntrospectionQuery() });
  const schema = buildClientSchema(intro.body.data);
  const cases: Array<[string, string[]]> = [
    ['query { t { id name } __typename __schema { queryType { name } } }', []],
    ['{ t { id } }', []],
    ['subscription { t_stream(batch_size: 1, cursor: []) { id } }', []],
    ['query { t { id ...F } } fragment F on t { name }', []],
    ['query { t { id ...F } }', ['reference to undefined fragment "F"']],
    ['query { t { ...A } } fragment A on t { ...B } fragment B on t { ...A }', ['the fragment definition(s) A and B form a cycle']],
    ['query A { t { id } } query B { t { id } }', ['exactly one operation has to be present in the document when operationName is not specified']],
    ['query { t }', ["$.t: object of type 't' must have a selection set"]],
    ['query { t { id { x } } }', ["$.t.id: scalar 'Int' does not accept a selection set"]],
    ['query { t { __schema { queryType { name } } } }', ["$.t.__schema: field '__schema' not found in object 't'"]],
    ['query { x: t { id } x: t_by_pk(id: 1) { id } }', ["$: field 'x' seen with two different types: [t!]! and t"]],
    ['query ($v: t) { t { id } }', ["$.v: object 't' cannot be used in an input type"]],
    ['query { t { ... on t { nope } } }', ["$.t.nope: field 'nope' not found in object 't'"]],
  ];
  for (const [q, expected] of cases) assert.deepEqual(diagnoseQuery(schema, q), expected, q);
});

/**
 * Enum tables (docs schema/postgres/enums.mdx; upstream EnumValues.hs): a referencing column is
 * typed `<table>_enum` in selections, filters (`<table>_enum_comparison_exp`, equality only),
 * inserts and updates; a table that cannot be an enum is refused with Hasura's reasons; values
 * added by plain SQL appear on reload_metadata, an invalid one makes the table inconsistent.
 * Upstream's own cases run in the conformance suite (graphql_query/enums, graphql_mutation/enums,
 * v1/set_table_is_enum).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp, post } from '../http/helper.ts';

const schemaSql = `
  CREATE TABLE status (value text PRIMARY KEY, comment text);
  INSERT INTO status VALUES ('open', 'Still open'), ('closed', NULL);
  CREATE TABLE ticket (id serial PRIMARY KEY, title text NOT NULL, status text NOT NULL REFERENCES status DEFAULT 'open');
  CREATE TABLE two_cols (value text PRIMARY KEY, a text, b text);
  INSERT INTO ticket (title, status) VALUES ('a', 'open'), ('b', 'closed');
`;

void test('enum tables: types, filters, mutations, refusals and reload', async (t) => {
  const { app } = await buildTestApp(t, { fake: false });
  const setup = await post(app, '/v1/query', {
    type: 'bulk',
    args: [
      { type: 'run_sql', args: { sql: schemaSql } },
      { type: 'track_table', args: { table: 'status', is_enum: true } },
      { type: 'track_table', args: 'ticket' },
      { type: 'track_table', args: 'two_cols' },
    ],
  });
  assert.equal(setup.status, 200, JSON.stringify(setup.body));
  const gql = async (query: string, variables?: unknown) => (await post(app, '/v1/graphql', { query, variables })).body;

  const types = await gql(`{
    e: __type(name: "status_enum") { kind enumValues { name description } }
    c: __type(name: "status_enum_comparison_exp") { inputFields { name } }
    i: __type(name: "ticket_insert_input") { inputFields { name type { name } } }
  }`);
  assert.deepEqual(types.data.e, { kind: 'ENUM', enumValues: [{ name: 'closed', description: null }, { name: 'open', description: 'Still open' }] });
  assert.deepEqual(types.data.c.inputFields.map((f: { name: string }) => f.name), ['_eq', '_in', '_is_null', '_neq', '_nin']);
  assert.deepEqual(types.data.i.inputFields.find((f: { name: string }) => f.name === 'status').type, { name: 'status_enum' });

  assert.deepEqual((await gql('{ ticket(where: {status: {_eq: closed}}) { title status } }')).data, { ticket: [{ title: 'b', status: 'closed' }] });
  assert.deepEqual((await gql('query ($s: status_enum) { ticket(where: {status: {_neq: $s}}) { title } }', { s: 'closed' })).data, { ticket: [{ title: 'a' }] });
  const bad = await gql('{ ticket(where: {status: {_eq: "open"}}) { title } }');
  assert.equal(bad.errors[0].message, "expected an enum value for type 'status_enum', but found a string");
  const badVar = await gql('query ($s: status_enum) { ticket(where: {status: {_eq: $s}}) { title } }', { s: 'nope' });
  assert.deepEqual(badVar.errors[0], {
    extensions: { path: '$.selectionSet.ticket.args.where.status._eq', code: 'validation-failed' },
    message: "expected one of the values ['closed', 'open'] for type 'status_enum', but found 'nope'",
  });

  const ins = await gql('mutation { insert_ticket_one(object: {title: "c", status: closed}) { status } update_ticket(where: {title: {_eq: "a"}}, _set: {status: closed}) { affected_rows } }');
  assert.deepEqual(ins.data, { insert_ticket_one: { status: 'closed' }, update_ticket: { affected_rows: 1 } });

  // Hasura's refusal, with every reason (v1/set_table_is_enum/add_invalid.yaml's shape).
  const refused = await post(app, '/v1/query', { type: 'set_table_is_enum', args: { table: 'two_cols', is_enum: true } });
  assert.equal(refused.status, 400);
  assert.equal(refused.body.code, 'invalid-configuration');
  assert.equal(refused.body.error, 'Inconsistent object: the table "two_cols" cannot be used as an enum because the table must have exactly one primary key and optionally one comment column, not 3 columns (a, b, value)');
  assert.deepEqual(refused.body.internal[0].definition, { schema: 'public', name: 'two_cols' });
  const notBool = await post(app, '/v1/query', { type: 'set_table_is_enum', args: { table: 'status', is_enum: 'yes' } });
  assert.deepEqual([notBool.status, notBool.body.path, notBool.body.code], [400, '$.args.is_enum', 'parse-failed']);

  // Rows added by SQL appear when the metadata is reloaded, as Hasura keeps enum values in its schema cache.
  await post(app, '/v2/query', { type: 'run_sql', args: { sql: "INSERT INTO status VALUES ('waiting', NULL)" } });
  const before = await gql('{ __type(name: "status_enum") { enumValues { name } } }');
  assert.equal(before.data.__type.enumValues.length, 2);
  const reloaded = await post(app, '/v1/metadata', { type: 'reload_metadata', args: {} });
  assert.equal(reloaded.body.is_consistent, true);
  const after = await gql('{ __type(name: "status_enum") { enumValues { name } } }');
  assert.deepEqual(after.data.__type.enumValues.map((v: { name: string }) => v.name), ['closed', 'open', 'waiting']);

  // A value that is no GraphQL name makes the table inconsistent; the rest of the API stays up.
  await post(app, '/v2/query', { type: 'run_sql', args: { sql: "INSERT INTO status VALUES ('not ok', NULL), ('1st', NULL)" } });
  const broken = await post(app, '/v1/metadata', { type: 'reload_metadata', args: {} });
  assert.equal(broken.body.is_consistent, false);
  assert.equal(broken.body.inconsistent_objects[0].reason, 'Inconsistent object: the table "status" cannot be used as an enum because the values "1st" and "not ok" are not valid GraphQL enum value names');
  assert.deepEqual((await gql('{ ticket(where: {id: {_eq: 2}}) { status } }')).data, { ticket: [{ status: 'closed' }] });
  assert.equal((await gql('{ __type(name: "status_enum") { name } }')).data.__type, null);
});

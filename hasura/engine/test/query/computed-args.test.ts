/**
 * Computed fields with input arguments (docs schema/postgres/computed-fields.mdx; Hasura's
 * Schema/Select.hs `computedFieldFunctionArgs`): `args: <field>_<table>_args`, required when an
 * argument has no default, defaults applied when omitted, the session argument still passed; such
 * fields are left out of filters and ordering. A SETOF computed field follows its table's select
 * permission. Upstream's cases run in the conformance suite (graphql_query/computed_fields).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp, post } from '../http/helper.ts';

const schemaSql = `
  CREATE TABLE author (id int PRIMARY KEY, name text NOT NULL);
  CREATE TABLE article (id int PRIMARY KEY, title text NOT NULL, author_id int NOT NULL REFERENCES author);
  INSERT INTO author VALUES (1, 'Ann'), (2, 'Bob');
  INSERT INTO article VALUES (1, 'Tea time', 1), (2, 'Coffee', 1), (3, 'Tea again', 2);
  CREATE FUNCTION search_articles(author_row author, search text) RETURNS SETOF article AS $$
    SELECT * FROM article WHERE author_id = author_row.id AND title ILIKE '%' || search || '%'
  $$ LANGUAGE sql STABLE;
  CREATE FUNCTION greet(author_row author, hasura_session json, greeting text DEFAULT 'hello', times int DEFAULT 1) RETURNS text AS $$
    SELECT repeat(greeting || ' ', times) || author_row.name || ' from ' || coalesce(hasura_session ->> 'x-hasura-role', '?')
  $$ LANGUAGE sql STABLE;
`;

void test('computed fields with input arguments: selections, defaults, session, permissions', async (t) => {
  const { app } = await buildTestApp(t, { fake: false });
  const setup = await post(app, '/v1/query', {
    type: 'bulk',
    args: [
      { type: 'run_sql', args: { sql: schemaSql } },
      { type: 'track_table', args: 'author' },
      { type: 'track_table', args: 'article' },
      { type: 'add_computed_field', args: { table: 'author', name: 'articles_like', definition: { function: 'search_articles', table_argument: 'author_row' } } },
      { type: 'add_computed_field', args: { table: 'author', name: 'greeting', definition: { function: 'greet', table_argument: 'author_row', session_argument: 'hasura_session' } } },
      { type: 'create_select_permission', args: { table: 'author', role: 'user', permission: { columns: ['id'], filter: {}, computed_fields: ['greeting'] } } },
      { type: 'create_select_permission', args: { table: 'article', role: 'user', permission: { columns: ['title'], filter: { title: { _ilike: 'tea%' } } } } },
    ],
  });
  assert.equal(setup.status, 200, JSON.stringify(setup.body));
  const gql = async (query: string, headers: Record<string, string> = {}) => (await post(app, '/v1/graphql', { query }, headers)).body;

  const r = await gql(`{ author(order_by: {id: asc}) {
    id
    articles_like(args: {search: "tea"}, order_by: {id: desc}) { id title }
    greeting
    twice: greeting(args: {greeting: "hi", times: 2})
  } }`);
  assert.deepEqual(r.data.author, [
    { id: 1, articles_like: [{ id: 1, title: 'Tea time' }], greeting: 'hello Ann from admin', twice: 'hi hi Ann from admin' },
    { id: 2, articles_like: [{ id: 3, title: 'Tea again' }], greeting: 'hello Bob from admin', twice: 'hi hi Bob from admin' },
  ]);

  // Hasura gives a table computed field no `_aggregate` (Schema/Select.hs `computedFieldPG`).
  const agg = await gql('{ author { articles_like_aggregate(args: {search: "e"}) { aggregate { count } } } }');
  assert.equal(agg.errors[0].message, "field 'articles_like_aggregate' not found in type: 'author'");

  const missing = await gql('{ author { articles_like { id } } }');
  assert.deepEqual(missing.errors[0], {
    extensions: { path: '$.selectionSet.author.selectionSet.articles_like.args', code: 'validation-failed' },
    message: 'missing required field \'args\'',
  });

  const types = await gql(`{
    a: __type(name: "articles_like_author_args") { inputFields { name type { kind name ofType { name } } } }
    g: __type(name: "greeting_author_args") { inputFields { name type { kind name } } }
    b: __type(name: "author_bool_exp") { inputFields { name } }
    o: __type(name: "author_order_by") { inputFields { name } }
  }`);
  assert.deepEqual(types.data.a.inputFields, [{ name: 'search', type: { kind: 'SCALAR', name: 'String', ofType: null } }]);
  assert.deepEqual(types.data.g.inputFields.map((f: { name: string }) => f.name), ['greeting', 'times']);
  // Fields with input arguments cannot filter or order.
  assert.ok(!types.data.b.inputFields.some((f: { name: string }) => f.name === 'articles_like' || f.name === 'greeting'));
  assert.ok(!types.data.o.inputFields.some((f: { name: string }) => f.name === 'articles_like' || f.name === 'greeting'));

  // The SETOF field follows article's permission (not listed in author's computed_fields); the
  // scalar one needs listing, and receives the caller's session.
  const user = await gql('{ author(order_by: {id: asc}) { id greeting(args: {times: 0}) articles_like(args: {search: ""}) { title } } }', { 'x-hasura-role': 'user' });
  assert.deepEqual(user.data.author, [
    { id: 1, greeting: 'Ann from user', articles_like: [{ title: 'Tea time' }] },
    { id: 2, greeting: 'Bob from user', articles_like: [{ title: 'Tea again' }] },
  ]);
});

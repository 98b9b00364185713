/**
 * Computed fields everywhere Hasura has them (docs schema/postgres/computed-fields.mdx), on a real
 * database: scalar fields in selections, `where`, `order_by`, aggregates (Hasura's
 * `supportsAggregateComputedFields` for Postgres: numeric ones under sum/avg/…, comparable ones
 * under max/min, with their input arguments — upstream api-tests Test/Schema/ComputedFields/
 * AggregationSpec.hs) and permissions (listed in `computed_fields`, used in a filter);
 * table-returning ones — SETOF and a single row, both a list of the table's rows
 * (pg_function_metadata.sql `returns_table`, Schema/Select.hs `computedFieldPG` `CFRSetofTable`)
 * — in selections with the table's arguments, and in `where` like an array relationship; the
 * session argument. Input arguments are covered in computed-args.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp, post } from '../http/helper.ts';

const schemaSql = `
  CREATE TABLE author (id int PRIMARY KEY, first_name text NOT NULL, last_name text);
  CREATE TABLE article (id int PRIMARY KEY, title text NOT NULL, author_id int NOT NULL REFERENCES author, words int NOT NULL);
  INSERT INTO author VALUES (1, 'Ann', 'Lee'), (2, 'Bob', NULL), (3, 'Cy', 'Zed');
  INSERT INTO article VALUES (1, 'Tea time', 1, 100), (2, 'Coffee', 1, 300), (3, 'Tea again', 2, 200);
  CREATE FUNCTION full_name(author) RETURNS text AS $$
    SELECT $1.first_name || coalesce(' ' || $1.last_name, '')
  $$ LANGUAGE sql STABLE;
  CREATE FUNCTION article_count(author_row author) RETURNS bigint AS $$
    SELECT count(*) FROM article WHERE author_id = author_row.id
  $$ LANGUAGE sql STABLE;
  CREATE FUNCTION words_plus(author_row author, plus int) RETURNS bigint AS $$
    SELECT coalesce(sum(words), 0) + plus FROM article WHERE author_id = author_row.id
  $$ LANGUAGE sql STABLE;
  CREATE FUNCTION long_articles(author_row author) RETURNS SETOF article AS $$
    SELECT * FROM article WHERE author_id = author_row.id AND words >= 200
  $$ LANGUAGE sql STABLE;
  CREATE FUNCTION latest_article(author_row author) RETURNS article AS $$
    SELECT * FROM article WHERE author_id = author_row.id ORDER BY id DESC LIMIT 1
  $$ LANGUAGE sql STABLE;
  CREATE FUNCTION is_me(author_row author, hasura_session json) RETURNS boolean AS $$
    SELECT author_row.id::text = hasura_session ->> 'x-hasura-user-id'
  $$ LANGUAGE sql STABLE;
`;

const cf = (name: string, fn: string, extra: Record<string, unknown> = {}) =>
  ({ type: 'add_computed_field', args: { table: 'author', name, definition: { function: fn, ...extra } } });

void test('computed fields: scalar, SETOF and single-row table, session argument — selections, where, order_by, aggregates, permissions', async (t) => {
  const { app } = await buildTestApp(t, { fake: false });
  const setup = await post(app, '/v1/query', {
    type: 'bulk',
    args: [
      { type: 'run_sql', args: { sql: schemaSql } },
      { type: 'track_table', args: 'author' },
      { type: 'track_table', args: 'article' },
      cf('full_name', 'full_name'),
      cf('article_count', 'article_count'),
      cf('words_plus', 'words_plus'),
      cf('long_articles', 'long_articles'),
      cf('latest_article', 'latest_article'),
      cf('is_me', 'is_me', { session_argument: 'hasura_session' }),
      {
        type: 'create_select_permission',
        args: {
          table: 'author', role: 'user',
          permission: { columns: ['id'], computed_fields: ['full_name', 'article_count', 'is_me'], filter: { article_count: { _gt: 0 } }, allow_aggregations: true },
        },
      },
      { type: 'create_select_permission', args: { table: 'article', role: 'user', permission: { columns: ['id', 'title'], filter: { words: { _lt: 300 } } } } },
    ],
  });
  assert.equal(setup.status, 200, JSON.stringify(setup.body));
  const gql = async (query: string, headers: Record<string, string> = {}) => {
    const r = await post(app, '/v1/graphql', { query }, headers);
    assert.equal(r.status, 200);
    return r.body as { data?: Record<string, unknown>; errors?: Array<{ message: string }> };
  };
  const data = async (query: string, headers: Record<string, string> = {}) => {
    const r = await gql(query, headers);
    assert.equal(r.errors, undefined, JSON.stringify(r.errors));
    return r.data!;
  };

  // Selections: scalar, SETOF with the table's arguments, single row as a list.
  assert.deepEqual((await data(`{ author(order_by: {id: asc}) {
    id full_name article_count
    long_articles(order_by: {words: desc}, limit: 1) { id }
    latest_article { id title }
  } }`)).author, [
    { id: 1, full_name: 'Ann Lee', article_count: '2', long_articles: [{ id: 2 }], latest_article: [{ id: 2, title: 'Coffee' }] },
    { id: 2, full_name: 'Bob', article_count: '1', long_articles: [{ id: 3 }], latest_article: [{ id: 3, title: 'Tea again' }] },
    // The function is the FROM item (Hasura's SQL): a single-row function finding no row returns
    // a null composite, which PostgreSQL yields as one row of nulls.
    { id: 3, full_name: 'Cy Zed', article_count: '0', long_articles: [], latest_article: [{ id: null, title: null }] },
  ]);

  // where: a scalar field compares like a column; a table one filters like an array relationship.
  assert.deepEqual((await data('{ author(where: {full_name: {_ilike: "%lee"}}) { id } }')).author, [{ id: 1 }]);
  assert.deepEqual((await data('{ author(where: {article_count: {_eq: "1"}}) { id } }')).author, [{ id: 2 }]);
  assert.deepEqual((await data('{ author(where: {long_articles: {words: {_gt: 250}}}) { id } }')).author, [{ id: 1 }]);
  assert.deepEqual((await data('{ author(where: {latest_article: {title: {_like: "Tea%"}}}) { id } }')).author, [{ id: 2 }]);

  // order_by a scalar field.
  assert.deepEqual((await data('{ author(order_by: [{article_count: desc}, {id: asc}]) { id } }')).author, [{ id: 1 }, { id: 2 }, { id: 3 }]);
  assert.deepEqual((await data('{ author(order_by: {full_name: desc}) { id } }')).author, [{ id: 3 }, { id: 2 }, { id: 1 }]);

  // Aggregates: numeric fields under avg/sum, comparable ones under max/min, input arguments given.
  assert.deepEqual((await data(`{ author_aggregate { aggregate {
    avg { article_count id }
    sum { article_count words_plus(args: {plus: 10}) }
    max { article_count full_name }
    min { full_name }
  } } }`)).author_aggregate, {
    aggregate: {
      // A bigint's numeric result is stringified like the type, as for a bigint column.
      avg: { article_count: '1.00000000000000000000', id: 2 },
      sum: { article_count: '3', words_plus: '630' },
      max: { article_count: '2', full_name: 'Cy Zed' },
      min: { full_name: 'Ann Lee' },
    },
  });

  // The session argument receives the caller's session variables.
  const me = { 'x-hasura-role': 'user', 'x-hasura-user-id': '2' };
  assert.deepEqual((await data('{ author(order_by: {id: asc}) { id is_me } }', me)).author, [{ id: 1, is_me: false }, { id: 2, is_me: true }]);

  // Permissions: the filter uses a computed field (Cy has no article); listed scalar fields only;
  // table ones follow article's own permission (words < 300).
  assert.deepEqual((await data(`{ author(order_by: {id: asc}) { id full_name long_articles { id } latest_article { id } } }`, me)).author, [
    { id: 1, full_name: 'Ann Lee', long_articles: [], latest_article: [] },
    { id: 2, full_name: 'Bob', long_articles: [{ id: 3 }], latest_article: [{ id: 3 }] },
  ]);
  const unlisted = await gql('{ author { words_plus(args: {plus: 1}) } }', me);
  assert.match(unlisted.errors?.[0]?.message ?? '', /field 'words_plus' not found in type: 'author'/);
  assert.deepEqual((await data('{ author_aggregate { aggregate { max { article_count } } } }', me)).author_aggregate, { aggregate: { max: { article_count: '2' } } });
});

/**
 * Metadata consistency as Hasura keeps it (docs api-reference/metadata-api/manage-metadata.mdx;
 * upstream tests-py/test_inconsistent_meta.py, ported): a bad object is refused with Hasura's
 * code and text, or — when the database changes underneath — reported by reload_metadata and
 * get_inconsistent_metadata, left out of the schema, and never takes the rest of the API down;
 * /healthz answers 200 "WARN: inconsistent objects in schema" meanwhile.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { buildTestApp, post } from '../http/helper.ts';

const schemaSql = `
  CREATE TABLE author (id serial PRIMARY KEY, name text NOT NULL);
  CREATE TABLE article (id serial PRIMARY KEY, title text, author_id int REFERENCES author(id), published_on date);
  INSERT INTO author (name) VALUES ('A'), ('B');
  CREATE FUNCTION same_author(author_row author) RETURNS SETOF author AS $$
    SELECT * FROM author WHERE id = author_row.id
  $$ LANGUAGE sql STABLE;
`;

const gql = async (app: Parameters<typeof post>[0], query: string) => (await post(app, '/v1/graphql', { query })).body as { data?: Record<string, unknown>; errors?: unknown[] };

void test('a function taking a table row, dropped objects, refusals: the API stays up and reports them', async (t) => {
  const { app, db } = await buildTestApp(t, { fake: false });
  const setup = await post(app, '/v1/query', {
    type: 'bulk',
    args: [
      { type: 'run_sql', args: { sql: schemaSql } },
      { type: 'track_table', args: 'author' },
      { type: 'track_table', args: 'article' },
      { type: 'create_array_relationship', args: { table: 'author', name: 'articles', using: { foreign_key_constraint_on: { table: 'article', column: 'author_id' } } } },
      // Used to break every query with "multiple types named author": the row argument is the
      // scalar `author_scalar` in Hasura (mkScalarTypeName, PGCompositeScalar).
      { type: 'track_function', args: { schema: 'public', name: 'same_author' } },
    ],
  });
  assert.equal(setup.status, 200, JSON.stringify(setup.body));
  assert.deepEqual(await gql(app, '{ author(order_by: {id: asc}) { name } same_author(args: {author_row: "(2,B)"}) { id name } }'), {
    data: { author: [{ name: 'A' }, { name: 'B' }], same_author: [{ id: 2, name: 'B' }] },
  });
  const argType = await gql(app, '{ __type(name: "same_author_args") { inputFields { name type { name } } } }');
  assert.deepEqual(argType.data, { __type: { inputFields: [{ name: 'author_row', type: { name: 'author_scalar' } }] } });

  // A relationship on a column without a foreign key and no manual configuration: refused.
  const noFk = await post(app, '/v1/query', { type: 'create_object_relationship', args: { table: 'article', name: 'author', using: { foreign_key_constraint_on: 'published_on' } } });
  assert.equal(noFk.status, 400);
  assert.equal(noFk.body.code, 'invalid-configuration');
  assert.equal(noFk.body.error, 'Inconsistent object: in table "article": in relationship "author": no foreign constraint exists on the given column(s)');
  assert.equal(noFk.body.internal[0].type, 'object_relation');

  // run_sql dropping a tracked function: it leaves the metadata, the schema keeps working.
  assert.equal((await post(app, '/v2/query', { type: 'run_sql', args: { sql: 'DROP FUNCTION same_author(author)' } })).status, 200);
  const exported = (await post(app, '/v1/metadata', { type: 'export_metadata', args: {} })).body as { sources: Array<{ functions?: unknown[] }> };
  assert.deepEqual(exported.sources[0]!.functions ?? [], []);
  assert.deepEqual((await gql(app, '{ author(limit: 1) { name } }')).data, { author: [{ name: 'A' }] });

  // A table dropped behind the engine's back (test_inconsistent_meta.py): reported, left out,
  // the rest served; /healthz warns; drop_inconsistent_metadata clears it.
  const c = new pg.Client({ connectionString: db.adminUrl });
  await c.connect();
  await c.query('DROP TABLE article');
  await c.end();
  const reload = await post(app, '/v1/query', { type: 'reload_metadata', args: {} });
  assert.equal(reload.body.is_consistent, false);
  assert.deepEqual(reload.body.inconsistent_objects.map((o: { name: string }) => o.name), [
    'table article in source default',
    'array_relation articles in table author in source default',
  ]);
  const listed = await post(app, '/v1/metadata', { type: 'get_inconsistent_metadata', args: {} });
  assert.equal(listed.body.is_consistent, false);
  assert.equal(listed.body.inconsistent_objects.length, 2);
  const health = await app.inject({ method: 'GET', url: '/healthz' });
  assert.deepEqual([health.statusCode, health.body], [200, 'WARN: inconsistent objects in schema']);
  // Readiness reports it too, and stays ready: the consistent part is served.
  const ready = await app.inject({ method: 'GET', url: '/health/ready' });
  assert.deepEqual([ready.statusCode, JSON.parse(ready.body)], [200, { status: 'ok', checks: { database: 'ok', metadata: 'inconsistent (2 objects: see get_inconsistent_metadata)' } }]);
  assert.deepEqual((await gql(app, '{ author(limit: 1) { name } }')).data, { author: [{ name: 'A' }] });
  assert.ok((await gql(app, '{ article { id } }')).errors, 'the inconsistent table is left out of the schema');

  assert.equal((await post(app, '/v1/query', { type: 'drop_inconsistent_metadata', args: {} })).status, 200);
  assert.equal((await post(app, '/v1/query', { type: 'reload_metadata', args: {} })).body.is_consistent, true);
  const ok = await app.inject({ method: 'GET', url: '/healthz' });
  assert.deepEqual([ok.statusCode, ok.body], [200, 'OK']);
  assert.equal(JSON.parse((await app.inject({ method: 'GET', url: '/health/ready' })).body).checks.metadata, 'consistent');
});

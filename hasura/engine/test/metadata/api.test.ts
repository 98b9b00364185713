/**
 * The metadata APIs (docs/research/hasura-v2.md §C.2): track/untrack, relationships, permissions, export/replace
 * round trips, persistence in hdb_catalog.hdb_metadata, and run_sql DDL reconciliation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { buildTestApp, post } from '../http/helper.ts';
import { buildApp } from '../../src/app.ts';
import { loadEngineConfig } from '../../src/config.ts';
import type { Metadata } from '../../src/contract.ts';

const schemaSql = `
  CREATE TABLE author (id serial PRIMARY KEY, name text NOT NULL, bio text);
  CREATE TABLE article (id serial PRIMARY KEY, title text, author_id int REFERENCES author(id));
`;

const setup = {
  type: 'bulk',
  args: [
    { type: 'run_sql', args: { sql: schemaSql } },
    { type: 'track_table', args: { schema: 'public', name: 'author' } },
    { type: 'track_table', args: 'article' },
    { type: 'create_object_relationship', args: { table: 'article', name: 'author', using: { foreign_key_constraint_on: 'author_id' } } },
    {
      type: 'create_array_relationship',
      args: { table: 'author', name: 'articles', using: { foreign_key_constraint_on: { table: 'article', column: 'author_id' } } },
    },
    { type: 'create_select_permission', args: { table: 'author', role: 'user', permission: { columns: ['id', 'name', 'bio'], filter: { id: 'X-Hasura-User-Id' } } } },
    { type: 'insert', args: { table: 'author', objects: [{ name: 'A' }, { name: 'B', bio: 'b' }] } },
  ],
};

const tablesOf = (m: Metadata) => m.sources[0]!.tables.map((t) => t.table.name);

void test('track, relationships, permissions; export → replace → export is stable; persisted', async (t) => {
  const { app, db, fake } = await buildTestApp(t);
  const res = await post(app, '/v1/query', setup);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.deepEqual(res.body.at(-1), { affected_rows: 2 });
  assert.deepEqual(res.body[1], { message: 'success' });

  // RQL over relationships (used to answer 500 "name.replace is not a function"): object and
  // array relationship columns, a where through a relationship, an alias, count distinct.
  await post(app, '/v1/query', { type: 'insert', args: { table: 'article', objects: [{ title: 'x', author_id: 1 }, { title: 'y', author_id: 1 }, { title: 'z', author_id: 2 }] } });
  const nested = await post(app, '/v1/query', {
    type: 'select',
    args: {
      table: 'author', columns: ['name', { name: 'articles', alias: 'posts', columns: ['title'], where: { title: { $ne: 'y' } }, order_by: ['-title'] }],
      where: { articles: { title: 'x' } }, order_by: 'id',
    },
  });
  assert.equal(nested.status, 200, JSON.stringify(nested.body));
  assert.deepEqual(nested.body, [{ name: 'A', posts: [{ title: 'x' }] }]);
  const withAuthor = await post(app, '/v1/query', { type: 'select', args: { table: 'article', columns: ['title', { name: 'author', columns: ['*'] }], where: { author: { name: 'B' } } } });
  assert.deepEqual(withAuthor.body, [{ title: 'z', author: { id: 2, name: 'B', bio: 'b' } }]);
  assert.deepEqual((await post(app, '/v1/query', { type: 'count', args: { table: 'article', distinct: ['author_id'] } })).body, { count: 2 });
  const noCol = await post(app, '/v1/query', { type: 'count', args: { table: 'article', distinct: ['nope'] } });
  assert.deepEqual([noCol.status, noCol.body], [400, { path: '$.args.distinct[0]', error: 'no such column exists: "nope"', code: 'permission-denied' }]);
  const noRel = await post(app, '/v1/query', { type: 'select', args: { table: 'article', columns: [{ name: 'nope', columns: ['*'] }] } });
  assert.equal(noRel.status, 400);
  await post(app, '/v1/query', { type: 'delete', args: { table: 'article', where: {} } });

  const exported = (await post(app, '/v1/metadata', { type: 'export_metadata', args: {} })).body as Metadata;
  assert.deepEqual(tablesOf(exported), ['article', 'author']);
  const author = exported.sources[0]!.tables.find((x) => x.table.name === 'author')!;
  assert.deepEqual(author.array_relationships?.[0]?.name, 'articles');
  assert.equal(author.select_permissions?.[0]?.role, 'user');
  assert.deepEqual(fake!.reloads.at(-1), exported, 'the engine got the new metadata');

  // Errors as Hasura words them.
  const again = await post(app, '/v1/metadata', { type: 'pg_track_table', args: { table: 'author' } });
  assert.deepEqual([again.status, again.body.code], [400, 'already-tracked']);
  const missing = await post(app, '/v1/metadata', { type: 'pg_track_table', args: { table: 'nope' } });
  assert.deepEqual([missing.status, missing.body.code], [400, 'invalid-configuration']);
  assert.match(missing.body.error, /no such table\/view exists in source: "nope"/);
  const dupPerm = await post(app, '/v1/query', { type: 'create_select_permission', args: { table: 'author', role: 'user', permission: { columns: '*', filter: {} } } });
  assert.deepEqual([dupPerm.status, dupPerm.body.code], [400, 'already-exists']);
  const badCol = await post(app, '/v1/metadata', { type: 'pg_create_select_permission', args: { table: 'article', role: 'user', permission: { columns: ['nope'], filter: {} } } });
  assert.deepEqual([badCol.status, badCol.body.code], [400, 'invalid-configuration']);
  const dependent = await post(app, '/v1/metadata', { type: 'pg_untrack_table', args: { table: 'article' } });
  assert.deepEqual([dependent.status, dependent.body.code], [400, 'dependency-error']);

  // A failing bulk changes nothing.
  const failing = await post(app, '/v1/metadata', {
    type: 'bulk',
    args: [{ type: 'pg_drop_select_permission', args: { table: 'author', role: 'user' } }, { type: 'pg_track_table', args: { table: 'author' } }],
  });
  assert.equal(failing.status, 400);
  assert.deepEqual((await post(app, '/v1/metadata', { type: 'export_metadata', args: {} })).body, exported);

  // replace with the export: same metadata; v2 export carries the resource version.
  assert.deepEqual((await post(app, '/v1/metadata', { type: 'replace_metadata', args: exported })).body, { message: 'success' });
  const v2 = (await post(app, '/v1/metadata', { type: 'export_metadata', version: 2, args: {} })).body;
  assert.deepEqual(v2.metadata, exported);
  assert.equal(typeof v2.resource_version, 'number');
  const stale = await post(app, '/v1/metadata', { type: 'replace_metadata', version: 2, resource_version: v2.resource_version - 1, args: { metadata: exported } });
  assert.equal(stale.status, 409);

  // Drop relationship and permission, untrack.
  for (const cmd of [
    { type: 'pg_drop_relationship', args: { table: 'author', relationship: 'articles' } },
    { type: 'pg_drop_select_permission', args: { table: 'author', role: 'user' } },
    { type: 'pg_untrack_table', args: { table: { schema: 'public', name: 'article' } } },
  ]) {
    assert.equal((await post(app, '/v1/metadata', cmd)).status, 200, cmd.type);
  }
  const after = (await post(app, '/v1/metadata', { type: 'export_metadata', args: {} })).body as Metadata;
  assert.deepEqual(tablesOf(after), ['author']);

  // A second engine on the same database finds the metadata in hdb_catalog.hdb_metadata.
  const app2 = await buildApp(loadEngineConfig({ HASURA_GRAPHQL_DATABASE_URL: db.adminUrl, LOG_LEVEL: 'silent' }), { createEngine: async () => fake! });
  t.after(() => app2.close());
  assert.deepEqual((await post(app2, '/v1/metadata', { type: 'export_metadata', args: {} })).body, after);

  assert.deepEqual((await post(app, '/v1/metadata', { type: 'clear_metadata', args: {} })).body, { message: 'success' });
  assert.deepEqual(tablesOf((await post(app, '/v1/metadata', { type: 'export_metadata', args: {} })).body), []);
});

void test('run_sql DDL reconciles metadata: drops, renames, dependents, cascade', async (t) => {
  const { app, db, fake } = await buildTestApp(t);
  assert.equal((await post(app, '/v1/query', setup)).status, 200);
  const q = (sql: string, cascade = false) => post(app, '/v2/query', { type: 'run_sql', args: { sql, cascade } });
  const md = async () => (await post(app, '/v1/metadata', { type: 'export_metadata', args: {} })).body as Metadata;
  const authorMd = async () => (await md()).sources[0]!.tables.find((x) => x.table.name === 'author')!;

  // Renamed column: the permission follows.
  assert.equal((await q('ALTER TABLE author RENAME COLUMN bio TO about')).status, 200);
  assert.deepEqual((await authorMd()).select_permissions![0]!.permission.columns, ['id', 'name', 'about']);

  // A dropped column a permission uses: dependency-error, nothing applied.
  const dep = await q('ALTER TABLE author DROP COLUMN about');
  assert.deepEqual([dep.status, dep.body.code], [400, 'dependency-error']);
  assert.match(dep.body.error, /permission author\.user\.select/);
  const c = new pg.Client({ connectionString: db.adminUrl });
  c.on('error', () => undefined);
  await c.connect();
  assert.equal((await c.query(`SELECT 1 FROM information_schema.columns WHERE table_name = 'author' AND column_name = 'about'`)).rowCount, 1);
  // …and with cascade the permission goes.
  assert.equal((await q('ALTER TABLE author DROP COLUMN about', true)).status, 200);
  assert.equal((await authorMd()).select_permissions, undefined);

  // A dropped table another relationship points at: refused without cascade.
  const dropArticle = await q('DROP TABLE article');
  assert.deepEqual([dropArticle.status, dropArticle.body.code], [400, 'dependency-error']);
  assert.equal((await q('DROP TABLE article', true)).status, 200);
  const m = await md();
  assert.deepEqual(tablesOf(m), ['author']);
  assert.equal(m.sources[0]!.tables[0]!.array_relationships, undefined);

  // Renamed table: followed.
  assert.equal((await q('ALTER TABLE author RENAME TO writer')).status, 200);
  assert.deepEqual(tablesOf(await md()), ['writer']);
  assert.deepEqual(fake!.reloads.at(-1)!.sources[0]!.tables.map((x) => x.table.name), ['writer']);

  // Dropped behind the engine's back: reported as inconsistent, kept in metadata, left out of the engine.
  await c.query('DROP TABLE writer');
  await c.end();
  const reload = await post(app, '/v1/metadata', { type: 'reload_metadata', args: {} });
  assert.equal(reload.body.is_consistent, false);
  assert.equal(reload.body.inconsistent_objects[0].type, 'table');
  assert.equal(reload.body.inconsistent_objects[0].reason, 'Inconsistent object: no such table/view exists in source: "writer"');
  assert.deepEqual(tablesOf(await md()), ['writer']);
  assert.deepEqual(fake!.reloads.at(-1)!.sources[0]!.tables, []);
  const health = await app.inject({ method: 'GET', url: '/healthz' });
  assert.equal(health.body, 'WARN: inconsistent objects in schema');
  const inc = await post(app, '/v1/metadata', { type: 'get_inconsistent_metadata', args: {} });
  assert.equal(inc.body.is_consistent, false);
  assert.equal((await post(app, '/v1/metadata', { type: 'drop_inconsistent_metadata', args: {} })).status, 200);
  assert.deepEqual(tablesOf(await md()), []);
  assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).body, 'OK');
});

void test('RQL data queries: insert keeps defaults per row, select, count, update, delete', async (t) => {
  const { app } = await buildTestApp(t);
  await post(app, '/v2/query', { type: 'run_sql', args: { sql: "CREATE TABLE t (id serial PRIMARY KEY, name text, tag text DEFAULT 'd')" } });
  // Hasura resolves RQL against its schema cache: an untracked table does not exist for it.
  for (const type of ['select', 'count', 'insert', 'update', 'delete']) {
    const refused = await post(app, '/v1/query', { type, args: { table: 't', columns: ['*'], objects: [{}], where: {}, $set: { name: 'x' } } });
    assert.equal(refused.status, 400, type);
    assert.deepEqual(refused.body, { path: '$.args.table', error: 'table "t" does not exist', code: 'not-exists' });
  }
  assert.equal((await post(app, '/v1/query', { type: 'track_table', args: { table: 't' } })).status, 200);
  const ins = await post(app, '/v1/query', { type: 'insert', args: { table: 't', objects: [{ name: 'a', tag: 'x' }, { name: 'b' }], returning: ['id', 'tag'] } });
  assert.deepEqual(ins.body, { affected_rows: 2, returning: [{ id: 1, tag: 'x' }, { id: 2, tag: 'd' }] });
  const sel = await post(app, '/v1/query', { type: 'select', args: { table: 't', columns: ['name'], where: { id: { $gt: 1 } } } });
  assert.deepEqual(sel.body, [{ name: 'b' }]);
  assert.deepEqual((await post(app, '/v1/query', { type: 'count', args: { table: 't', where: {} } })).body, { count: 2 });
  assert.deepEqual((await post(app, '/v1/query', { type: 'update', args: { table: 't', where: { id: 1 }, $set: { name: 'z' } } })).body, { affected_rows: 1 });
  assert.deepEqual((await post(app, '/v1/query', { type: 'delete', args: { table: 't', where: { name: { $eq: 'z' } } } })).body, { affected_rows: 1 });
  const dup = await post(app, '/v1/query', { type: 'insert', args: { table: 't', objects: [{ id: 2 }] } });
  assert.deepEqual([dup.status, dup.body.code], [400, 'constraint-violation']);
});

void test('RQL update/delete: $inc, $mul, $default, relationship where, returning; refusals are 400s', async (t) => {
  const { app } = await buildTestApp(t);
  const sqlText = "CREATE TABLE acc (id serial PRIMARY KEY, n numeric NOT NULL DEFAULT 0, k int DEFAULT 7, owner int); CREATE TABLE own (id int PRIMARY KEY, name text)";
  const ok = await post(app, '/v1/query', {
    type: 'bulk',
    args: [
      { type: 'run_sql', args: { sql: sqlText } },
      { type: 'track_table', args: { table: 'acc' } },
      { type: 'track_table', args: { table: 'own' } },
      { type: 'create_object_relationship', args: { table: 'acc', name: 'o', using: { manual_configuration: { remote_table: 'own', column_mapping: { owner: 'id' } } } } },
      { type: 'insert', args: { table: 'own', objects: [{ id: 1, name: 'x' }, { id: 2, name: 'y' }] } },
      { type: 'insert', args: { table: 'acc', objects: [{ n: '1.5', k: 1, owner: 1 }, { n: 2, owner: 2 }] } },
    ],
  });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  const upd = await post(app, '/v1/query', {
    type: 'update',
    args: { table: 'acc', where: { o: { name: { $eq: 'x' } } }, $inc: { n: 1 }, $mul: { k: 3 }, returning: ['id', 'n', 'k'] },
  });
  // numeric comes back as a string (--stringify-numeric-types), like select.
  assert.deepEqual(upd.body, { affected_rows: 1, returning: [{ id: 1, n: '2.5', k: 3 }] });
  const def = await post(app, '/v1/query', { type: 'update', args: { table: 'acc', where: { id: 2 }, $default: ['k'], returning: ['k'] } });
  assert.deepEqual(def.body, { affected_rows: 1, returning: [{ k: 7 }] });
  const empty = await post(app, '/v1/query', { type: 'update', args: { table: 'acc', where: {} } });
  assert.deepEqual([empty.status, empty.body.code], [400, 'unexpected-payload']);
  const unknown = await post(app, '/v1/query', { type: 'update', args: { table: 'acc', where: {}, $set: { nope: 1 } } });
  // Aeson writes a key that is not an identifier as ["key"] (upstream v1/update/permissions/user_cannot_update_id_col_article.yaml).
  assert.deepEqual([unknown.status, unknown.body], [400, { path: '$.args["$set"]', error: 'column "nope" does not exist', code: 'not-exists' }]);
  const badWhere = await post(app, '/v1/query', { type: 'delete', args: { table: 'acc', where: { nope: { $eq: 1 } } } });
  assert.deepEqual([badWhere.status, badWhere.body.code, badWhere.body.path], [400, 'validation-failed', '$.args']);
  const del = await post(app, '/v1/query', { type: 'delete', args: { table: 'acc', where: { o: { id: { $in: [2] } } }, returning: ['*'] } });
  assert.deepEqual(del.body, { affected_rows: 1, returning: [{ id: 2, n: '2', k: 7, owner: 2 }] });
  const evil = await post(app, '/v1/query', { type: 'insert', args: { table: 'own', objects: [{ id: 3, name: "'); DROP TABLE own; --" }], returning: ['name'] } });
  assert.deepEqual(evil.body, { affected_rows: 1, returning: [{ name: "'); DROP TABLE own; --" }] });
});

void test('the project metadata boots on the migrated links schema as links_admin (real engine)', async (t) => {
  const { app, db } = await buildTestApp(t, {
    fake: false,
    migrated: true,
    role: 'links_admin',
    env: { HASURA_GRAPHQL_METADATA_DIR: new URL('../../../metadata', import.meta.url).pathname },
  });
  const uid = '00000000-0000-4000-8000-000000000001';
  const user = await post(app, '/v1/graphql', { query: '{ links_links { id code } links_tags { name } }' }, { 'x-hasura-role': 'user', 'x-hasura-user-id': uid });
  assert.deepEqual(user.body, { data: { links_links: [], links_tags: [] } });
  const agg = await post(app, '/v1/graphql', { query: '{ links_daily_stats_aggregate { aggregate { count } } }' }, { 'x-hasura-role': 'user_readonly', 'x-hasura-user-id': uid });
  assert.deepEqual(agg.body, { data: { links_daily_stats_aggregate: { aggregate: { count: 0 } } } });
  const anon = await post(app, '/v1/graphql', { query: '{ links_links { id } }' }, { 'x-hasura-role': 'anonymous' });
  assert.equal(anon.body.errors[0].extensions.code, 'validation-failed');
  const pw = await post(app, '/v1/graphql', { query: '{ links_links { password } }' }, { 'x-hasura-role': 'user', 'x-hasura-user-id': uid });
  assert.equal(pw.body.errors[0].message, "field 'password' not found in type: 'links_links'");
  // links_admin keeps the metadata in the database (hdb_catalog is its to write), not in memory.
  const c = new pg.Client({ connectionString: db.adminUrl });
  await c.connect();
  try {
    const { rows } = await c.query<{ owner: string }>("SELECT tableowner AS owner FROM pg_tables WHERE schemaname = 'hdb_catalog' AND tablename = 'hdb_metadata'");
    assert.deepEqual(rows, [{ owner: 'links_admin' }]);
  } finally {
    await c.end();
  }
});

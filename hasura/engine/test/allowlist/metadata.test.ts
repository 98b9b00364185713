/**
 * Upstream's `TestAllowlistMetadata` Python bodies (server/tests-py/test_allowlist_queries.py):
 * add → update scope → drop with the exported allowlist after each step, argument validation,
 * re-adding, missing entries; plus role-scoped entries enforced only in EE mode
 * (ENGINE_ALLOWLIST_MODE=full), as Hasura CE ignores them (App.hs AllowlistModeGlobalOnly).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { buildTestApp, post } from '../http/helper.ts';

const SETUP = {
  type: 'bulk',
  args: [
    { type: 'run_sql', args: { sql: 'CREATE TABLE author (id serial PRIMARY KEY, first_name text NOT NULL, last_name text); INSERT INTO author (first_name, last_name) VALUES (\'George\', \'Martin\');' } },
    { type: 'track_table', args: { schema: 'public', name: 'author' } },
    ...['user', 'editor', 'guest'].map((role) => ({ type: 'create_select_permission', args: { table: 'author', role, permission: { filter: {}, columns: '*' } } })),
    { type: 'create_query_collection', args: { name: 'collection_1', definition: { queries: [{ name: 'query_1', query: 'query { author { first_name last_name } }' }] } } },
    { type: 'create_query_collection', args: { name: 'collection_2', definition: { queries: [{ name: 'query_3', query: 'query { author { id } }' }] } } },
  ],
};

async function app(t: import('node:test').TestContext, mode?: 'full'): Promise<FastifyInstance> {
  const { app } = await buildTestApp(t, { fake: false, env: { HASURA_GRAPHQL_ENABLE_ALLOWLIST: 'true', ...(mode ? { ENGINE_ALLOWLIST_MODE: mode } : {}) } });
  const r = await post(app, '/v1/query', SETUP);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return app;
}

const meta = (a: FastifyInstance, type: string, args: unknown) => post(a, '/v1/metadata', { type, args });
const exported = async (a: FastifyInstance) => (await meta(a, 'export_metadata', {})).body.allowlist;

void test('add, update scope, drop: the exported allowlist after each step', async (t) => {
  const a = await app(t);
  assert.equal(await exported(a), undefined);
  assert.equal((await meta(a, 'add_collection_to_allowlist', { collection: 'collection_1', scope: { global: true } })).status, 200);
  await meta(a, 'add_collection_to_allowlist', { collection: 'collection_2', scope: { global: false, roles: ['foo', 'bar'] } });
  assert.deepEqual(await exported(a), [{ collection: 'collection_1', scope: { global: true } }, { collection: 'collection_2', scope: { global: false, roles: ['foo', 'bar'] } }]);
  await meta(a, 'update_scope_of_collection_in_allowlist', { collection: 'collection_1', scope: { global: false, roles: ['baz'] } });
  await meta(a, 'update_scope_of_collection_in_allowlist', { collection: 'collection_2', scope: { global: true } });
  assert.deepEqual(await exported(a), [{ collection: 'collection_1', scope: { global: false, roles: ['baz'] } }, { collection: 'collection_2', scope: { global: true } }]);
  await meta(a, 'drop_collection_from_allowlist', { collection: 'collection_1' });
  assert.deepEqual(await exported(a), [{ collection: 'collection_2', scope: { global: true } }]);
  await meta(a, 'drop_collection_from_allowlist', { collection: 'collection_2' });
  assert.equal(await exported(a), undefined);
});

void test('argument validation, as upstream test_add/update/drop_validation', async (t) => {
  const a = await app(t);
  const fails = async (type: string, args: unknown, body: unknown) => {
    const r = await meta(a, type, args);
    assert.equal(r.status, 400, `${type} ${JSON.stringify(args)}`);
    assert.deepEqual(r.body, body);
  };
  await fails('add_collection_to_allowlist', { scope: { global: true } }, { path: '$.args', error: 'key "collection" not found', code: 'parse-failed' });
  await fails('add_collection_to_allowlist', { collection: 'collection_1', scope: { global: false } }, { path: '$.args.scope', error: 'key "roles" not found', code: 'parse-failed' });
  await fails('add_collection_to_allowlist', { collection: 'collection_1', scope: { global: false, roles: [] } }, { path: '$.args.scope.roles', error: 'parsing NonEmpty failed, unexpected empty list', code: 'parse-failed' });
  await fails('add_collection_to_allowlist', { collection: 'collection_1', scope: { global: true, roles: ['foo', 'bar'] } }, { path: '$.args.scope', error: 'roles are not allowed when global is true', code: 'parse-failed' });
  await fails('add_collection_to_allowlist', { collection: 'collection_1', scope: {} }, { path: '$.args.scope', error: 'key "global" not found', code: 'parse-failed' });
  await fails('update_scope_of_collection_in_allowlist', { scope: { global: true } }, { path: '$.args', error: 'key "collection" not found', code: 'parse-failed' });
  await fails('update_scope_of_collection_in_allowlist', { collection: 'collection_1' }, { path: '$.args', error: 'key "scope" not found', code: 'parse-failed' });
  await fails('drop_collection_from_allowlist', {}, { path: '$.args', error: 'parsing Hasura.RQL.Types.Allowlist.DropCollectionFromAllowlist(DropCollectionFromAllowlist) failed, key "collection" not found', code: 'parse-failed' });
  await fails('drop_collection_from_allowlist', { collection: 'collection_1' }, { path: '$.args', error: 'collection "collection_1" doesn\'t exist in the allowlist', code: 'not-found' });
  await fails('update_scope_of_collection_in_allowlist', { collection: 'collection_1', scope: { global: true } }, { path: '$.args', error: 'collection "collection_1" doesn\'t exist in the allowlist', code: 'not-found' });
  // A collection on the allow-list is dropped only with cascade.
  await meta(a, 'add_collection_to_allowlist', { collection: 'collection_1' });
  await fails('drop_query_collection', { collection: 'collection_1' }, {
    path: '$.args.collection', code: 'dependency-error',
    error: 'query collection with name "collection_1" is present in the allowlist; cannot proceed to drop. please use cascade to confirm you wish to drop it from the allowlist as well',
  });
  assert.equal((await meta(a, 'drop_query_collection', { collection: 'collection_1', cascade: true })).status, 200);
  assert.equal(await exported(a), undefined);
});

void test('re-adding answers a notice and keeps the scope; the scope defaults to global', async (t) => {
  const a = await app(t);
  await meta(a, 'add_collection_to_allowlist', { collection: 'collection_1' });
  assert.deepEqual(await exported(a), [{ collection: 'collection_1', scope: { global: true } }]);
  const again = await meta(a, 'add_collection_to_allowlist', { collection: 'collection_1', scope: { global: false, roles: ['foo'] } });
  assert.deepEqual(again.body, { message: 'collection "collection_1" already exists in the allowlist, scope ignored; to change scope, use update_scope_of_collection_in_allowlist' });
  assert.deepEqual(await exported(a), [{ collection: 'collection_1', scope: { global: true } }]);
});

void test('role-scoped entries: ignored in CE mode, honoured for their roles in EE mode', async (t) => {
  const q = { query: 'query { author { id } }' };
  for (const mode of [undefined, 'full'] as const) {
    const a = await app(t, mode);
    await meta(a, 'add_collection_to_allowlist', { collection: 'collection_2', scope: { global: false, roles: ['editor'] } });
    const editor = await post(a, '/v1/graphql', q, { 'x-hasura-role': 'editor' });
    const guest = await post(a, '/v1/graphql', q, { 'x-hasura-role': 'guest' });
    assert.equal(guest.body.errors?.[0]?.message, 'query is not allowed', `guest, mode ${mode ?? 'global'}`);
    if (mode === 'full') assert.deepEqual(editor.body, { data: { author: [{ id: 1 }] } });
    else assert.equal(editor.body.errors?.[0]?.message, 'query is not allowed');
  }
});

void test('replace_metadata refuses two allow-list entries for one collection (upstream test_replace_validation)', async (t) => {
  const a = await app(t);
  const base = (await meta(a, 'export_metadata', {})).body;
  const r = await post(a, '/v1/metadata', { type: 'replace_metadata', version: 2, args: { metadata: { ...base, allowlist: [{ collection: 'collection_1' }, { collection: 'collection_1', scope: { global: true } }] } } });
  assert.equal(r.status, 400, JSON.stringify(r.body));
  assert.deepEqual(r.body, { path: '$.args.metadata', error: 'multiple declarations exist for the following allowlist entries: collection_1', code: 'parse-failed' });
});

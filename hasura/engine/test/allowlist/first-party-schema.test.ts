/**
 * The committed `linkport_first_party` collection (hasura/metadata/query_collections.yaml) must fit
 * the schema the project's metadata builds: the engine checks every collection query against the
 * admin schema at each metadata change as Hasura does (src/allowlist/validate.ts), and each
 * first-party operation must also pass full GraphQL validation for the role its clients send it
 * as (`user`), or production with the allow-list on would answer it with an error. A change that
 * breaks one (a column dropped, a table untracked) is refused with Hasura's error.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { buildClientSchema, extendSchema, getIntrospectionQuery, parse, validate, type IntrospectionQuery } from 'graphql';
import { loadMetadataDir } from '../../src/metadata/files.ts';
import { collectionsOf } from '../../src/allowlist/allowlist.ts';
import { buildTestApp, post } from '../http/helper.ts';
import { USERS } from '../query/fixtures.ts';

const METADATA = path.resolve(import.meta.dirname, '../../../metadata');

/** The real engine on a migrated database with the project's metadata, as links_admin. */
const projectApp = (t: TestContext) => buildTestApp(t, {
  fake: false, migrated: true, role: 'links_admin',
  env: { HASURA_GRAPHQL_METADATA_DIR: METADATA, HASURA_GRAPHQL_ENABLE_CONSOLE: 'false' },
});

void test('every first-party collection query fits the project schema: consistent for the engine, valid for role user', async (t) => {
  const { app } = await projectApp(t);
  const incons = await post(app, '/v1/metadata', { type: 'get_inconsistent_metadata', args: {} });
  assert.equal(incons.status, 200);
  const collectionObjects = (incons.body.inconsistent_objects as Array<{ type: string; reason: string }>).filter((o) => o.type === 'query_collections');
  assert.deepEqual(collectionObjects.map((o) => o.reason), [], 'first-party queries the engine reports inconsistent');

  const asUser = { 'x-hasura-role': 'user', 'x-hasura-user-id': USERS.alice };
  const intro = await post(app, '/v1/graphql', { query: getIntrospectionQuery() }, asUser);
  assert.equal(intro.body.errors, undefined, JSON.stringify(intro.body.errors));
  // @cached is Hasura's executable directive (docs/docs/caching/caching-config.mdx), applied by the
  // engine before validation (src/cache) rather than listed in the schema.
  const userSchema = extendSchema(buildClientSchema(intro.body.data as IntrospectionQuery), parse('directive @cached(ttl: Int, refresh: Boolean) on QUERY'));
  const queries = collectionsOf(loadMetadataDir(METADATA)).get('linkport_first_party')?.definition.queries ?? [];
  assert.ok(queries.length >= 10, `${queries.length} first-party queries`);
  const invalid: string[] = [];
  for (const q of queries) {
    const errors = validate(userSchema, parse(q.query));
    if (errors.length) invalid.push(`${q.name}: ${errors.map((e) => e.message).join('; ')}`);
  }
  assert.deepEqual(invalid, [], 'first-party operations role user cannot run: fix them in hasura/metadata/query_collections.yaml');
});

void test('a metadata change that breaks a first-party query is refused, naming the query and its REST endpoint', async (t) => {
  const { app } = await projectApp(t);
  const exported = await post(app, '/v1/metadata', { type: 'export_metadata', args: {} });
  assert.equal(exported.status, 200);
  const md = exported.body as { query_collections: Array<{ name: string; definition: { queries: Array<{ name: string; query: string }> } }> };
  const coll = md.query_collections.find((c) => c.name === 'linkport_first_party')!;
  const q = coll.definition.queries.find((x) => x.name === 'rest_link_by_code')!;
  const broken = q.query.replace('destination', 'destinaton');
  assert.notEqual(broken, q.query);
  const edited = structuredClone(md);
  edited.query_collections.find((c) => c.name === 'linkport_first_party')!.definition.queries.find((x) => x.name === 'rest_link_by_code')!.query = broken;
  const refused = await post(app, '/v1/metadata', { type: 'replace_metadata', args: edited });
  assert.equal(refused.status, 400);
  assert.equal(refused.body.code, 'unexpected');
  assert.equal(refused.body.error, 'cannot continue due to newly found inconsistent metadata');
  assert.deepEqual(refused.body.internal.map((o: { name: string }) => o.name), ['query_collections rest_link_by_code in linkport_first_party']);
  assert.match(refused.body.internal[0].reason, /"\$\.links_links\.destinaton: field 'destinaton' not found in object 'links_links'"\. This query is being used in the following REST endpoint\(s\): "[a-z_]+"\. This query is in allowlist\.$/);

  // Untracking the table every first-party query reads is refused the same way, and nothing changes.
  const untrack = await post(app, '/v1/metadata', { type: 'pg_untrack_table', args: { table: { schema: 'links', name: 'links' }, cascade: true } });
  assert.equal(untrack.status, 400, JSON.stringify(untrack.body));
  assert.equal(untrack.body.error, 'cannot continue due to newly found inconsistent metadata');
  assert.ok((untrack.body.internal as Array<{ type: string }>).filter((o) => o.type === 'query_collections').length >= 10);
  const after = await post(app, '/v1/metadata', { type: 'get_inconsistent_metadata', args: {} });
  assert.deepEqual((after.body.inconsistent_objects as Array<{ type: string }>).filter((o) => o.type === 'query_collections'), []);

  // Allowed inconsistent (replace_metadata's allow_inconsistent_metadata): kept and reported, then
  // drop_inconsistent_metadata takes the query out of its collection, as upstream's purge does.
  // (A query no REST endpoint uses: dropping an endpoint's query would leave the endpoint
  // inconsistent in turn, which upstream's drop_inconsistent_metadata refuses too.)
  const other = structuredClone(md);
  const q2 = other.query_collections.find((c) => c.name === 'linkport_first_party')!.definition.queries.find((x) => x.name === 'journey_get_destination')!;
  q2.query = q2.query.replace('destination', 'destinaton');
  const allowed = await post(app, '/v1/metadata', { type: 'replace_metadata', args: { allow_inconsistent_metadata: true, metadata: other } });
  assert.equal(allowed.status, 200, JSON.stringify(allowed.body));
  const kept = await post(app, '/v1/metadata', { type: 'get_inconsistent_metadata', args: {} });
  assert.deepEqual((kept.body.inconsistent_objects as Array<{ name: string }>).map((o) => o.name).filter((n) => n.startsWith('query_collections')), ['query_collections journey_get_destination in linkport_first_party']);
  const dropped = await post(app, '/v1/metadata', { type: 'drop_inconsistent_metadata', args: {} });
  assert.equal(dropped.status, 200, JSON.stringify(dropped.body));
  const final = await post(app, '/v1/metadata', { type: 'export_metadata', args: {} });
  const names = (final.body as typeof md).query_collections.find((c) => c.name === 'linkport_first_party')!.definition.queries.map((x) => x.name);
  assert.ok(!names.includes('journey_get_destination') && names.length === coll.definition.queries.length - 1, names.join(','));
});

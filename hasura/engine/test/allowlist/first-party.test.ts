/**
 * The committed `linkport_first_party` collection (hasura/metadata/query_collections.yaml) and
 * the allow-list entry that puts it on (allow_list.yaml), which production runs with
 * HASURA_GRAPHQL_ENABLE_ALLOWLIST=true (docker-compose.yml): every GraphQL operation the e2e
 * journey and the observability check send must be in it, or production would refuse them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { parse } from 'graphql';
import pg from 'pg';
import { loadMetadataDir } from '../../src/metadata/files.ts';
import { checkAllowlist, inlineAllowlist } from '../../src/allowlist/allowlist.ts';
import { QErr } from '../../src/errors.ts';
import { wsRequest } from '../../conformance/client.ts';
import { buildTestApp, post } from '../http/helper.ts';
import { SEED_SQL, USERS } from '../query/fixtures.ts';

const ROOT = path.resolve(import.meta.dirname, '../../../..');
const METADATA = path.join(ROOT, 'hasura/metadata');

/** The GraphQL documents a test file sends: every template or quoted literal handed to `request(` or a `query:` key. */
function operationsIn(file: string): string[] {
  const src = fs.readFileSync(path.join(ROOT, file), 'utf8');
  const out: string[] = [];
  for (const m of src.matchAll(/(?:request(?:<[^>]*(?:<[^>]*>[^>]*)*>)?\(\s*|query:\s*)(`([^`]*)`|'([^']*)')/gs)) {
    const text = m[2] ?? m[3] ?? '';
    if (/^\s*(query|mutation|subscription|\{)/.test(text)) out.push(text);
  }
  return out;
}

/**
 * The journey's last operation is an API key with links:read trying to insert: it must be refused
 * (validation-failed), and with the allow-list on it is, by the allow-list, before the schema.
 */
const MEANT_TO_FAIL = ['mutation { insert_links_links_one(object: {destination: "https://example.org"}) { id } }'];

const user = (id: string) => ({ role: 'user', vars: { 'x-hasura-role': 'user', 'x-hasura-user-id': id }, isAdmin: false });

void test('every operation of the e2e journey and the observability check is in the allow-listed collection', () => {
  const md = loadMetadataDir(METADATA);
  const list = inlineAllowlist(md);
  const ops = [...operationsIn('e2e/test/journey.test.ts'), ...operationsIn('e2e/test/observability.test.ts')];
  assert.ok(ops.length >= 10, `found ${ops.length} operations: the extraction must see the journey's`);
  const missing: string[] = [];
  for (const op of ops) {
    const doc = parse(op);
    try {
      checkAllowlist('global', list, doc, user(USERS.alice));
      assert.ok(!MEANT_TO_FAIL.includes(op), `${op} is meant to be refused but is allow-listed`);
    } catch (err) {
      if (!(err instanceof QErr) || err.message !== 'query is not allowed') throw err;
      if (!MEANT_TO_FAIL.includes(op)) missing.push(op);
    }
  }
  assert.deepEqual(missing, [], 'add these to linkport_first_party in hasura/metadata/query_collections.yaml');
  assert.ok(MEANT_TO_FAIL.every((m) => ops.includes(m)), 'the journey still sends the refused insert');
});

void test('the project metadata with the allow-list on: first-party operations run, others are refused over HTTP and WebSocket, admin is not checked', async (t) => {
  const { app, db } = await buildTestApp(t, {
    fake: false, migrated: true, role: 'links_admin',
    env: { HASURA_GRAPHQL_METADATA_DIR: METADATA, HASURA_GRAPHQL_ENABLE_ALLOWLIST: 'true', HASURA_GRAPHQL_ENABLE_CONSOLE: 'false' },
  });
  const seed = new pg.Client({ connectionString: db.adminUrl });
  await seed.connect();
  await seed.query(SEED_SQL);
  await seed.end();
  const asUser = { 'x-hasura-role': 'user', 'x-hasura-user-id': USERS.alice };
  const journey = operationsIn('e2e/test/journey.test.ts');
  const create = journey.find((o) => o.includes('mutation Create'))!;
  const created = await post(app, '/v1/graphql', { query: create, variables: { dest: 'https://example.com/a' } }, asUser);
  assert.equal(created.body.errors, undefined, JSON.stringify(created.body));
  const id = created.body.data.insert_links_links_one.id as string;
  // Whitespace, commas and __typename do not matter (upstream normalizeQuery).
  const reformatted = 'query ($id: uuid!) { links_links_by_pk(id: $id) { __typename destination } }';
  const ok = await post(app, '/v1/graphql', { query: reformatted, variables: { id } }, asUser);
  assert.deepEqual(ok.body, { data: { links_links_by_pk: { __typename: 'links_links', destination: 'https://example.com/a' } } });
  const refused = { errors: [{ extensions: { path: '$', code: 'validation-failed' }, message: 'query is not allowed' }] };
  const other = await post(app, '/v1/graphql', { query: '{ links_links { id owner_id } }' }, asUser);
  assert.deepEqual(other.body, refused);
  // Introspection is an operation like any other for a non-admin role.
  assert.deepEqual((await post(app, '/v1/graphql', { query: '{ __schema { queryType { name } } }' }, asUser)).body, refused);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const ws = await wsRequest(base, '/v1/graphql', asUser, { query: '{ links_links { id owner_id } }' });
  assert.equal(ws.wsType, 'error');
  assert.deepEqual(ws.body, refused);
  const wsOk = await wsRequest(base, '/v1/graphql', asUser, { query: '{ links_links { code } }' });
  assert.equal(wsOk.wsType, 'data', JSON.stringify(wsOk.body));
  // The admin role is never checked (no admin secret configured: admin by default).
  const admin = await post(app, '/v1/graphql', { query: '{ links_links { id owner_id } }' });
  assert.equal(admin.body.errors, undefined);
});

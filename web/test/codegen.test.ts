/**
 * The generated operation types are committed (app/src/generated/) and must not drift:
 * - user.graphql is what the engine answers to introspection as role `user` over a freshly migrated
 *   database with the committed metadata: a migration or a permission change that alters what a
 *   signed-in person can query shows up here;
 * - graphql.ts is what graphql-codegen writes from that schema and the `web_*` entries of the
 *   first-party collection: an operation edited without regenerating shows up here.
 * Either failure: `npm run codegen -w @linkport/web`, then review and commit the diff.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { operationTypes, SDL_FILE, TYPES_FILE, userSdl, webOperations } from '../scripts/codegen.ts';

const HINT = 'run `npm run codegen -w @linkport/web` and commit the result';

void test('the committed role-user SDL is what the engine serves over the migrated database and committed metadata', async () => {
  const sdl = await userSdl();
  assert.equal(sdl, fs.readFileSync(SDL_FILE, 'utf8'), `app/src/generated/user.graphql is stale: ${HINT}`);
  // The webhook and tag operations the dashboard needs are in it (a permission dropped would remove them).
  for (const field of ['insert_webhooks_endpoints_one', 'update_webhooks_deliveries_by_pk', 'insert_links_link_tags', 'delete_links_domains_by_pk']) {
    assert.match(sdl, new RegExp(`\\b${field}\\(`), `${field} is in the user schema`);
  }
});

void test('the committed operation types are what graphql-codegen generates from the SDL and the web_* collection entries', async () => {
  const ops = webOperations();
  assert.ok(ops.length >= 20, `found ${ops.length} web_* operations`);
  const generated = await operationTypes(fs.readFileSync(SDL_FILE, 'utf8'), ops);
  assert.equal(generated, fs.readFileSync(TYPES_FILE, 'utf8'), `app/src/generated/graphql.ts is stale: ${HINT}`);
  // Each operation has its result and variables types.
  for (const o of ops) {
    const name = o.name.slice('web_'.length);
    assert.match(generated, new RegExp(`export type ${name}(Query|Mutation|Subscription)Variables = `), `${name} has generated variables`);
  }
});

void test('codegen refuses an operation the schema does not have (the types cannot silently go stale)', async () => {
  await assert.rejects(
    operationTypes(fs.readFileSync(SDL_FILE, 'utf8'), [{ name: 'web_Bad', query: 'query Bad { links_links { no_such_column } }' }]),
    /no_such_column/,
  );
});

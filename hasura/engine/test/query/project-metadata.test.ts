/**
 * The project's own hasura/metadata/ (engine B's files) against the migrated links schema: every
 * object resolves, and a `user` sees only its rows through it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { loadMetadataDir } from '../../src/metadata/files.ts';
import { introspect } from '../../src/introspection/introspect.ts';
import { introspectFunctions } from '../../src/introspection/functions.ts';
import { buildModel, referencedFunctions, trackedTables } from '../../src/schema/resolve-metadata.ts';
import { buildRoleSchema } from '../../src/schema/build-role.ts';
import { harness, user } from './helper.ts';
import { USERS } from './fixtures.ts';

const DIR = path.resolve(import.meta.dirname, '../../../metadata');

void test('hasura/metadata serves the links schema', async (t) => {
  const md = loadMetadataDir(DIR);
  const h = await harness(md);
  t.after(() => h.close());
  const model = buildModel(md, await introspect(h.pool, trackedTables(md).map((x) => x.ref)), await introspectFunctions(h.pool, referencedFunctions(md)));
  assert.deepEqual(model.warnings, []);
  for (const role of [null, ...model.roles]) buildRoleSchema(model, role);
  const r = await h.q('{ links_links { owner_id } }', user(USERS.bob));
  assert.ok(r.data, JSON.stringify(r.errors));
  for (const row of (r.data as { links_links: Array<{ owner_id: string }> }).links_links) assert.equal(row.owner_id, USERS.bob);
});

/**
 * The dashboard's GraphQL operations (app/src/ops.ts) are the `web_*` entries of the first-party
 * collection the allow-list uses (hasura/metadata/query_collections.yaml): same documents, none
 * missing, none stale. Production runs with the allow-list on, so a drift would break the app.
 * The browser test (dashboard.test.ts) runs the engine with the allow-list on as well.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parse, print } from 'graphql';
import YAML from 'yaml';
import { ALL_OPS } from '../app/src/ops.ts';

const FILE = path.resolve(import.meta.dirname, '../../hasura/metadata/query_collections.yaml');

void test('every dashboard operation is in the first-party collection, and only those are web_*', () => {
  const collections = YAML.parse(fs.readFileSync(FILE, 'utf8')) as Array<{ name: string; definition: { queries: Array<{ name: string; query: string }> } }>;
  const fp = collections.find((c) => c.name === 'linkport_first_party');
  assert.ok(fp, 'the linkport_first_party collection exists');
  const web = new Map(fp.definition.queries.filter((q) => q.name.startsWith('web_')).map((q) => [q.name, q.query]));
  for (const op of ALL_OPS) {
    const entry = web.get(`web_${op.name}`);
    assert.ok(entry, `web_${op.name} is missing from ${path.relative(process.cwd(), FILE)}`);
    assert.equal(print(parse(entry)), print(parse(op.query)), `web_${op.name} differs from app/src/ops.ts`);
  }
  const names = new Set(ALL_OPS.map((o) => `web_${o.name}`));
  assert.deepEqual([...web.keys()].filter((n) => !names.has(n)), [], 'stale web_* entries');
  // Operation names are unique within the app (they name the requests in logs and traces).
  assert.equal(new Set(ALL_OPS.map((o) => o.name)).size, ALL_OPS.length);
});

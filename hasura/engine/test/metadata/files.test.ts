/** The CLI metadata directory loads and writes back byte for byte (docs/research/hasura-v2.md §C.1). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadMetadataDir, writeMetadataDir } from '../../src/metadata/files.ts';

const projectDir = path.resolve(import.meta.dirname, '../../../metadata');

function listFiles(dir: string, base = dir): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? listFiles(p, base) : [path.relative(base, p)];
  });
}

void test('hasura/metadata: load → write gives identical files', (t) => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'hasura-md-'));
  t.after(() => fs.rmSync(out, { recursive: true, force: true }));
  const metadata = loadMetadataDir(projectDir);
  assert.equal(metadata.sources[0]?.name, 'default');
  assert.deepEqual(
    metadata.sources[0]!.tables.map((x) => `${x.table.schema}.${x.table.name}`),
    ['links.analytics_rows', 'links.clicks', 'links.daily_stats', 'links.domains', 'links.link_tags', 'links.links', 'links.tags'],
  );
  writeMetadataDir(out, metadata);
  const expected = listFiles(projectDir).sort();
  assert.deepEqual(listFiles(out).sort(), expected);
  for (const f of expected) assert.equal(fs.readFileSync(path.join(out, f), 'utf8'), fs.readFileSync(path.join(projectDir, f), 'utf8'), f);
});

void test('the links permissions never expose the password hash and scope rows to the owner', () => {
  const tables = loadMetadataDir(projectDir).sources[0]!.tables;
  const links = tables.find((x) => x.table.name === 'links')!;
  for (const p of links.select_permissions ?? []) {
    assert.ok(!(p.permission.columns as string[]).includes('password'), p.role);
    assert.deepEqual(p.permission.filter, { owner_id: { _eq: 'X-Hasura-User-Id' } });
  }
  assert.deepEqual((links.insert_permissions ?? []).map((p) => p.role), ['user']);
  assert.deepEqual(links.insert_permissions![0]!.permission.set, { owner_id: 'x-hasura-User-Id' });
  for (const t of tables) {
    for (const kind of ['insert', 'update', 'delete'] as const) {
      assert.ok(!(t[`${kind}_permissions`] ?? []).some((p) => p.role !== 'user'), `${t.table.name} ${kind}`);
    }
    assert.ok(![...(t.select_permissions ?? [])].some((p) => p.role === 'anonymous'), t.table.name);
  }
  // `!include` strings keep the CLI's double quotes.
  assert.match(fs.readFileSync(path.join(projectDir, 'databases/default/tables/tables.yaml'), 'utf8'), /^- "!include links_clicks.yaml"$/m);
});

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
    ['links.analytics_rows', 'links.clicks', 'links.daily_stats', 'links.domains', 'links.link_tags', 'links.links', 'links.tags',
     'webhooks.attempts', 'webhooks.dead_letters', 'webhooks.deliveries', 'webhooks.endpoints', 'webhooks.messages', 'webhooks.notifications'],
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

void test('the webhooks permissions: secrets are write-only, every role sees and changes only its own rows (events/README.md)', () => {
  const tables = loadMetadataDir(projectDir).sources[0]!.tables.filter((x) => x.table.schema === 'webhooks');
  const own = { owner_id: { _eq: 'X-Hasura-User-Id' } };
  for (const t of tables) {
    for (const p of t.select_permissions ?? []) {
      assert.ok(!(p.permission.columns as string[]).some((c) => /^(previous_)?secret$/.test(c)), `${t.table.name} ${p.role}`);
      assert.deepEqual(p.permission.filter, own, t.table.name);
    }
    assert.deepEqual((t.select_permissions ?? []).map((p) => p.role), ['user', 'user_readonly'], t.table.name);
    for (const p of [...(t.update_permissions ?? []), ...(t.delete_permissions ?? [])]) assert.deepEqual(p.permission.filter, own, t.table.name);
  }
  const updatable = Object.fromEntries(tables.map((t) => [t.table.name, (t.update_permissions?.[0]?.permission.columns as string[] | undefined) ?? []]));
  assert.deepEqual(updatable, {
    attempts: [], dead_letters: [], deliveries: ['replay_requested_at'], endpoints: ['description', 'enabled', 'event_types', 'secret', 'url'],
    messages: [], notifications: ['read_at'],
  });
  const endpoints = tables.find((t) => t.table.name === 'endpoints')!;
  assert.deepEqual(endpoints.insert_permissions![0]!.permission.set, { owner_id: 'x-hasura-User-Id' });
  assert.deepEqual(endpoints.insert_permissions![0]!.permission.columns, ['description', 'event_types', 'secret', 'url']);
});

/**
 * Mutation permissions of role `user` on hasura/metadata/ (docs/research/hasura-v2.md §B.2, §B.3): insert check and
 * presets, column lists, update/delete filters (another user's rows are untouched: affected_rows 0,
 * by_pk null), update check, roles without mutations, backend_only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Metadata } from '../../src/contract.ts';
import { admin, data, error, mutationHarness, projectMetadata, readonly, user, USERS } from './helper.ts';

const BOB_DOMAIN = '10000000-0000-4000-8000-000000000002';
const ALICE_DOMAIN = '10000000-0000-4000-8000-000000000001';
const BOB_LINK = '30000000-0000-4000-8000-000000000007';
const alice = user(USERS.alice);
const bob = user(USERS.bob);

void test('mutation permissions', async (t) => {
  const h = await mutationHarness();
  t.after(() => h.close());

  await t.test('insert check fails on another user\'s domain: permission-error at args.objects, nothing written', async () => {
    const r = await h.q(`mutation { insert_links_links(objects: [{destination: "https://example.org/p", code: "perm-1", domain_id: "${BOB_DOMAIN}"}]) { affected_rows } }`, alice);
    assert.deepEqual(error(r), { code: 'permission-error', path: '$.selectionSet.insert_links_links.args.objects', message: 'check constraint of an insert/update permission has failed' });
    assert.equal((await h.pool.query(`SELECT 1 FROM links.links WHERE code = 'perm-1'`)).rowCount, 0);
  });

  await t.test('insert check passes on my own domain', async () => {
    const r = data(await h.q(`mutation { insert_links_links_one(object: {destination: "https://example.org/p", code: "perm-2", domain_id: "${ALICE_DOMAIN}"}) { code domain { hostname } } }`, alice));
    assert.deepEqual(r, { insert_links_links_one: { code: 'perm-2', domain: { hostname: 'a.example.com' } } });
  });

  await t.test('preset and non-insertable columns are not inputs', async () => {
    const preset = error(await h.q(`mutation { insert_links_links_one(object: {destination: "https://x.example", owner_id: "${USERS.bob}"}) { code } }`, alice));
    assert.deepEqual(preset, { code: 'validation-failed', path: '$.selectionSet.insert_links_links_one.args.object.owner_id', message: "field 'owner_id' not found in type: 'links_links_insert_input'" });
    const cc = error(await h.q(`mutation { update_links_links(where: {}, _set: {click_count: 1}) { affected_rows } }`, alice));
    assert.equal(cc.message, "field 'click_count' not found in type: 'links_links_set_input'");
  });

  await t.test('another user cannot update or delete my link: affected_rows 0, by_pk null', async () => {
    const u = data(await h.q(`mutation { update_links_links(where: {id: {_eq: "${BOB_LINK}"}}, _set: {title: "pwned"}) { affected_rows returning { id } } }`, alice));
    assert.deepEqual(u, { update_links_links: { affected_rows: 0, returning: [] } });
    const ubp = data(await h.q(`mutation { update_links_links_by_pk(pk_columns: {id: "${BOB_LINK}"}, _set: {title: "pwned"}) { id } }`, alice));
    assert.deepEqual(ubp, { update_links_links_by_pk: null });
    const d = data(await h.q(`mutation { delete_links_links(where: {}) { affected_rows } }`, user(USERS.carol)));
    assert.deepEqual(d, { delete_links_links: { affected_rows: 2 } });
    const dbp = data(await h.q(`mutation { delete_links_links_by_pk(id: "${BOB_LINK}") { id } }`, alice));
    assert.deepEqual(dbp, { delete_links_links_by_pk: null });
    const row = await h.pool.query(`SELECT title FROM links.links WHERE id = '${BOB_LINK}'`);
    assert.equal(row.rows[0].title, 'Title 7');
  });

  await t.test('update check: moving my link onto another user\'s domain fails at $', async () => {
    const r = await h.q(`mutation { update_links_links(where: {code: {_eq: "code2"}}, _set: {domain_id: "${BOB_DOMAIN}"}) { affected_rows } }`, alice);
    assert.deepEqual(error(r), { code: 'permission-error', path: '$', message: 'check constraint of an insert/update permission has failed' });
    assert.equal((await h.pool.query(`SELECT domain_id FROM links.links WHERE code = 'code2'`)).rows[0].domain_id, ALICE_DOMAIN);
  });

  await t.test('user_readonly has no mutation_root', async () => {
    const r = await h.q('mutation { delete_links_links(where: {}) { affected_rows } }', readonly(USERS.alice));
    assert.deepEqual(error(r), { code: 'validation-failed', path: '$', message: 'no mutations exist' });
    const intro = data<{ __schema: { mutationType: null } }>(await h.q('{ __schema { mutationType { name } } }', readonly(USERS.alice)));
    assert.equal(intro.__schema.mutationType, null);
  });

  await t.test('a missing session variable for a preset is not-found', async () => {
    const r = await h.q('mutation { insert_links_links_one(object: {destination: "https://x.example"}) { code } }', { role: 'user', vars: {}, isAdmin: false });
    assert.equal(error(r).code, 'not-found');
  });

  await t.test('mutation_root fields per role follow the permissions', async () => {
    const q = '{ __schema { mutationType { fields { name } } } }';
    const names = (r: unknown) => (r as { __schema: { mutationType: { fields: Array<{ name: string }> } } }).__schema.mutationType.fields.map((f) => f.name);
    const mine = names(data(await h.q(q, alice)));
    assert.ok(mine.includes('insert_links_links_one') && mine.includes('update_links_links_many') && mine.includes('delete_links_links_by_pk'));
    assert.ok(!mine.some((n) => n.includes('daily_stats')), 'no write permission on daily_stats');
    assert.ok(names(data(await h.q(q, admin))).includes('insert_links_daily_stats'));
  });
});

void test('backend_only permissions need the admin secret and x-hasura-use-backend-only-permissions', async (t) => {
  const md = projectMetadata() as Metadata;
  const links = md.sources[0]!.tables.find((x) => x.table.name === 'tags')!;
  links.insert_permissions = [{ role: 'service', permission: { check: {}, columns: '*', backend_only: true } }];
  links.select_permissions = [...(links.select_permissions ?? []), { role: 'service', permission: { columns: '*', filter: {} } }];
  const h = await mutationHarness(md);
  t.after(() => h.close());
  const q = `mutation { insert_links_tags_one(object: {name: "svc", owner_id: "${USERS.alice}"}) { name } }`;
  const plain = await h.q(q, { role: 'service', vars: {}, isAdmin: false });
  assert.deepEqual(error(plain), { code: 'validation-failed', path: '$', message: 'no mutations exist' });
  const noSecret = await h.q(q, { role: 'service', vars: { 'x-hasura-use-backend-only-permissions': 'true' }, isAdmin: false });
  assert.equal(error(noSecret).message, 'no mutations exist');
  const ok = await h.q(q, { role: 'service', vars: { 'x-hasura-use-backend-only-permissions': 'true' }, isAdmin: true });
  assert.deepEqual(data(ok), { insert_links_tags_one: { name: 'svc' } });
  const bad = await h.q(q, { role: 'service', vars: { 'x-hasura-use-backend-only-permissions': 'maybe' }, isAdmin: true });
  assert.equal(error(bad).code, 'bad-request');
});

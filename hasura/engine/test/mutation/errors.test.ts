/**
 * Database errors of mutations mapped to Hasura's codes and messages (docs/research/hasura-v2.md §B.4;
 * Execute/Types.hs `mkTxErrorHandler`), including the links triggers' errors, and hostile input:
 * SQL in values, names and enum positions is data or a validation error, never executed or leaked.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { admin, data, error, mutationHarness, user, USERS } from './helper.ts';

const alice = user(USERS.alice);
const objects = '$.selectionSet.insert_links_links.args.objects';

void test('mutation errors', async (t) => {
  const h = await mutationHarness();
  t.after(() => h.close());
  const ins = (obj: string, s = alice) => h.q(`mutation { insert_links_links(objects: [${obj}]) { affected_rows } }`, s);

  await t.test('unique violation', async () => {
    assert.deepEqual(error(await ins('{destination: "https://x.example", code: "code1"}')), {
      code: 'constraint-violation', path: objects, message: 'Uniqueness violation. duplicate key value violates unique constraint "links_code_key"',
    });
  });

  await t.test('foreign key violation', async () => {
    const e = error(await ins('{destination: "https://x.example", domain_id: "99999999-0000-4000-8000-000000000000"}'));
    assert.equal(e.code, 'constraint-violation');
    assert.match(e.message, /^Foreign key violation\. insert or update on table "links" violates foreign key constraint "links_domain_id_fkey"/);
    const upd = error(await h.q(`mutation { update_links_links(where: {code: {_eq: "code2"}}, _set: {domain_id: "99999999-0000-4000-8000-000000000000"}) { affected_rows } }`, alice));
    assert.equal(upd.code, 'constraint-violation');
    assert.equal(upd.path, '$');
  });

  await t.test('not-null violation (admin, no owner)', async () => {
    const e = error(await ins('{destination: "https://x.example"}', admin));
    assert.deepEqual(e, { code: 'constraint-violation', path: objects, message: 'Not-NULL violation. null value in column "owner_id" of relation "links" violates not-null constraint' });
  });

  await t.test('check constraints and the links triggers (check_violation with a constraint name)', async () => {
    // Hasura maps check_violation to permission-error "Check constraint violation. …" (PGCheckViolation).
    const url = error(await ins('{destination: "ftp://x.example"}'));
    assert.deepEqual(url, { code: 'permission-error', path: objects, message: 'Check constraint violation. new row for relation "links" violates check constraint "destination_is_http_url"' });
    const fmt = error(await ins('{destination: "https://x.example", code: "!!"}'));
    assert.equal(fmt.code, 'permission-error');
    assert.match(fmt.message, /^Check constraint violation\. invalid short code/);
    const reserved = error(await h.q(`mutation { update_links_links(where: {code: {_eq: "code2"}}, _set: {code: "api"}) { affected_rows } }`, alice));
    assert.deepEqual(reserved, { code: 'permission-error', path: '$', message: 'Check constraint violation. short code "api" is reserved' });
  });

  await t.test('image asset trigger: foreign_key_violation links_image_asset_owner', async () => {
    const e = error(await ins('{destination: "https://x.example", image_asset_id: "40000000-0000-4000-8000-000000000000"}'));
    assert.equal(e.code, 'constraint-violation');
    assert.match(e.message, /^Foreign key violation\. /);
  });

  await t.test('bad data is data-exception', async () => {
    const e = error(await h.q('mutation ($id: uuid!) { delete_links_links_by_pk(id: $id) { id } }', alice, { id: 'not-a-uuid' }));
    assert.deepEqual(e, { code: 'data-exception', path: '$', message: 'invalid input syntax for type uuid: "not-a-uuid"' });
  });

  await t.test('a column in two update operators', async () => {
    const e = error(await h.q('mutation { update_links_links(where: {}, _set: {max_clicks: 1}, _inc: {max_clicks: 2}) { affected_rows } }', alice));
    assert.deepEqual(e, { code: 'validation-failed', path: '$.selectionSet.update_links_links.args', message: "Column found in multiple operators: ['max_clicks']." });
  });

  await t.test('an _inc that overflows int4/bigint is a data-exception', async () => {
    const e = error(await h.q('mutation { update_links_links(where: {code: {_eq: "code5"}}, _inc: {max_clicks: "9223372036854775807"}) { affected_rows } }', alice));
    assert.equal(e.code, 'data-exception');
  });
});

void test('hostile mutation input', async (t) => {
  const h = await mutationHarness();
  t.after(() => h.close());

  await t.test('SQL in values is data', async () => {
    const evil = `x'); DROP TABLE links.links; --`;
    const r = await h.q('mutation ($t: String) { insert_links_links_one(object: {destination: "https://x.example", title: $t}) { title } }', alice, { t: evil });
    assert.deepEqual(data(r), { insert_links_links_one: { title: evil } });
    const upd = await h.q('mutation ($t: String) { update_links_links(where: {title: {_eq: $t}}, _set: {description: $t}) { affected_rows } }', alice, { t: evil });
    assert.deepEqual(data(upd), { update_links_links: { affected_rows: 1 } });
    assert.equal((await h.pool.query('SELECT count(*)::int AS n FROM links.links')).rows[0].n, 13);
  });

  await t.test('SQL in the jsonb operators is data', async () => {
    const r = await h.q(`mutation ($k: String, $p: [String!]) { update_links_links(where: {code: {_eq: "code2"}}, _delete_key: {geo_targets: $k}) { affected_rows }
      b: update_links_links(where: {code: {_eq: "code2"}}, _delete_at_path: {geo_targets: $p}) { affected_rows } }`, alice,
    { k: "DE'; DROP TABLE links.links; --", p: ["a'}", '"; --'] });
    assert.deepEqual(data(r), { update_links_links: { affected_rows: 1 }, b: { affected_rows: 1 } });
  });

  await t.test('names: unknown columns, constraints and operators are validation errors', async () => {
    const col = error(await h.q('mutation { insert_links_links(objects: [{destination: "https://x.example", owner_id_x: "1"}]) { affected_rows } }', alice));
    assert.equal(col.code, 'validation-failed');
    const con = error(await h.q(`mutation { insert_links_links(objects: [{destination: "https://x.example"}], on_conflict: {constraint: links_pkey, update_columns: [click_count]}) { affected_rows } }`, alice));
    assert.equal(con.code, 'validation-failed');
    const enumVar = error(await h.q('mutation ($c: links_links_constraint!) { insert_links_links(objects: [{destination: "https://x.example"}], on_conflict: {constraint: $c}) { affected_rows } }', alice,
      { c: 'links_pkey" DO NOTHING; DROP TABLE links.links; --' }));
    assert.equal(enumVar.code, 'validation-failed');
    const op = error(await h.q('mutation { update_links_links(where: {}, _set_x: {title: "a"}) { affected_rows } }', alice));
    assert.equal(op.code, 'validation-failed');
  });

  await t.test('errors carry no SQL or internals for non-admin roles', async () => {
    const r = await h.q('mutation { insert_links_links(objects: [{destination: "https://x.example", code: "code1"}]) { affected_rows } }', alice);
    const json = JSON.stringify(r);
    assert.ok(!/INSERT INTO|"internal"|statement|links_admin/.test(json), json);
  });
});

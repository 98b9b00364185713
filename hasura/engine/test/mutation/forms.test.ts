/**
 * Every mutation form against the project's hasura/metadata/ on the migrated links schema
 * (docs/research/hasura-v2.md §A.4 root fields, §D statements): inserts with triggers and presets, on_conflict,
 * nested inserts, update operators (incl. jsonb), by_pk forms, update_many, delete.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { admin, data, mutationHarness, user, USERS } from './helper.ts';

const ALICE_LINK = '30000000-0000-4000-8000-000000000001';
const ALICE_TAG = '20000000-0000-4000-8000-000000000001';
const alice = user(USERS.alice);

void test('mutation forms', async (t) => {
  const h = await mutationHarness();
  t.after(() => h.close());

  await t.test('insert_x_one: the trigger generates code, owner_id comes from the session preset', async () => {
    const d = data<{ insert_links_links_one: { code: string; owner_id: string; destination: string } }>(
      await h.q('mutation { insert_links_links_one(object: {destination: "https://example.org/a"}) { code owner_id destination } }', alice));
    assert.match(d.insert_links_links_one.code, /^[A-Za-z0-9_-]{3,64}$/);
    assert.equal(d.insert_links_links_one.owner_id, USERS.alice);
    const pw = await h.pool.query<{ password: string | null }>(`SELECT password FROM links.links WHERE code = $1`, [d.insert_links_links_one.code]);
    assert.equal(pw.rows[0]?.password, null);
  });

  await t.test('insert_x: affected_rows and returning in selection order; the password is hashed', async () => {
    const r = await h.q(`mutation { insert_links_links(objects: [{destination: "https://example.org/b", code: "form-b", password: "s3cret"}, {destination: "https://example.org/c"}]) {
      returning { destination code } affected_rows } }`, alice);
    const d = data<{ insert_links_links: { returning: Array<{ destination: string; code: string }>; affected_rows: number } }>(r);
    assert.deepEqual(Object.keys(d.insert_links_links), ['returning', 'affected_rows']);
    assert.equal(d.insert_links_links.affected_rows, 2);
    assert.deepEqual(d.insert_links_links.returning.map((x) => x.destination), ['https://example.org/b', 'https://example.org/c']);
    const pw = await h.pool.query<{ password: string }>(`SELECT password FROM links.links WHERE code = 'form-b'`);
    assert.notEqual(pw.rows[0]?.password, 's3cret');
  });

  await t.test('insert_x with no objects touches nothing', async () => {
    assert.deepEqual(data(await h.q('mutation { insert_links_links(objects: []) { affected_rows returning { id } } }', alice)),
      { insert_links_links: { affected_rows: 0, returning: [] } });
  });

  await t.test('on_conflict: update_columns updates, [] does nothing', async () => {
    const up = data<{ insert_links_links_one: { code: string; title: string } }>(await h.q(`mutation {
      insert_links_links_one(object: {code: "code1", destination: "https://example.org/upsert", title: "Upserted"},
        on_conflict: {constraint: links_code_key, update_columns: [title, destination]}) { code title } }`, alice));
    assert.deepEqual(up.insert_links_links_one, { code: 'code1', title: 'Upserted' });
    const none = data(await h.q(`mutation {
      insert_links_links(objects: [{code: "code1", destination: "https://example.org/x"}],
        on_conflict: {constraint: links_code_key, update_columns: []}) { affected_rows } }`, alice));
    assert.deepEqual(none, { insert_links_links: { affected_rows: 0 } });
  });

  await t.test('on_conflict on another user\'s row: the update filter keeps it untouched', async () => {
    const r = data(await h.q(`mutation {
      insert_links_links(objects: [{code: "code7", destination: "https://evil.example"}],
        on_conflict: {constraint: links_code_key, update_columns: [destination]}) { affected_rows } }`, alice));
    assert.deepEqual(r, { insert_links_links: { affected_rows: 0 } });
    const row = await h.pool.query(`SELECT destination FROM links.links WHERE code = 'code7'`);
    assert.equal(row.rows[0].destination, 'https://example.com/7');
  });

  await t.test('nested inserts: object relationship first, array relationship after; affected_rows counts all', async () => {
    const r = await h.q(`mutation { insert_links_links(objects: [{
        destination: "https://example.org/nested", code: "nested-1",
        domain: {data: {hostname: "nested.example"}},
        link_tags: {data: [{tag_id: "${ALICE_TAG}"}]}
      }]) { affected_rows returning { code domain { hostname owner_id } link_tags { tag_id } } } }`, alice);
    assert.deepEqual(data(r), { insert_links_links: { affected_rows: 3, returning: [{
      code: 'nested-1', domain: { hostname: 'nested.example', owner_id: USERS.alice }, link_tags: [{ tag_id: ALICE_TAG }],
    }] } });
  });

  await t.test('nested insert through an array relationship (admin)', async () => {
    const r = await h.q(`mutation { insert_links_domains_one(object: {hostname: "arr.example", owner_id: "${USERS.carol}",
      links: {data: [{destination: "https://example.org/arr1", owner_id: "${USERS.carol}"}, {destination: "https://example.org/arr2", owner_id: "${USERS.carol}"}]}})
      { hostname links(order_by: {destination: asc}) { destination owner_id } } }`, admin);
    assert.deepEqual(data(r), { insert_links_domains_one: { hostname: 'arr.example', links: [
      { destination: 'https://example.org/arr1', owner_id: USERS.carol }, { destination: 'https://example.org/arr2', owner_id: USERS.carol },
    ] } });
  });

  await t.test('update_x: _set, _inc and every jsonb operator', async () => {
    await h.pool.query(`UPDATE links.links SET ab_variants = '[{"url": "https://a.example", "weight": 1}, {"url": "https://b.example", "weight": 2}]',
      geo_targets = '{"DE": "https://de.example", "FR": "https://fr.example", "NL": {"x": 1}}', max_clicks = 10 WHERE id = '${ALICE_LINK}'`);
    const r1 = data<{ update_links_links: { affected_rows: number; returning: Array<Record<string, unknown>> } }>(await h.q(`mutation {
      update_links_links(where: {id: {_eq: "${ALICE_LINK}"}}, _set: {title: "Set"}, _inc: {max_clicks: 5},
        _delete_key: {geo_targets: "FR"}, _delete_elem: {ab_variants: 0}) {
        affected_rows returning { title max_clicks geo_targets ab_variants } } }`, alice));
    assert.deepEqual(r1.update_links_links, { affected_rows: 1, returning: [{
      title: 'Set', max_clicks: '15', geo_targets: { DE: 'https://de.example', NL: { x: 1 } }, ab_variants: [{ url: 'https://b.example', weight: 2 }],
    }] });
    const r2 = data<{ update_links_links: { returning: Array<Record<string, unknown>> } }>(await h.q(`mutation {
      update_links_links(where: {id: {_eq: "${ALICE_LINK}"}}, _append: {ab_variants: [{url: "https://c.example", weight: 3}]},
        _delete_at_path: {geo_targets: ["NL", "x"]}) { returning { geo_targets ab_variants } } }`, alice));
    assert.deepEqual(r2.update_links_links.returning[0], {
      geo_targets: { DE: 'https://de.example', NL: {} },
      ab_variants: [{ url: 'https://b.example', weight: 2 }, { url: 'https://c.example', weight: 3 }],
    });
    const r3 = data<{ update_links_links: { returning: Array<Record<string, unknown>> } }>(await h.q(`mutation ($v: jsonb) {
      update_links_links(where: {id: {_eq: "${ALICE_LINK}"}}, _prepend: {ab_variants: $v}) { returning { ab_variants } } }`, alice,
      { v: [{ url: 'https://z.example', weight: 9 }] }));
    assert.equal((r3.update_links_links.returning[0]!.ab_variants as unknown[]).length, 3);
  });

  await t.test('update_x_by_pk and delete_x_by_pk', async () => {
    const u = data(await h.q(`mutation { update_links_links_by_pk(pk_columns: {id: "${ALICE_LINK}"}, _set: {status: "disabled"}) { id status } }`, alice));
    assert.deepEqual(u, { update_links_links_by_pk: { id: ALICE_LINK, status: 'disabled' } });
    const d = data(await h.q(`mutation { delete_links_links_by_pk(id: "${ALICE_LINK}") { code } }`, alice));
    assert.deepEqual(d, { delete_links_links_by_pk: { code: 'code1' } });
    const again = data(await h.q(`mutation { delete_links_links_by_pk(id: "${ALICE_LINK}") { code } }`, alice));
    assert.deepEqual(again, { delete_links_links_by_pk: null });
  });

  await t.test('update_x_many runs its updates in order', async () => {
    const r = data(await h.q(`mutation { update_links_links_many(updates: [
        {where: {code: {_eq: "code2"}}, _set: {title: "first"}},
        {where: {title: {_eq: "first"}}, _set: {title: "second"}}
      ]) { affected_rows returning { code title } } }`, alice));
    assert.deepEqual(r, { update_links_links_many: [
      { affected_rows: 1, returning: [{ code: 'code2', title: 'first' }] },
      { affected_rows: 1, returning: [{ code: 'code2', title: 'second' }] },
    ] });
  });

  await t.test('delete_x with returning; __typename on mutation_root and the response type', async () => {
    const r = data<{ delete_links_links: { returning: Array<{ code: string }> } }>(await h.q(`mutation { __typename delete_links_links(where: {code: {_in: ["code3", "code4"]}}) {
      __typename affected_rows returning { code } } }`, alice));
    r.delete_links_links.returning.sort((a, b) => a.code.localeCompare(b.code));
    assert.deepEqual(r, { __typename: 'mutation_root', delete_links_links: {
      __typename: 'links_links_mutation_response', affected_rows: 2, returning: [{ code: 'code3' }, { code: 'code4' }] } });
  });

  await t.test('several root fields run in order in one transaction; an error rolls all back', async () => {
    const ok = data(await h.q(`mutation {
      a: insert_links_links_one(object: {code: "tx-a", destination: "https://example.org/tx"}) { code }
      b: update_links_links(where: {code: {_eq: "tx-a"}}, _set: {title: "seen"}) { affected_rows }
    }`, alice));
    assert.deepEqual(ok, { a: { code: 'tx-a' }, b: { affected_rows: 1 } });
    const bad = await h.q(`mutation {
      a: insert_links_links_one(object: {code: "tx-b", destination: "https://example.org/tx"}) { code }
      b: update_links_links(where: {code: {_eq: "code5"}}, _set: {title: "changed"}) { affected_rows }
      c: insert_links_links_one(object: {code: "tx-b", destination: "https://example.org/dup"}) { code }
    }`, alice);
    assert.equal(bad.data, undefined);
    assert.equal(bad.errors?.[0]?.extensions.code, 'constraint-violation');
    const rows = await h.pool.query(`SELECT (SELECT count(*) FROM links.links WHERE code = 'tx-b')::int AS n, (SELECT title FROM links.links WHERE code = 'code5') AS t`);
    assert.deepEqual(rows.rows[0], { n: 0, t: 'Title 5' });
  });
});

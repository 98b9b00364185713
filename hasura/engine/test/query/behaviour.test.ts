/** GraphQL-level behaviour: introspection for tools, operations, variables, directives. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildClientSchema, getIntrospectionQuery, printSchema, type IntrospectionQuery } from 'graphql';
import { admin, anonymous, harness, user } from './helper.ts';
import { USERS } from './fixtures.ts';

void test('GraphQL behaviour', async (t) => {
  const h = await harness();
  t.after(() => h.close());
  const alice = user(USERS.alice);

  await t.test('full introspection (GraphiQL / codegen) builds a client schema per role', async () => {
    for (const s of [admin, alice, anonymous]) {
      const r = await h.q(getIntrospectionQuery({ descriptions: true, inputValueDeprecation: true }), s);
      assert.ok(r.data, JSON.stringify(r.errors));
      const names = (r.data as IntrospectionQuery).__schema.types.map((x) => x.name);
      assert.deepEqual(names, [...names].sort(), 'types sorted by name like Hasura');
      const schema = buildClientSchema(r.data as IntrospectionQuery);
      assert.equal(schema.getQueryType()?.name, 'query_root');
      const sdl = printSchema(schema);
      if (s === anonymous) assert.doesNotMatch(sdl, /links_links/);
      else assert.match(sdl, /links_links_aggregate_fields/);
      if (s === alice) assert.doesNotMatch(sdl, /password/);
    }
  });

  await t.test('operationName picks the operation; ambiguity is an error', async () => {
    const doc = 'query A { links_links(limit: 1, order_by: {code: asc}) { code } } query B { links_tags(order_by: {name: asc}) { name } }';
    const b = await h.engine.execute({ query: doc, operationName: 'B' }, alice);
    assert.deepEqual(b.data, { links_tags: [{ name: 'fun' }, { name: 'work' }] });
    const none = await h.engine.execute({ query: doc }, alice);
    assert.equal(none.errors?.[0]?.extensions.code, 'validation-failed');
    const missing = await h.engine.execute({ query: doc, operationName: 'C' }, alice);
    assert.equal(missing.errors?.[0]?.extensions.code, 'validation-failed');
  });

  await t.test('variables: defaults, missing non-null, nullable in non-null position', async () => {
    const q = 'query ($id: uuid!) { links_links_by_pk(id: $id) { code } }';
    assert.deepEqual((await h.q(q, alice, { id: '30000000-0000-4000-8000-000000000002' })).data, { links_links_by_pk: { code: 'code2' } });
    const miss = await h.q(q, alice, {});
    assert.equal(miss.errors?.[0]?.message, 'expecting a value for non-nullable variable: "id"');
    const nul = await h.q(q, alice, { id: null });
    assert.equal(nul.errors?.[0]?.message, 'null value found for non-nullable type: "uuid!"');
    const pos = await h.q('query ($id: uuid) { links_links_by_pk(id: $id) { code } }', alice, { id: '30000000-0000-4000-8000-000000000002' });
    assert.equal(pos.errors?.[0]?.message, "variable 'id' is declared as 'uuid', but used where 'uuid!' is expected");
    const def = await h.q('query ($n: Int = 1) { links_links(limit: $n, order_by: {code: asc}) { code } }', alice);
    assert.deepEqual(def.data, { links_links: [{ code: 'code1' }] });
    const wrong = await h.q('query ($c: Int) { links_links(where: {code: {_eq: $c}}) { code } }', alice, { c: 1 });
    assert.equal(wrong.errors?.[0]?.message, "variable 'c' is declared as 'Int', but used where 'String' is expected");
  });

  await t.test('root-level skip/include, aliases of the same field, and __typename everywhere', async () => {
    const r = await h.q(`query ($no: Boolean!) {
      a: links_links(limit: 1, order_by: {code: asc}) { code }
      b: links_links(limit: 1, order_by: {code: desc}) @skip(if: $no) { code }
      c: links_links(limit: 1) @include(if: $no) { code }
      agg: links_links_aggregate { __typename aggregate { __typename count } }
    }`, alice, { no: false });
    assert.deepEqual(r.data, {
      a: [{ code: 'code1' }], b: [{ code: 'code6' }],
      agg: { __typename: 'links_links_aggregate', aggregate: { __typename: 'links_links_aggregate_fields', count: 6 } },
    });
    assert.deepEqual(Object.keys(r.data as object), ['a', 'b', 'agg']);
  });

  await t.test('subscriptions execute once here; one root field unless @_multiple_top_level_fields', async () => {
    const one = await h.q('subscription { links_links_aggregate { aggregate { count } } }', alice);
    assert.deepEqual(one.data, { links_links_aggregate: { aggregate: { count: 6 } } });
    const two = await h.q('subscription { a: links_links(limit: 1) { code } b: links_tags(limit: 1) { name } }', alice);
    assert.equal(two.errors?.[0]?.message, 'subscriptions must select one top level field');
    const multi = await h.q('subscription @_multiple_top_level_fields { a: links_links_aggregate { aggregate { count } } b: links_tags_aggregate { aggregate { count } } }', alice);
    assert.deepEqual(multi.data, { a: { aggregate: { count: 6 } }, b: { aggregate: { count: 2 } } });
  });

  await t.test('bigint literals beyond 2^53 stay exact', async () => {
    const r = await h.q('{ links_links(where: {max_clicks: {_eq: 9007199254740993}}) { code max_clicks } }', admin);
    assert.deepEqual(r.data, { links_links: [{ code: 'code5', max_clicks: '9007199254740993' }, { code: 'code10', max_clicks: '9007199254740993' }] });
  });

  await t.test('no mutations exist yet', async () => {
    const r = await h.q('mutation { delete_links_links(where: {}) { affected_rows } }', alice);
    assert.deepEqual(r.errors, [{ extensions: { path: '$', code: 'validation-failed' }, message: 'no mutations exist' }]);
  });

  await t.test('custom_name, custom_root_fields and column_config', async () => {
    const { linksMetadata } = await import('./fixtures.ts');
    const md = linksMetadata();
    const links = md.sources[0]!.tables.find((x) => x.table.name === 'links')!;
    links.configuration = { custom_name: 'link', custom_root_fields: { select: 'links', select_by_pk: { name: 'linkById' } }, column_config: { click_count: { custom_name: 'hits' } } };
    await h.engine.reload(md);
    try {
      const r = await h.q(`{ links(limit: 1, order_by: {hits: desc}, where: {hits: {_gt: "0"}}) { __typename code hits }
        linkById(id: "30000000-0000-4000-8000-000000000001") { code } link_aggregate { aggregate { max { hits } } } }`, alice);
      assert.ok(r.data, JSON.stringify(r.errors));
      assert.deepEqual(r.data, {
        links: [{ __typename: 'link', code: 'code6', hits: '60' }],
        linkById: { code: 'code1' }, link_aggregate: { aggregate: { max: { hits: '60' } } },
      });
      const old = await h.q('{ links_links { code } }', alice);
      assert.equal(old.errors?.[0]?.message, "field 'links_links' not found in type: 'query_root'");
    } finally {
      await h.engine.reload(linksMetadata());
    }
  });
});

/** Hostile input: answered with Hasura-style errors, never a throw or a leaked SQL error. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { harness, user } from './helper.ts';
import { USERS } from './fixtures.ts';
import type { GraphQLResponse } from '../../src/contract.ts';

function assertHasuraError(r: GraphQLResponse, code?: string): void {
  assert.equal(r.data, undefined);
  assert.ok(r.errors?.length, JSON.stringify(r));
  for (const e of r.errors) {
    assert.equal(typeof e.message, 'string');
    assert.match(e.extensions.path, /^\$/);
    if (code) assert.equal(e.extensions.code, code, JSON.stringify(e));
    assert.equal(e.extensions.internal, undefined, 'no internals for non-admin');
    assert.doesNotMatch(e.message, /SELECT|json_build_object|FROM "/);
  }
}

void test('hostile queries', async (t) => {
  const h = await harness(undefined, { maxDepth: 8, maxComplexity: 500 });
  t.after(() => h.close());
  const alice = user(USERS.alice);

  await t.test('syntax errors', async () => {
    for (const q of ['{', '{ links_links { code }', 'query {{}}', '', '"', 'mutation { x }', 'subscription']) {
      const r = await h.q(q, alice);
      assertHasuraError(r);
    }
  });

  await t.test('non-string query and garbage variables', async () => {
    assertHasuraError(await h.engine.execute({ query: 42 as unknown as string }, alice));
    assertHasuraError(await h.q('query ($w: links_links_bool_exp) { links_links(where: $w) { code } }', alice, { w: { code: { _eq: { $ne: 1 } } } }));
    assertHasuraError(await h.q('query ($w: links_links_bool_exp) { links_links(where: $w) { code } }', alice, { w: 'DROP TABLE x' }), 'validation-failed');
  });

  await t.test('unknown fields, args, types', async () => {
    assertHasuraError(await h.q('{ links_links { code nope } }', alice), 'validation-failed');
    assertHasuraError(await h.q('{ links_links(nope: 1) { code } }', alice), 'validation-failed');
    assertHasuraError(await h.q('{ links_links(order_by: {code: sideways}) { code } }', alice), 'validation-failed');
    assertHasuraError(await h.q('{ links_links(order_by: {"code; DROP TABLE links.links": asc}) { code } }', alice));
    assertHasuraError(await h.q('{ links_links(distinct_on: [password]) { code } }', alice), 'validation-failed');
    assertHasuraError(await h.q('{ links_links { clicks { visitor_hash } } }', alice), 'validation-failed');
  });

  await t.test('injection attempts in values stay values', async () => {
    for (const v of ["'; DROP TABLE links.links; --", '" OR 1=1 --', '\\', '$1', 'code1\u0000']) {
      const r = await h.q(`query ($v: String!) { links_links(where: {code: {_eq: $v}}) { code } }`, alice, { v });
      if (r.errors) assertHasuraError(r);
      else assert.deepEqual(r.data, { links_links: [] });
    }
    const r = await h.q('{ links_links(where: {title: {_regex: "("}}) { code } }', alice);
    assertHasuraError(r);
    const still = await h.q('{ links_links_aggregate { aggregate { count } } }', alice);
    assert.deepEqual(still.data, { links_links_aggregate: { aggregate: { count: 6 } } });
  });

  await t.test('depth bomb and complexity', async () => {
    let q = 'code';
    for (let i = 0; i < 20; i++) q = `link_tags { link { ${q} } }`;
    assertHasuraError(await h.q(`{ links_links { ${q} } }`, alice), 'validation-failed');
    const wide = Array.from({ length: 600 }, (_, i) => `a${i}: code`).join(' ');
    assertHasuraError(await h.q(`{ links_links { ${wide} } }`, alice), 'validation-failed');
    let w = '{code: {_eq: "x"}}';
    for (let i = 0; i < 200; i++) w = `{_not: ${w}}`;
    assertHasuraError(await h.q(`{ links_links(where: ${w}) { code } }`, alice));
  });

  await t.test('pathological nesting is refused, not crashed on', async () => {
    const deep = `{ links_links(where: ${'{_not: '.repeat(20_000)}{}${'}'.repeat(20_000)}) { code } }`;
    assertHasuraError(await h.q(deep, alice));
    let w: unknown = {};
    for (let i = 0; i < 5_000; i++) w = { _not: w };
    assertHasuraError(await h.q('query ($w: links_links_bool_exp) { links_links(where: $w) { code } }', alice, { w }));
  });

  await t.test('huge _in list is one parameter', async () => {
    const codes = Array.from({ length: 50_000 }, (_, i) => `code${i}`);
    const r = await h.q('query ($c: [String!]) { links_links_aggregate(where: {code: {_in: $c}}) { aggregate { count } } }', alice, { c: codes });
    assert.deepEqual(r.data, { links_links_aggregate: { aggregate: { count: 6 } } });
  });

  await t.test('fragment cycles and unknown fragments', async () => {
    assertHasuraError(await h.q('{ links_links { ...A } } fragment A on links_links { link_tags { link { ...A } } }', alice), 'validation-failed');
    assertHasuraError(await h.q('{ links_links { ...Nope } }', alice), 'validation-failed');
  });

  await t.test('database errors do not leak SQL to non-admin', async () => {
    const r = await h.q('{ links_links(where: {created_at: {_gt: "yesterday-ish"}}) { code } }', alice);
    assertHasuraError(r, 'data-exception');
  });
});

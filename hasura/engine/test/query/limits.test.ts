/**
 * GraphQL limits (issue 11): sizes measured over the fragment graph without expanding it, the
 * env ceilings, and Hasura's api_limits metadata per role. The attacks are the exact ones of the
 * issue; each must be refused with a Hasura-shaped error and leave the engine serving.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse, type OperationDefinitionNode } from 'graphql';
import { admin, anonymous, harness, user } from './helper.ts';
import { linksMetadata } from './fixtures.ts';
import { USERS } from './fixtures.ts';
import { measureOperation } from '../../src/limits/measure.ts';
import { parseApiLimits, RateLimiter } from '../../src/limits/api-limits.ts';
import type { GraphQLResponse, Metadata } from '../../src/contract.ts';

const op = (q: string) => {
  const doc = parse(q);
  return { doc, op: doc.definitions.find((d): d is OperationDefinitionNode => d.kind === 'OperationDefinition')! };
};
const measure = (q: string) => {
  const { doc, op: o } = op(q);
  return measureOperation(doc, o);
};

/** The attack: `count` fragments, each spreading the next twice; the last selects `leaf`. */
function fragmentBomb(count: number, leaf = '__typename', type = 'query_root'): string {
  const parts = ['query { ...F0 }'];
  for (let i = 0; i < count - 1; i++) parts.push(`fragment F${i} on ${type} { ...F${i + 1} ...F${i + 1} }`);
  parts.push(`fragment F${count - 1} on ${type} { ${leaf} }`);
  return parts.join('\n');
}

function errorOf(r: GraphQLResponse): { code: string; message: string } {
  assert.equal(r.data, undefined, JSON.stringify(r));
  const e = r.errors?.[0];
  assert.ok(e, JSON.stringify(r));
  assert.equal(e.extensions.internal, undefined);
  return { code: e.extensions.code, message: e.message };
}

void test('measureOperation counts after fragment expansion, without expanding', () => {
  assert.deepEqual(measure('{ a b { c d { e } } }'), { depth: 3, nodes: 5, aliases: 0 });
  assert.deepEqual(measure('{ x: a y: a ... on Q { z: b { c } } }'), { depth: 2, nodes: 4, aliases: 3 });
  // A fragment used twice counts twice, its depth adds to where it is spread.
  assert.deepEqual(measure('{ a { ...F } b: a { ...F } } fragment F on T { c { d } }'), { depth: 3, nodes: 6, aliases: 1 });
  // 26 fragments doubling: 2^25 leaves (the 2^26 with a two-field leaf), measured in 26 walks.
  const bomb = fragmentBomb(26);
  assert.ok(bomb.length < 1600, `the attack is ${bomb.length} bytes`);
  assert.deepEqual(measure(bomb), { depth: 1, nodes: 2 ** 25, aliases: 0 });
  assert.equal(measure(fragmentBomb(26, 'a: __typename b: __typename')).nodes, 2 ** 26);
  // 80 levels: the number is past 2^53 precision but still far past any limit, never Infinity-crashed.
  assert.ok(measure(fragmentBomb(80)).nodes > 1e20);
  // Unknown fragments measure as nothing (the resolver names them).
  assert.deepEqual(measure('{ a ...Nope }'), { depth: 1, nodes: 1, aliases: 0 });
});

void test('measureOperation refuses fragment cycles before recursing on them', () => {
  assert.throws(() => measure('{ ...A } fragment A on Q { ...A }'), /the fragment definition\(s\) A form a cycle/);
  assert.throws(() => measure('{ ...A } fragment A on Q { x { ...B } } fragment B on X { ...C } fragment C on X { ...A }'), /A, B and C form a cycle/);
  // A long chain is walked with an explicit stack: 20,000 fragments, no stack overflow.
  const parts = ['{ ...F0 }'];
  for (let i = 0; i < 20_000; i++) parts.push(`fragment F${i} on Q { ...F${i + 1} }`);
  parts.push('fragment F20000 on Q { x }');
  assert.equal(measure(parts.join('\n')).nodes, 1);
  parts[parts.length - 1] = 'fragment F20000 on Q { ...F0 }';
  assert.throws(() => measure(parts.join('\n')), /form a cycle/);
});

void test('the engine refuses hostile operations and keeps serving', async (t) => {
  const h = await harness(undefined, { maxDepth: 10, maxNodes: 1000, maxAliases: 50, maxVariablesBytes: 10_000 });
  t.after(() => h.close());
  const alice = user(USERS.alice);
  const benign = async () => assert.deepEqual((await h.q('{ links_links_aggregate { aggregate { count } } }', alice)).data, { links_links_aggregate: { aggregate: { count: 6 } } });

  await t.test('the 1.5 KB anonymous fragment bomb (2^26 fields)', async () => {
    const e = errorOf(await h.q(fragmentBomb(26, 'a: __typename b: __typename'), anonymous));
    assert.equal(e.code, 'validation-failed');
    assert.equal(e.message, `the query exceeds the maximum allowed node count of 1000 (it has ${2 ** 26} fields once fragments are expanded)`);
    // Same attack on a real field of the anonymous schema.
    const e2 = errorOf(await h.q(fragmentBomb(26, 'links_domains { hostname }'), anonymous));
    assert.match(e2.message, /maximum allowed node count of 1000 \(it has 67108864 fields/);
    await benign();
  });

  await t.test('depth, width and alias bombs', async () => {
    let q = 'code';
    for (let i = 0; i < 12; i++) q = `link_tags { link { ${q} } }`;
    assert.deepEqual(errorOf(await h.q(`{ links_links { ${q} } }`, alice)), { code: 'validation-failed', message: 'the query exceeds the maximum allowed depth of 10' });
    // Depth through fragments counts where they are spread.
    const viaFragments = '{ links_links { ...A } } fragment A on links_links { link_tags { link { ...B } } } fragment B on links_links { link_tags { link { link_tags { link { link_tags { link { link_tags { link { link_tags { link { code } } } } } } } } } } }';
    assert.match(errorOf(await h.q(viaFragments, alice)).message, /maximum allowed depth of 10/);
    const wide = Array.from({ length: 1200 }, () => 'code').join(' ');
    assert.match(errorOf(await h.q(`{ links_links { ${wide} } }`, alice)).message, /node count of 1000 \(it has 1201/);
    const aliases = Array.from({ length: 60 }, (_, i) => `a${i}: code`).join(' ');
    assert.deepEqual(errorOf(await h.q(`{ links_links { ${aliases} } }`, alice)), { code: 'validation-failed', message: 'the query exceeds the maximum allowed alias count of 50' });
    await benign();
  });

  await t.test('huge literals and huge variables', async () => {
    const big = 'x'.repeat(200_000);
    const r = await h.q(`{ links_links(where: {code: {_eq: "${big}"}}) { code } }`, alice);
    assert.deepEqual(r.data, { links_links: [] }, 'a long literal is a value, answered');
    const e = errorOf(await h.q('query ($v: String!) { links_links(where: {code: {_eq: $v}}) { code } }', alice, { v: big }));
    assert.deepEqual(e, { code: 'validation-failed', message: 'the variables exceed the maximum allowed size of 10000 bytes' });
    const many = errorOf(await h.q('query ($c: [String!]) { links_links(where: {code: {_in: $c}}) { code } }', alice, { c: Array.from({ length: 5000 }, (_, i) => `c${i}`) }));
    assert.match(many.message, /variables exceed/);
    await benign();
  });

  await t.test('a hard depth ceiling applies even with the depth limit off', async () => {
    const h0 = await harness(undefined, {});
    t.after(() => h0.close());
    const deep = `{ ${'a { '.repeat(1500)}b${' }'.repeat(1500)} }`;
    const r = await h0.q(deep, alice);
    assert.deepEqual(errorOf(r), { code: 'validation-failed', message: 'the query exceeds the maximum allowed depth of 1000' });
  });
});

function withApiLimits(apiLimits: unknown): Metadata {
  return { ...linksMetadata(), api_limits: apiLimits };
}

void test('api_limits metadata: depth and node limits per role, global default, disabled, admin exempt', async (t) => {
  const h = await harness(withApiLimits({
    depth_limit: { global: 2, per_role: { user: 3 } },
    node_limit: { global: 100, per_role: { anonymous: 2 } },
  }));
  t.after(() => h.close());
  const alice = user(USERS.alice);
  const d3 = '{ links_links { link_tags { tag_id } } }';
  const d4 = '{ links_links { link_tags { link { code } } } }';
  assert.ok((await h.q(d3, alice)).data, 'user: depth 3 allowed by its own entry');
  assert.equal(errorOf(await h.q(d4, alice)).message, 'the query exceeds the maximum allowed depth of 3');
  assert.ok((await h.q(d4, admin)).data, 'admin is exempt');
  assert.equal(errorOf(await h.q('{ links_domains { hostname } a: links_domains { hostname } }', anonymous)).message, 'the query exceeds the maximum allowed node count of 2 (it has 4 fields once fragments are expanded)');
  assert.ok((await h.q('{ links_domains { hostname } }', anonymous)).data);

  await h.engine.reload(withApiLimits({ disabled: true, depth_limit: { global: 1 } }));
  assert.ok((await h.q(d4, alice)).data, 'disabled: no limit applies');
  await h.engine.reload(withApiLimits({ depth_limit: { global: 1 } }));
  assert.match(errorOf(await h.q(d3, alice)).message, /depth of 1$/);
  await assert.rejects(h.engine.reload(withApiLimits({ depth_limit: { global: -1 } })), /non-negative integer/);
});

void test('api_limits rate_limit: per role and session variable, sliding window on the injected clock', async (t) => {
  let now = 1_000_000 * 60_000;
  const md = withApiLimits({ rate_limit: { global: { max_reqs_per_min: 3, unique_params: ['x-hasura-user-id'] }, per_role: { anonymous: { max_reqs_per_min: 1, unique_params: 'IP' } } } });
  const h = await harness(md, { now: () => now });
  t.after(() => h.close());
  const alice = user(USERS.alice);
  const bob = user(USERS.bob);
  const q = '{ links_links_aggregate { aggregate { count } } }';
  for (let i = 0; i < 3; i++) assert.ok((await h.q(q, alice)).data, `alice #${i + 1}`);
  const refused = errorOf(await h.q(q, alice));
  assert.deepEqual(refused, { code: 'rate-limit-exceeded', message: 'rate limit exceeded: at most 3 operations per minute for role "user"' });
  assert.ok((await h.q(q, bob)).data, 'bob has his own window');
  assert.ok((await h.q(q, admin)).data, 'admin is exempt');
  now += 60_000 * 2;
  assert.ok((await h.q(q, alice)).data, 'the window slid');
  // Anonymous by IP: the engine receives the address from the HTTP layer.
  assert.ok((await h.engine.execute({ query: '{ links_domains { hostname } }' }, anonymous, { clientIp: '10.0.0.1' })).data);
  assert.equal(errorOf(await h.engine.execute({ query: '{ links_domains { hostname } }' }, anonymous, { clientIp: '10.0.0.1' })).code, 'rate-limit-exceeded');
  assert.ok((await h.engine.execute({ query: '{ links_domains { hostname } }' }, anonymous, { clientIp: '10.0.0.2' })).data);
});

void test('RateLimiter: a window refills at the configured rate only, never all at once after idling', () => {
  let now = 0;
  const r = new RateLimiter(() => now);
  for (let i = 0; i < 60; i++) assert.ok(r.take('k', 60));
  assert.equal(r.take('k', 60), false);
  now = 60_000 + 30_000; // half into the next window: half the previous window still counts
  let ok = 0;
  while (r.take('k', 60)) ok++;
  assert.equal(ok, 30);
  now = 10 * 60_000; // long idle: a full window again, not more
  ok = 0;
  while (r.take('k', 60)) ok++;
  assert.equal(ok, 60);
});

void test('parseApiLimits: the documented shape, refusals with a path', () => {
  const l = parseApiLimits({
    disabled: false,
    depth_limit: { global: 5, per_role: { myrole: 3 } },
    node_limit: { global: 5, per_role: { myrole: 3 } },
    time_limit: { global: 5, per_role: { myrole: 3 } },
    batch_limit: { global: 5, per_role: { myrole: 3 } },
    rate_limit: { global: { unique_params: 'IP', max_reqs_per_min: 100 }, per_role: { myrole: { unique_params: ['x-hasura-id', 'x-hasura-team-id'], max_reqs_per_min: 10 } } },
  });
  assert.equal(l.depth?.perRole.myrole, 3);
  assert.deepEqual(l.rate?.perRole.myrole, { maxReqsPerMin: 10, uniqueParams: ['x-hasura-id', 'x-hasura-team-id'] });
  assert.throws(() => parseApiLimits({ node_limit: { global: 'lots' } }), (e: Error & { path?: string }) => e.path === '$.node_limit.global');
  assert.throws(() => parseApiLimits({ rate_limit: { global: { max_reqs_per_min: 1, unique_params: 7 } } }), /"IP" or a list/);
});

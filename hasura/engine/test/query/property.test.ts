/**
 * Property: whatever where / order_by / distinct_on / relationship / aggregate a `user` sends, every
 * row that comes back belongs to that user (permission filters are always ANDed in, docs/research/hasura-v2.md §D).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { harness, user } from './helper.ts';
import { USERS } from './fixtures.ts';

const uuids = [...Object.values(USERS), '30000000-0000-4000-8000-000000000001', '30000000-0000-4000-8000-000000000007'];
const gql = (v: unknown): string => JSON.stringify(v);

const leaf = fc.oneof(
  fc.constantFrom('active', 'disabled', 'code1', 'code7', '%', 'code%').map((s) => `code: {_like: ${gql(s)}}`),
  fc.constantFrom(...uuids).map((u) => `owner_id: {_eq: ${gql(u)}}`),
  fc.constantFrom(...uuids).map((u) => `owner_id: {_neq: ${gql(u)}}`),
  fc.subarray(uuids).map((us) => `owner_id: {_in: ${gql(us)}}`),
  fc.subarray(uuids).map((us) => `owner_id: {_nin: ${gql(us)}}`),
  fc.boolean().map((b) => `title: {_is_null: ${b}}`),
  fc.integer({ min: 0, max: 130 }).map((n) => `click_count: {_gt: "${n}"}`),
  fc.constantFrom('work', 'fun').map((n) => `link_tags: {tag: {name: {_eq: ${gql(n)}}}}`),
  fc.constantFrom('a.example.com', 'b.example.com').map((h) => `domain: {hostname: {_eq: ${gql(h)}}}`),
  fc.constant('daily_stats: {clicks: {_gt: 2}}'),
);
const where: fc.Arbitrary<string> = fc.letrec<{ w: string }>((tie) => ({
  w: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('w'), { maxLength: 3 }).map((ws) => `_or: [${ws.map((w) => `{${w}}`).join(', ')}]`),
    fc.array(tie('w'), { maxLength: 3 }).map((ws) => `_and: [${ws.map((w) => `{${w}}`).join(', ')}]`),
    tie('w').map((w) => `_not: {${w}}`),
  ),
})).w;
const orderBy = fc.constantFrom('{code: asc}', '{created_at: desc_nulls_last}', '{domain: {hostname: asc}}', '{daily_stats_aggregate: {count: desc}}', '{owner_id: asc}');

void test('a user never sees another user\'s rows', async (t) => {
  const h = await harness();
  t.after(() => h.close());
  await fc.assert(
    fc.asyncProperty(fc.constantFrom('alice', 'bob', 'carol') as fc.Arbitrary<keyof typeof USERS>, where, orderBy, fc.boolean(), fc.option(fc.integer({ min: 0, max: 20 })),
      async (who, w, ob, distinct, limit) => {
        const me = USERS[who];
        const args = `where: {${w}}, order_by: [${distinct ? '{owner_id: asc}, ' : ''}${ob}]${distinct ? ', distinct_on: [owner_id]' : ''}${limit === null ? '' : `, limit: ${limit}`}`;
        const res = await h.q(`{
          links_links(${args}) { owner_id link_tags { link { owner_id } tag { owner_id } } domain { owner_id } daily_stats { link { owner_id } } }
          agg: links_links_aggregate(${args}) { aggregate { count max { owner_id: code } } nodes { owner_id } }
          links_tags(where: {link_tags: {link: {${w}}}}) { owner_id }
          all: links_links_aggregate { aggregate { count } }
          clicks: links_clicks_aggregate(where: {link: {${w}}}) { nodes { link { owner_id } } }
        }`, user(me));
        assert.ok(res.data, JSON.stringify(res.errors));
        const owners = JSON.stringify(res.data).match(/"owner_id":"[^"]*"/g) ?? [];
        for (const o of owners) if (!o.includes('code')) assert.equal(o, `"owner_id":"${me}"`);
        const d = res.data as { all: { aggregate: { count: number } } };
        assert.equal(d.all.aggregate.count, who === 'alice' ? 6 : who === 'bob' ? 4 : 2);
      }),
    { numRuns: 150 },
  );
});

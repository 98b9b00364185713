import { test } from 'node:test';
import assert from 'node:assert/strict';
import { harness, user } from './helper.ts';
import { USERS } from './fixtures.ts';

test('smoke', async (t) => {
  const h = await harness();
  t.after(() => h.close());
  const r = await h.q(`{ links_links(limit: 2, order_by: {code: asc}) { code click_count domain { hostname } link_tags { tag { name } } }
    links_links_aggregate(where: {status: {_eq: "active"}}) { aggregate { count sum { click_count } avg { redirect_type } } } }`);
  console.log(JSON.stringify(r));
  const u = await h.q(`{ links_links { code } }`, user(USERS.bob));
  console.log(JSON.stringify(u));
  assert.ok(r.data);
});

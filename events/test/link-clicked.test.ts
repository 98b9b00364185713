/**
 * link.clicked and link.limit_reached from the click counters (store.pollClicks, the link_clicked
 * scheduler job; migration 1764900001710_events_link_clicked_poll): real PostgreSQL, real receiver.
 * The counter is bumped by SQL as the click worker's links.ingest_click_batch does it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { receiver, setup, TestClock, type Env } from './helper.ts';

interface Body {
  type: string;
  data: { link: { id: string; code?: string }; clicks?: number; from?: string | null; to?: string | null; max_clicks?: number; click_count?: number };
}

const bump = (e: Env, linkId: unknown, n: number) =>
  e.admin.query(`UPDATE links.links SET click_count = click_count + $2, last_clicked_at = now() WHERE id = $1`, [linkId, n]);

void test('link.clicked: one message per window with the counter increase, told once; limit_reached once on crossing; a new subscriber hears no history', async (t) => {
  const e = await setup(t);
  const r = await receiver(t);
  const owner = await e.newUser();
  const other = await e.newUser();
  // Clicks before anyone subscribed are history: the endpoint's creation marks them as told.
  const old = await e.newLink(owner);
  await bump(e, old.id, 40);
  await e.newEndpoint(owner, r.url, { event_types: ['link.clicked', 'link.limit_reached'] });
  const link = await e.newLink(owner, { max_clicks: 5 });
  const theirs = await e.newLink(other);
  const clock = new TestClock();
  const s = await e.build({}, { clock });

  await bump(e, link.id, 3);
  await bump(e, theirs.id, 7); // no endpoint of that owner: nothing, and no watermark written
  assert.equal(await s.store.pollClicks(clock.now()), 1);
  assert.equal(await s.store.pollClicks(clock.now()), 0, 'a window is told once');
  await bump(e, link.id, 4); // 3 -> 7 crosses max_clicks 5
  await bump(e, old.id, 2); // 40 -> 42: only the 2 after the subscription
  assert.equal(await s.store.pollClicks(clock.now()), 2);
  while ((await s.runner.runOnce()) > 0);

  const got = r.got.map((g) => JSON.parse(g.body) as Body);
  const clicked = got.filter((b) => b.type === 'link.clicked');
  assert.deepEqual(clicked.filter((b) => b.data.link.id === link.id).map((b) => b.data.clicks).sort(), [3, 4]);
  assert.deepEqual(clicked.filter((b) => b.data.link.id === old.id).map((b) => b.data.clicks), [2]);
  assert.equal(clicked.filter((b) => b.data.link.id === theirs.id).length, 0);
  const second = clicked.find((b) => b.data.link.id === link.id && b.data.clicks === 4)!;
  assert.ok(second.data.from && second.data.to && second.data.from <= second.data.to, 'the window runs from the previous report to the last click');
  const limits = got.filter((b) => b.type === 'link.limit_reached');
  assert.equal(limits.length, 1);
  assert.deepEqual([limits[0]!.data.link.id, limits[0]!.data.max_clicks, limits[0]!.data.click_count], [link.id, 5, 7]);
  assert.ok(!('password' in limits[0]!.data.link));
  const { rows } = await e.admin.query<{ n: string }>(`SELECT count(*) AS n FROM webhooks.click_watermarks WHERE link_id = $1`, [theirs.id]);
  assert.equal(rows[0]!.n, '0');
});

void test('link.clicked: two pollers at once tell each window once (the watermark moves only from the value read)', async (t) => {
  const e = await setup(t);
  const r = await receiver(t);
  const owner = await e.newUser();
  await e.newEndpoint(owner, r.url);
  const links = [];
  for (let i = 0; i < 20; i++) links.push(await e.newLink(owner));
  const clock = new TestClock();
  const a = await e.build({}, { clock });
  const b = await e.build({}, { clock });
  let expected = 0;
  for (let round = 0; round < 5; round++) {
    for (const [i, l] of links.entries()) {
      await bump(e, l.id, i + round + 1);
      expected += i + round + 1;
    }
    await Promise.all([a.store.pollClicks(clock.now(), 7), b.store.pollClicks(clock.now(), 7), a.store.pollClicks(clock.now()), b.store.pollClicks(clock.now())]);
  }
  while ((await a.store.pollClicks(clock.now())) > 0);
  const { rows } = await e.admin.query<{ n: string; msgs: string }>(
    `SELECT coalesce(sum((payload -> 'data' ->> 'clicks')::bigint), 0)::text AS n, count(*)::text AS msgs FROM webhooks.messages WHERE event_type = 'link.clicked'`,
  );
  assert.equal(Number(rows[0]!.n), expected, 'every click told exactly once');
  const counters = await e.admin.query<{ n: string }>(`SELECT sum(click_count)::text AS n FROM links.links WHERE owner_id = $1`, [owner]);
  assert.equal(Number(counters.rows[0]!.n), expected);
  assert.ok(Number(rows[0]!.msgs) >= links.length);
});

void test('link.clicked through the scheduler: the link_clicked job runs on its window and reports what it told', async (t) => {
  const e = await setup(t);
  const r = await receiver(t);
  const owner = await e.newUser();
  await e.newEndpoint(owner, r.url, { event_types: ['link.clicked'] });
  const link = await e.newLink(owner);
  const clock = new TestClock();
  const s = await e.build({ EVENTS_CLICK_BATCH_MS: '10000' }, { clock });
  await bump(e, link.id, 2);
  const first = (await s.scheduler.tick()).find((o) => o.job === 'link_clicked');
  assert.deepEqual([first?.outcome, first?.result], ['ok', { links: 1 }]);
  await bump(e, link.id, 1);
  assert.equal((await s.scheduler.tick()).find((o) => o.job === 'link_clicked'), undefined, 'not due before its window');
  clock.advance(10_001);
  const second = (await s.scheduler.tick()).find((o) => o.job === 'link_clicked');
  assert.deepEqual(second?.result, { links: 1 });
  await s.runner.runOnce();
  assert.deepEqual(r.got.map((g) => (JSON.parse(g.body) as Body).data.clicks).sort(), [1, 2]);
});

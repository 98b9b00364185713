import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { hasuraPayload, newSecret, postEvent, receiver, setup, TestClock } from './helper.ts';

void test('a link insert becomes a signed link.created delivery that an independent Standard Webhooks implementation verifies', async (t) => {
  const e = await setup(t);
  const r = await receiver(t);
  const owner = await e.newUser();
  const ep = await e.newEndpoint(owner, r.url);
  const s = await e.build();
  const link = await e.newLink(owner);

  const res = await postEvent(s, hasuraPayload('links.links', 'INSERT', { new: link }));
  assert.equal(res.statusCode, 200, res.body);
  assert.deepEqual(res.json().events, ['link.created']);
  assert.equal(await s.runner.runOnce(), 1);

  assert.equal(r.got.length, 1);
  const got = r.got[0]!;
  const verified = new Webhook(ep.secret).verify(got.body, got.headers as Record<string, string>) as { type: string; data: { link: { id: string; password?: unknown } } };
  assert.equal(verified.type, 'link.created');
  assert.equal(verified.data.link.id, link.id);
  assert.ok(!('password' in verified.data.link));
  // A tampered body fails the same verifier: the check above can fail.
  assert.throws(() => new Webhook(ep.secret).verify(got.body.replace('link.created', 'link.deleted'), got.headers as Record<string, string>));
  assert.throws(() => new Webhook(newSecret()).verify(got.body, got.headers as Record<string, string>));

  const { rows } = await e.admin.query(`SELECT status, attempts, last_response_code FROM webhooks.deliveries`);
  assert.deepEqual(rows, [{ status: 'succeeded', attempts: 1, last_response_code: 200 }]);
  const log = await e.admin.query(`SELECT attempt, response_code, duration_ms >= 0 AS timed FROM webhooks.attempts`);
  assert.deepEqual(log.rows, [{ attempt: 1, response_code: 200, timed: true }]);
});

void test('secret rotation: both the new and the replaced secret verify for a day, then only the new one', async (t) => {
  const e = await setup(t);
  const r = await receiver(t);
  const owner = await e.newUser();
  const ep = await e.newEndpoint(owner, r.url);
  const rotated = newSecret();
  await e.admin.query(`UPDATE webhooks.endpoints SET secret = $2 WHERE id = $1`, [ep.id, rotated]);
  const s = await e.build();
  await postEvent(s, hasuraPayload('links.links', 'INSERT', { new: await e.newLink(owner) }));
  await s.runner.runOnce();
  const got = r.got[0]!;
  assert.equal(String(got.headers['webhook-signature']).split(' ').length, 2);
  new Webhook(rotated).verify(got.body, got.headers as Record<string, string>);
  new Webhook(ep.secret).verify(got.body, got.headers as Record<string, string>);

  await e.admin.query(`UPDATE webhooks.endpoints SET previous_secret_expires_at = now() - interval '1 second' WHERE id = $1`, [ep.id]);
  await postEvent(s, hasuraPayload('links.links', 'INSERT', { new: await e.newLink(owner) }));
  await s.runner.runOnce();
  const later = r.got[1]!;
  assert.equal(String(later.headers['webhook-signature']).split(' ').length, 1);
  new Webhook(rotated).verify(later.body, later.headers as Record<string, string>);
  assert.throws(() => new Webhook(ep.secret).verify(later.body, later.headers as Record<string, string>));
});

void test('the receiver: wrong secret 401, malformed 400, redelivered Hasura event is one message, event-type filter, unknown table ignored', async (t) => {
  const e = await setup(t);
  const r = await receiver(t);
  const owner = await e.newUser();
  await e.newEndpoint(owner, r.url, { event_types: ['link.deleted'] });
  const s = await e.build();
  const link = await e.newLink(owner);

  assert.equal((await postEvent(s, hasuraPayload('links.links', 'INSERT', { new: link }), 'wrong-secret-value')).statusCode, 401);
  const bad = await postEvent(s, { event: { op: 'NOPE' } });
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.json().error.code, 'VALIDATION_FAILED');

  // Not subscribed: nothing stored.
  assert.equal((await postEvent(s, hasuraPayload('links.links', 'INSERT', { new: link }))).json().deliveries, 0);
  const del = hasuraPayload('links.links', 'DELETE', { old: link }, 'same-event-id');
  assert.equal((await postEvent(s, del)).json().deliveries, 1);
  assert.equal((await postEvent(s, del)).json().deliveries, 0, 'a redelivery (Hasura is at-least-once) adds nothing');
  const other = await postEvent(s, hasuraPayload('public.other', 'INSERT', { new: { id: 1 } }));
  assert.equal(other.statusCode, 200);
  assert.match(other.json().ignored, /no user events/);
  const { rows } = await e.admin.query(`SELECT event_type FROM webhooks.deliveries`);
  assert.deepEqual(rows, [{ event_type: 'link.deleted' }]);
});

void test('click-counter churn is neither link.updated nor link.clicked (the counters are polled: link-clicked.test.ts); click rows are batched into one link.clicked', async (t) => {
  const e = await setup(t);
  const r = await receiver(t);
  const owner = await e.newUser();
  await e.newEndpoint(owner, r.url);
  const clock = new TestClock();
  const s = await e.build({ EVENTS_CLICK_BATCH_MS: '60000' }, { clock });
  const link = await e.newLink(owner, { max_clicks: 3 });

  // An event from an older links_webhooks that still listed click_count: nothing comes of it, or the
  // link_clicked job (which reads the counter itself) and this would count the same clicks twice.
  const churn = await postEvent(s, hasuraPayload('links.links', 'UPDATE', { old: { ...link, click_count: 2 }, new: { ...link, click_count: 3 } }));
  assert.deepEqual([churn.json().events, churn.json().clicks, churn.json().ignored], [[], 0, 'only click counters changed']);
  const edit = await postEvent(s, hasuraPayload('links.links', 'UPDATE', { old: link, new: { ...link, title: 'New' } }));
  assert.deepEqual(edit.json().events, ['link.updated']);

  for (let i = 0; i < 5; i++) {
    await postEvent(s, hasuraPayload('links.clicks', 'INSERT', { new: { link_id: link.id, clicked_at: clock.now().toISOString(), is_bot: false } }));
  }
  await postEvent(s, hasuraPayload('links.clicks', 'INSERT', { new: { link_id: link.id, clicked_at: clock.now().toISOString(), is_bot: true } }));
  assert.equal(await s.store.flushClickBatches(clock.now(), 60_000), 0, 'window still open');
  clock.advance(61_000);
  assert.equal(await s.store.flushClickBatches(clock.now(), 60_000), 1);
  await s.runner.runOnce();
  const types = r.got.map((g) => (JSON.parse(g.body) as { type: string }).type).sort();
  assert.deepEqual(types, ['link.clicked', 'link.updated']);
  const clicked = r.got.map((g) => JSON.parse(g.body) as { type: string; data: { clicks: number } }).find((b) => b.type === 'link.clicked')!;
  // The 5 non-bot click rows; not the bot.
  assert.equal(clicked.data.clicks, 5);
});

void test('retries with exponential backoff on a controlled clock, then dead letter, endpoint disabled and owner notified; replay delivers', async (t) => {
  const e = await setup(t);
  let failing = true;
  const r = await receiver(t, (_q, res) => {
    res.statusCode = failing ? 503 : 200;
    res.end(failing ? 'down' : 'ok');
  });
  const owner = await e.newUser();
  const ep = await e.newEndpoint(owner, r.url);
  const clock = new TestClock();
  // random() = 1: the delay is exactly the exponential (jitter's upper bound).
  const s = await e.build(
    { EVENTS_RETRY_BASE_MS: '1000', EVENTS_RETRY_FACTOR: '2', EVENTS_RETRY_CAP_MS: '3600000', EVENTS_MAX_ATTEMPTS: '4', EVENTS_DISABLE_AFTER_MS: '5000', EVENTS_DISABLE_MIN_FAILURES: '4' },
    { clock, random: () => 1 },
  );
  await postEvent(s, hasuraPayload('links.links', 'INSERT', { new: await e.newLink(owner) }));

  const due = async () => (await e.admin.query<{ next_attempt_at: Date; attempts: number; status: string }>(`SELECT next_attempt_at, attempts, status FROM webhooks.deliveries`)).rows[0]!;
  const delays: number[] = [];
  for (let attempt = 1; attempt <= 4; attempt++) {
    assert.equal(await s.runner.runOnce(), 1, `attempt ${attempt} runs when due`);
    const d = await due();
    delays.push(d.next_attempt_at.getTime() - clock.now().getTime());
    assert.equal(await s.runner.runOnce(), 0, 'not due again before its backoff');
    clock.advance(delays.at(-1)!);
  }
  // 1 s, 2 s, 4 s after attempts 1–3; the 4th attempt is the last (dead, no further delay used).
  assert.deepEqual(delays.slice(0, 3), [1000, 2000, 4000]);
  assert.equal((await due()).status, 'dead');
  assert.equal(r.got.length, 4);
  const dl = await e.admin.query(`SELECT attempts, last_error FROM webhooks.dead_letters`);
  assert.deepEqual(dl.rows, [{ attempts: 4, last_error: 'http_503' }]);
  const epRow = (await e.admin.query(`SELECT enabled, disabled_reason FROM webhooks.endpoints WHERE id = $1`, [ep.id])).rows[0] as { enabled: boolean; disabled_reason: string };
  assert.equal(epRow.enabled, false);
  assert.match(epRow.disabled_reason, /4 consecutive failed deliveries/);
  const notes = await e.admin.query(`SELECT kind FROM webhooks.notifications WHERE owner_id = $1`, [owner]);
  assert.deepEqual(notes.rows, [{ kind: 'endpoint_disabled' }]);

  // The owner fixes the receiver, re-enables the endpoint and replays the dead delivery.
  failing = false;
  await e.admin.query(`UPDATE webhooks.endpoints SET enabled = true WHERE id = $1`, [ep.id]);
  await e.admin.query(`UPDATE webhooks.deliveries SET replay_requested_at = now()`);
  clock.advance(1000);
  assert.equal(await s.runner.runOnce(), 1);
  assert.equal((await due()).status, 'succeeded');
  assert.equal(r.got.length, 5);
});

/**
 * Cron triggers and one-off scheduled events (upstream server/tests-py/test_scheduled_triggers.py:
 * TestScheduledEvent, TestCronTrigger) with a real webhook server and a controlled clock: events
 * generated ahead, delivered when due with Hasura's payload, retried, dead past the tolerance,
 * listed, deleted; the cron trigger in export_metadata; two processors never send one event twice.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { admin, drain, eventsApp, scheduledProcessor, startReceiver } from './helper.ts';

void test('one-off scheduled event: due, delivered with its payload, invocation logged; retries; listing', async (t) => {
  const ta = await eventsApp(t);
  const hook = await startReceiver(t);
  const at = new Date(ta.clock.now().getTime() + 60_000);
  const created = await admin(ta.app, {
    type: 'create_scheduled_event',
    args: { webhook: hook.url, schedule_at: at.toISOString(), payload: { k: 'v' }, headers: [{ name: 'X-Hello', value: 'world' }], comment: 'say hi', retry_conf: { num_retries: 1, retry_interval_seconds: 5 } },
  });
  assert.equal(created.status, 200, JSON.stringify(created.body));
  assert.equal(created.body.message, 'success');
  const id = created.body.event_id as string;
  const p = scheduledProcessor(t, ta);
  await drain(p);
  assert.equal(hook.deliveries.length, 0, 'not due yet');
  let fail = true;
  hook.respond = (_d, res) => res.writeHead(fail ? 500 : 200).end(fail ? 'no' : 'yes');
  ta.clock.advance(61_000);
  await drain(p);
  assert.equal(hook.deliveries.length, 1);
  const body = hook.deliveries[0]!.body;
  // ScheduledEventWebhookPayload: no name for one-off events, created_at present.
  assert.deepEqual(Object.keys(body), ['id', 'scheduled_time', 'payload', 'comment', 'created_at']);
  assert.equal(body.id, id);
  assert.equal(new Date(body.scheduled_time).getTime(), at.getTime());
  assert.deepEqual(body.payload, { k: 'v' });
  assert.equal(body.comment, 'say hi');
  assert.equal(hook.deliveries[0]!.headers['x-hello'], 'world');
  fail = false;
  ta.clock.advance(4_000);
  await drain(p);
  assert.equal(hook.deliveries.length, 1, 'retry_interval_seconds not yet passed');
  ta.clock.advance(2_000);
  await drain(p);
  assert.equal(hook.deliveries.length, 2);
  const listed = await admin(ta.app, { type: 'get_scheduled_events', args: { type: 'one_off', get_rows_count: true } });
  assert.equal(listed.body.count, 1);
  assert.deepEqual([listed.body.events[0].id, listed.body.events[0].status, listed.body.events[0].tries], [id, 'delivered', 2]);
  const inv = await admin(ta.app, { type: 'get_scheduled_event_invocations', args: { type: 'one_off', event_id: id } });
  assert.deepEqual(inv.body.invocations.map((i: { status: number }) => i.status).sort(), [200, 500]);
  assert.equal(inv.body.invocations[0].request.version, '1');

  // Past its tolerance an event is dead, never sent.
  const old = await admin(ta.app, { type: 'create_scheduled_event', args: { webhook: hook.url, schedule_at: new Date(ta.clock.now().getTime() - 7 * 3600_000).toISOString() } });
  await drain(p);
  assert.equal(hook.deliveries.length, 2);
  const dead = await admin(ta.app, { type: 'get_scheduled_events', args: { type: 'one_off', status: ['dead'] } });
  assert.deepEqual(dead.body.events.map((e: { id: string }) => e.id), [old.body.event_id]);

  // delete_scheduled_event; an unknown id is refused.
  const later = await admin(ta.app, { type: 'create_scheduled_event', args: { webhook: hook.url, schedule_at: new Date(ta.clock.now().getTime() + 3600_000).toISOString() } });
  assert.deepEqual((await admin(ta.app, { type: 'delete_scheduled_event', args: { type: 'one_off', event_id: later.body.event_id } })).body, { message: 'success' });
  assert.equal((await admin(ta.app, { type: 'delete_scheduled_event', args: { type: 'one_off', event_id: later.body.event_id } })).status, 400);
  const bad = await admin(ta.app, { type: 'create_scheduled_event', args: { webhook: hook.url, schedule_at: 'tomorrow' } });
  assert.deepEqual([bad.status, bad.body.code], [400, 'parse-failed']);
});

void test('cron trigger: 100 events generated ahead, delivered on schedule by one of two processors, replaced, deleted', async (t) => {
  const ta = await eventsApp(t);
  const hook = await startReceiver(t);
  const create = await admin(ta.app, {
    type: 'create_cron_trigger',
    args: { name: 'every_five', webhook: hook.url, schedule: '*/5 * * * *', payload: { job: 'purge' }, include_in_metadata: true, comment: 'purge job' },
  });
  assert.equal(create.status, 200, JSON.stringify(create.body));
  const dup = await admin(ta.app, { type: 'create_cron_trigger', args: { name: 'every_five', webhook: hook.url, schedule: '* * * * *', include_in_metadata: true } });
  assert.deepEqual([dup.status, dup.body.code], [400, 'already-exists']);
  const badCron = await admin(ta.app, { type: 'create_cron_trigger', args: { name: 'bad', webhook: hook.url, schedule: '61 * * * *', include_in_metadata: true } });
  assert.deepEqual([badCron.status, badCron.body.code], [400, 'parse-failed']);

  const exported = await admin(ta.app, { type: 'export_metadata', args: {} });
  assert.deepEqual(exported.body.cron_triggers.map((c: { name: string; schedule: string }) => [c.name, c.schedule]), [['every_five', '*/5 * * * *']]);
  const listedTriggers = await admin(ta.app, { type: 'get_cron_triggers', args: {} });
  assert.deepEqual(listedTriggers.body.cron_triggers.map((c: { name: string; comment: string }) => [c.name, c.comment]), [['every_five', 'purge job']]);

  const a = scheduledProcessor(t, ta);
  const b = scheduledProcessor(t, ta);
  await Promise.all([a.generate(), b.generate()]);
  const { rows } = await ta.pool.query("SELECT scheduled_time FROM hdb_catalog.hdb_cron_events WHERE trigger_name = 'every_five' ORDER BY 1");
  assert.equal(rows.length, 100, 'two generators, each time once');
  const first = rows[0].scheduled_time as Date;
  assert.equal(first.getUTCMinutes() % 5, 0);
  assert.ok(first.getTime() > ta.clock.now().getTime());

  ta.clock.advance(first.getTime() - ta.clock.now().getTime() + 1000);
  await Promise.all([a.tick(), b.tick()]);
  await Promise.all([a.idle(), b.idle()]);
  assert.equal(hook.deliveries.length, 1, 'one event, one delivery');
  const body = hook.deliveries[0]!.body;
  assert.deepEqual(Object.keys(body), ['id', 'name', 'scheduled_time', 'payload', 'comment']);
  assert.equal(body.name, 'every_five');
  assert.equal(new Date(body.scheduled_time).getTime(), first.getTime());
  assert.deepEqual(body.payload, { job: 'purge' });

  // Replacing the schedule drops the untried future events; the generator makes the new ones.
  const rep = await admin(ta.app, { type: 'create_cron_trigger', args: { name: 'every_five', webhook: hook.url, schedule: '0 * * * *', include_in_metadata: true, replace: true } });
  assert.equal(rep.status, 200, JSON.stringify(rep.body));
  await a.generate();
  const after = await ta.pool.query("SELECT scheduled_time FROM hdb_catalog.hdb_cron_events WHERE trigger_name = 'every_five' AND status = 'scheduled' ORDER BY 1");
  assert.equal(after.rowCount, 100);
  assert.ok(after.rows.every((r) => (r.scheduled_time as Date).getUTCMinutes() === 0));
  const listed = await admin(ta.app, { type: 'get_scheduled_events', args: { type: 'cron', trigger_name: 'every_five', status: ['delivered'] } });
  assert.equal(listed.body.events.length, 1);

  assert.deepEqual((await admin(ta.app, { type: 'delete_cron_trigger', args: { name: 'every_five' } })).body, { message: 'success' });
  const left = await ta.pool.query("SELECT count(*)::int AS n FROM hdb_catalog.hdb_cron_events WHERE status = 'scheduled'");
  assert.equal(left.rows[0].n, 0);
  const gone = await admin(ta.app, { type: 'delete_cron_trigger', args: { name: 'every_five' } });
  assert.deepEqual([gone.status, gone.body.code], [400, 'not-exists']);

  // replace_metadata without a cron trigger drops its future events too.
  await admin(ta.app, { type: 'create_cron_trigger', args: { name: 'hourly', webhook: hook.url, schedule: '0 * * * *', include_in_metadata: true } });
  await a.generate();
  const count = async () => (await ta.pool.query("SELECT count(*)::int AS n FROM hdb_catalog.hdb_cron_events WHERE trigger_name = 'hourly' AND status = 'scheduled'")).rows[0].n;
  assert.equal(await count(), 100);
  const { cron_triggers: _dropped, ...rest } = (await admin(ta.app, { type: 'export_metadata', args: {} })).body;
  assert.equal((await admin(ta.app, { type: 'replace_metadata', args: rest })).status, 200);
  assert.equal(await count(), 0);
});

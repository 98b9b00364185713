/**
 * Event log cleanup as Hasura v2 runs it (docs/docs/event-triggers/clean-up/*.mdx; metadata-api
 * event-triggers.mdx cleanup_event_trigger_logs, pause_event_trigger_cleanups,
 * resume_event_trigger_cleanups; upstream RQL/DDL/EventTrigger.hs toggleEventTriggerCleanupAction):
 * the scheduled cleaner honours `paused`, pause/resume flip it in the metadata by trigger or by
 * source, and the manual cleanup deletes only processed events older than the retention. The
 * clock is the test's (processor `now`), PostgreSQL is real.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { admin, createTrigger, drain, eventRows, eventsApp, invocations, processor, setupTable, startReceiver } from './helper.ts';

const TABLE = { schema: 'hge_tests', name: 'notes' };
const DDL = 'CREATE SCHEMA IF NOT EXISTS hge_tests; CREATE TABLE hge_tests.notes (id int PRIMARY KEY, body text)';
const HOUR = 3_600_000;

async function cleanupOf(app: Parameters<typeof admin>[0], name: string) {
  const exported = await admin(app, { type: 'export_metadata', args: {} });
  const tables = exported.body.sources[0].tables as Array<{ event_triggers?: Array<{ name: string; cleanup_config?: Record<string, unknown> }> }>;
  return tables.flatMap((t) => t.event_triggers ?? []).find((t) => t.name === name)?.cleanup_config;
}

void test('pause stops the scheduled cleaner, resume starts it again; old processed events and their invocations go, pending ones stay', async (t) => {
  const ta = await eventsApp(t);
  const hook = await startReceiver(t);
  await setupTable(ta.app, DDL, TABLE);
  const created = await createTrigger(ta.app, {
    name: 'notes_cleaned', table: TABLE, webhook: hook.url, insert: { columns: '*' },
    cleanup_config: { schedule: '0 * * * *', clear_older_than: 1, clean_invocation_logs: true, batch_size: 1 },
  });
  assert.equal(created.status, 200, JSON.stringify(created.body));
  await ta.pool.query(`INSERT INTO hge_tests.notes VALUES (1, 'a'), (2, 'b')`);
  const p = processor(t, ta);
  await drain(p);
  assert.equal(hook.deliveries.length, 2);

  // Paused by qualifier: the cleaner leaves the trigger alone even when runs are due.
  const paused = await admin(ta.app, { type: 'pause_event_trigger_cleanups', args: { event_triggers: [{ source_name: 'default', event_triggers: ['notes_cleaned'] }] } });
  assert.deepEqual(paused.body, { message: 'success' });
  assert.equal((await cleanupOf(ta.app, 'notes_cleaned'))?.paused, true);
  await p.cleanup();
  ta.clock.advance(2 * HOUR);
  assert.deepEqual(await p.cleanup(), []);
  assert.equal((await eventRows(ta.pool, 'notes_cleaned')).length, 2);

  // A third event, not yet delivered, is never cleaned.
  await ta.pool.query(`INSERT INTO hge_tests.notes VALUES (3, 'c')`);

  // Resumed for every source: the next due run deletes the two old processed events (batch_size 1:
  // three statements) with their invocation logs.
  const resumed = await admin(ta.app, { type: 'resume_event_trigger_cleanups', args: { event_triggers: { sources: '*' } } });
  assert.equal(resumed.status, 200, JSON.stringify(resumed.body));
  assert.equal((await cleanupOf(ta.app, 'notes_cleaned'))?.paused, false);
  await p.cleanup(); // schedules runs from the (moved) clock
  ta.clock.advance(HOUR + 60_000);
  const done = await p.cleanup();
  assert.deepEqual(done, [{ trigger: 'notes_cleaned', deletedEvents: 2, deletedInvocations: 2 }]);
  const left = await eventRows(ta.pool, 'notes_cleaned');
  assert.equal(left.length, 1);
  assert.equal(left[0].delivered, false);
  assert.equal((await invocations(ta.pool)).length, 0);
  const { rows } = await ta.pool.query(`SELECT status, deleted_event_logs FROM hdb_catalog.hdb_event_log_cleanups WHERE status = 'completed'`);
  assert.deepEqual(rows, [{ status: 'completed', deleted_event_logs: 2 }]);
});

void test('pause/resume refusals: unknown source or trigger, a trigger without cleanup_config, malformed arguments', async (t) => {
  const ta = await eventsApp(t);
  const hook = await startReceiver(t);
  await setupTable(ta.app, DDL, TABLE);
  assert.equal((await createTrigger(ta.app, { name: 'plain', table: TABLE, webhook: hook.url, insert: { columns: '*' } })).status, 200);
  const cases: Array<[unknown, number, string, RegExp]> = [
    [[{ source_name: 'default', event_triggers: ['plain'] }], 400, 'not-exists', /^cleanup config does not exist for plain$/],
    [[{ source_name: 'default', event_triggers: ['nope'] }], 400, 'not-exists', /^event trigger "nope" does not exist$/],
    [[{ source_name: 'other', event_triggers: ['plain'] }], 400, 'not-exists', /^source with name other does not exists$/],
    [{ sources: ['other'] }, 400, 'not-exists', /^source with name other does not exists$/],
    [{ sources: [] }, 400, 'parse-failed', /atleast one value/],
    [[], 400, 'parse-failed', /atleast one value/],
    ['all', 400, 'parse-failed', /should either be "\*", list of sources or list of event trigger qualifiers/],
  ];
  for (const [spec, status, code, message] of cases) {
    for (const type of ['pause_event_trigger_cleanups', 'resume_event_trigger_cleanups']) {
      const r = await admin(ta.app, { type, args: { event_triggers: spec } });
      assert.equal(r.status, status, `${type} ${JSON.stringify(spec)}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.code, code);
      assert.match(r.body.error, message);
    }
  }
  // By source, triggers without a cleanup_config are skipped, not refused.
  assert.equal((await admin(ta.app, { type: 'pause_event_trigger_cleanups', args: { event_triggers: { sources: ['default'] } } })).status, 200);
  assert.equal(await cleanupOf(ta.app, 'plain'), undefined);
});

void test('cleanup_event_trigger_logs: deletes processed events older than clear_older_than now, invocations only when asked', async (t) => {
  const ta = await eventsApp(t);
  const hook = await startReceiver(t);
  await setupTable(ta.app, DDL, TABLE);
  assert.equal((await createTrigger(ta.app, { name: 'manual_clean', table: TABLE, webhook: hook.url, insert: { columns: '*' } })).status, 200);
  await ta.pool.query(`INSERT INTO hge_tests.notes VALUES (1, 'a'), (2, 'b'), (3, 'c')`);
  await drain(processor(t, ta));
  // Two of the three are from three hours ago; one event is still pending.
  await ta.pool.query(`UPDATE hdb_catalog.event_log SET created_at = created_at - interval '3 hours' WHERE payload->'data'->'new'->>'id' IN ('1', '2')`);
  await ta.pool.query(`INSERT INTO hge_tests.notes VALUES (4, 'd')`);
  await ta.pool.query(`UPDATE hdb_catalog.event_log SET created_at = created_at - interval '3 hours' WHERE payload->'data'->'new'->>'id' = '4'`);

  const r = await admin(ta.app, { type: 'cleanup_event_trigger_logs', args: { event_trigger_name: 'manual_clean', clear_older_than: 2, batch_size: 1 } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body, { deleted_event_logs: 2, deleted_event_invocation_logs: 0 });
  const left = (await eventRows(ta.pool, 'manual_clean')).map((e) => [e.payload.data.new.id, e.delivered]);
  assert.deepEqual(left.sort(), [[3, true], [4, false]]);
  // Invocation logs of deleted events were kept (clean_invocation_logs false): their event_id dangles.
  assert.equal((await invocations(ta.pool)).length, 3);

  const bad = await admin(ta.app, { type: 'cleanup_event_trigger_logs', args: { event_trigger_name: 'manual_clean', clear_older_than: 0 } });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.code, 'parse-failed');
  const missing = await admin(ta.app, { type: 'cleanup_event_trigger_logs', args: { event_trigger_name: 'nope', clear_older_than: 1 } });
  assert.equal(missing.body.code, 'not-exists');
});

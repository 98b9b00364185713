/**
 * Event triggers through the metadata's other doors: a metadata directory (table YAML
 * `event_triggers`, cron_triggers.yaml) applied at boot creates the SQL triggers before anything is
 * served; `{{ENV}}` webhook templates (upstream tests write `webhook: "{{EVENT_WEBHOOK_HANDLER}}"`);
 * untrack_table and run_sql DDL keep the SQL triggers in line; the log-reading APIs
 * (pg_get_event_logs, pg_get_event_invocation_logs, pg_get_event_by_id); cleanup_config deleting
 * old logs on its schedule, once across two replicas.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createTestDatabase } from '@linkport/devstack/testing';
import { writeMetadataDir } from '../../src/metadata/files.ts';
import { runCleanups } from '../../src/events/cleanup.ts';
import type { EventTriggerConf } from '../../src/events/model.ts';
import type { Metadata } from '../../src/contract.ts';
import { admin, createTrigger, drain, eventRows, eventsApp, invocations, processor, setupTable, startReceiver } from './helper.ts';

void test('a metadata directory with event_triggers and cron_triggers: SQL triggers exist at boot, templates resolved', async (t) => {
  const db = await createTestDatabase({ migrated: false });
  const hook = await startReceiver(t);
  const setup = await import('pg').then(({ default: pg }) => new pg.Client({ connectionString: db.adminUrl }));
  await setup.connect();
  await setup.query('CREATE SCHEMA hge_tests; CREATE TABLE hge_tests."TEST_T2" (c1 int PRIMARY KEY, c2 text)');
  await setup.end();
  const trigger: EventTriggerConf = {
    name: 't2_all', definition: { enable_manual: false, insert: { columns: '*' }, update: { columns: ['c2'] } },
    retry_conf: { num_retries: 0, interval_sec: 10, timeout_sec: 60 }, webhook: '{{EVENT_WEBHOOK_HANDLER}}/t2',
  };
  const metadata: Metadata = {
    version: 3,
    sources: [{ name: 'default', kind: 'postgres', configuration: { connection_info: { database_url: { from_env: 'HASURA_GRAPHQL_DATABASE_URL' } } },
      tables: [{ table: { schema: 'hge_tests', name: 'TEST_T2' }, event_triggers: [trigger] }] }],
    cron_triggers: [{ name: 'nightly', webhook: '{{EVENT_WEBHOOK_HANDLER}}/cron', schedule: '0 3 * * *', include_in_metadata: true, payload: {} }],
  };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lp-events-md-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  writeMetadataDir(dir, metadata);
  assert.match(fs.readFileSync(path.join(dir, 'databases/default/tables/hge_tests_TEST_T2.yaml'), 'utf8'), /event_triggers:\n\s+- name: t2_all/);

  const ta = await eventsApp(t, { db, dropDb: true, env: { HASURA_GRAPHQL_METADATA_DIR: dir, EVENT_WEBHOOK_HANDLER: hook.url } });
  const trig = await ta.pool.query(`SELECT tgname FROM pg_trigger WHERE tgrelid = 'hge_tests."TEST_T2"'::regclass AND NOT tgisinternal ORDER BY 1`);
  assert.deepEqual(trig.rows.map((r) => r.tgname), ['notify_hasura_t2_all_INSERT', 'notify_hasura_t2_all_UPDATE']);
  await ta.pool.query(`INSERT INTO hge_tests."TEST_T2" VALUES (1, 'a')`);
  await drain(processor(t, ta));
  assert.equal(hook.deliveries.length, 1);
  assert.deepEqual(hook.deliveries[0]!.body.table, { schema: 'hge_tests', name: 'TEST_T2' });
  const exported = await admin(ta.app, { type: 'export_metadata', args: {} });
  assert.deepEqual(exported.body.cron_triggers.map((c: { name: string }) => c.name), ['nightly']);

  // A column added by run_sql reaches '*' payloads at once (the functions spell their columns out).
  assert.equal((await admin(ta.app, { type: 'run_sql', args: { sql: 'ALTER TABLE hge_tests."TEST_T2" ADD COLUMN c3 int DEFAULT 7' } }, '/v2/query')).status, 200);
  await ta.pool.query(`INSERT INTO hge_tests."TEST_T2" VALUES (2, 'b')`);
  await drain(processor(t, ta));
  assert.deepEqual(hook.deliveries[1]!.body.event.data.new, { c1: 2, c2: 'b', c3: 7 });

  // untrack_table takes the table's event triggers with it, SQL triggers included.
  const un = await admin(ta.app, { type: 'untrack_table', args: { table: { schema: 'hge_tests', name: 'TEST_T2' } } }, '/v1/query');
  assert.equal(un.status, 200, JSON.stringify(un.body));
  assert.equal((await ta.pool.query("SELECT 1 FROM pg_proc WHERE proname LIKE 'notify_hasura_t2_all%'")).rowCount, 0);
});

void test('pg_get_event_logs, pg_get_event_invocation_logs, pg_get_event_by_id', async (t) => {
  const ta = await eventsApp(t);
  const hook = await startReceiver(t);
  await setupTable(ta.app, 'CREATE TABLE logs_t (id int PRIMARY KEY)', 'logs_t');
  await createTrigger(ta.app, { name: 'logs_ins', table: 'logs_t', webhook: hook.url, insert: { columns: '*' } });
  await ta.pool.query('INSERT INTO logs_t VALUES (1), (2)');
  const pending = await admin(ta.app, { type: 'pg_get_event_logs', args: { name: 'logs_ins', status: 'pending' } });
  assert.equal(pending.status, 200, JSON.stringify(pending.body));
  assert.equal(pending.body.length, 2);
  await drain(processor(t, ta));
  assert.equal((await admin(ta.app, { type: 'pg_get_event_logs', args: { name: 'logs_ins', status: 'pending' } })).body.length, 0);
  const processed = await admin(ta.app, { type: 'pg_get_event_logs', args: { name: 'logs_ins', status: 'processed', limit: 1 } });
  assert.equal(processed.body.length, 1);
  assert.equal(processed.body[0].delivered, true);
  const inv = await admin(ta.app, { type: 'pg_get_event_invocation_logs', args: { name: 'logs_ins' } });
  assert.equal(inv.body.length, 2);
  const byId = await admin(ta.app, { type: 'pg_get_event_by_id', args: { event_id: processed.body[0].id } });
  assert.equal(byId.body.event.id, processed.body[0].id);
  assert.equal(byId.body.invocations.length, 1);
  assert.equal(byId.body.invocations[0].status, 200);
  const unknown = await admin(ta.app, { type: 'pg_get_event_logs', args: { name: 'nope' } });
  assert.deepEqual([unknown.status, unknown.body.code], [400, 'not-exists']);
  const noEvent = await admin(ta.app, { type: 'pg_get_event_by_id', args: { event_id: 'nope' } });
  assert.deepEqual([noEvent.status, noEvent.body.code], [400, 'not-exists']);
});

void test('cleanup_config: old processed logs deleted on schedule, pending and recent ones kept, one replica per run', async (t) => {
  const ta = await eventsApp(t);
  const hook = await startReceiver(t);
  await setupTable(ta.app, 'CREATE TABLE clean_t (id int PRIMARY KEY)', 'clean_t');
  const bad = await createTrigger(ta.app, { name: 'clean_ins', table: 'clean_t', webhook: hook.url, insert: { columns: '*' }, cleanup_config: { schedule: 'hourly', clear_older_than: 1 } });
  assert.deepEqual([bad.status, bad.body.code], [400, 'parse-failed']);
  const r = await createTrigger(ta.app, {
    name: 'clean_ins', table: 'clean_t', webhook: hook.url, insert: { columns: '*' },
    cleanup_config: { schedule: '0 * * * *', clear_older_than: 2, clean_invocation_logs: true, batch_size: 2 },
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  await ta.pool.query('INSERT INTO clean_t SELECT g FROM generate_series(1, 5) g');
  await drain(processor(t, ta));
  await ta.pool.query('INSERT INTO clean_t VALUES (6)'); // pending: never cleaned
  // Four delivered events (and the pending one) are four hours old; one delivered event is recent.
  await ta.pool.query(`UPDATE hdb_catalog.event_log SET created_at = created_at - interval '4 hours' WHERE payload->'data'->'new'->>'id' IN ('1','2','3','4','6')`);

  const triggers = (await admin(ta.app, { type: 'export_metadata', args: {} })).body.sources[0].tables[0].event_triggers as EventTriggerConf[];
  assert.deepEqual(await runCleanups(ta.pool, triggers, ta.clock.now()), [], 'nothing due yet');
  const scheduled = await ta.pool.query("SELECT count(*)::int AS n FROM hdb_catalog.hdb_event_log_cleanups WHERE status = 'scheduled'");
  assert.equal(scheduled.rows[0].n, 5);
  ta.clock.advance(3600_000 + 1000); // the next full hour has passed; the recent event is ~1 h old, under clear_older_than 2
  const [a, b] = await Promise.all([runCleanups(ta.pool, triggers, ta.clock.now()), runCleanups(ta.pool, triggers, ta.clock.now())]);
  const results = [...a, ...b];
  assert.equal(results.length, 1, 'one replica took the run');
  assert.deepEqual(results[0], { trigger: 'clean_ins', deletedEvents: 4, deletedInvocations: 4 });
  const left = await eventRows(ta.pool);
  assert.deepEqual(left.map((e) => [e.payload.data.new.id, e.delivered]).sort(), [[5, true], [6, false]]);
  assert.equal((await invocations(ta.pool)).length, 1);
  const run = await ta.pool.query("SELECT deleted_event_logs, deleted_event_invocation_logs FROM hdb_catalog.hdb_event_log_cleanups WHERE status = 'completed'");
  assert.deepEqual(run.rows, [{ deleted_event_logs: 4, deleted_event_invocation_logs: 4 }]);
});

void test('a missing event catalog is created by the admin request that adds the first trigger', async (t) => {
  const ta = await eventsApp(t);
  const hook = await startReceiver(t);
  await ta.pool.query(`DROP TABLE hdb_catalog.event_log, hdb_catalog.event_invocation_logs, hdb_catalog.hdb_event_log_cleanups,
    hdb_catalog.hdb_cron_event_invocation_logs, hdb_catalog.hdb_cron_events, hdb_catalog.hdb_scheduled_event_invocation_logs, hdb_catalog.hdb_scheduled_events;
    DROP FUNCTION hdb_catalog.insert_event_log(text, text, text, text, json)`);
  await setupTable(ta.app, 'CREATE TABLE cat_t (id int PRIMARY KEY)', 'cat_t');
  const r = await createTrigger(ta.app, { name: 'cat_ins', table: 'cat_t', webhook: hook.url, insert: { columns: '*' } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  await ta.pool.query('INSERT INTO cat_t VALUES (1)');
  await drain(processor(t, ta));
  assert.equal(hook.deliveries.length, 1);
});

void test('the engine as links_admin (CREATE on hdb_catalog only, not on the database) creates the event catalog at startup', async (t) => {
  const db = await createTestDatabase();
  const ta = await eventsApp(t, { db, dropDb: true, env: { HASURA_GRAPHQL_DATABASE_URL: db.roleUrl('links_admin') } });
  const { rows } = await ta.pool.query("SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 'hdb_catalog' AND tablename IN ('event_log', 'hdb_cron_events') ORDER BY 1");
  assert.deepEqual(rows, [{ tablename: 'event_log', tableowner: 'links_admin' }, { tablename: 'hdb_cron_events', tableowner: 'links_admin' }]);
  const version = await ta.pool.query('SELECT version FROM hdb_catalog.hdb_source_catalog_version');
  assert.deepEqual(version.rows, [{ version: '4' }], "Hasura's latestSourceCatalogVersion");
});

void test('a trigger on a table the engine role may not put triggers on: refused when created, never blocks other metadata changes', async (t) => {
  const db = await createTestDatabase();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lp-events-priv-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const trigger: EventTriggerConf = { name: 'links_ins', definition: { enable_manual: false, insert: { columns: '*' } }, retry_conf: { num_retries: 0, interval_sec: 10, timeout_sec: 60 }, webhook: 'http://127.0.0.1:9/' };
  writeMetadataDir(dir, {
    version: 3,
    sources: [{ name: 'default', kind: 'postgres', configuration: { connection_info: { database_url: { from_env: 'HASURA_GRAPHQL_DATABASE_URL' } } },
      tables: [{ table: { schema: 'links', name: 'links' }, event_triggers: [trigger] }, { table: { schema: 'links', name: 'tags' } }] }],
  });
  // links_admin has no TRIGGER privilege on links.links (the migrations own it).
  const ta = await eventsApp(t, { db, dropDb: true, env: { HASURA_GRAPHQL_DATABASE_URL: db.roleUrl('links_admin'), HASURA_GRAPHQL_METADATA_DIR: dir } });
  const perm = await admin(ta.app, { type: 'pg_create_select_permission', args: { table: { schema: 'links', name: 'tags' }, role: 'someone', permission: { columns: ['id'], filter: {} } } });
  assert.equal(perm.status, 200, JSON.stringify(perm.body));
  const refused = await createTrigger(ta.app, { name: 'tags_ins', table: { schema: 'links', name: 'tags' }, webhook: 'http://127.0.0.1:9/', insert: { columns: '*' } });
  assert.equal(refused.status, 400, JSON.stringify(refused.body));
  assert.match(JSON.stringify(refused.body), /permission denied/);
  const exported = await admin(ta.app, { type: 'export_metadata', args: {} });
  const tags = exported.body.sources[0].tables.find((x: { table: { name: string } }) => x.table.name === 'tags');
  assert.equal(tags.event_triggers, undefined, 'the refused trigger is not in the metadata');
  assert.equal((await ta.pool.query("SELECT 1 FROM pg_proc WHERE proname LIKE 'notify_hasura_tags_ins%'")).rowCount, 0, 'nor its function');
});

void test('a partitioned table: the trigger on the parent records rows written to any partition, named after the parent (test_partitioned_table_basic_insert)', async (t) => {
  const ta = await eventsApp(t);
  const hook = await startReceiver(t);
  await setupTable(ta.app, `CREATE TABLE measurement (city_id int NOT NULL, logdate date NOT NULL, peaktemp int, unitsales int) PARTITION BY RANGE (logdate);
    CREATE TABLE measurement_y2006m02 PARTITION OF measurement FOR VALUES FROM ('2006-02-01') TO ('2006-03-01');
    CREATE TABLE measurement_y2006m03 PARTITION OF measurement FOR VALUES FROM ('2006-03-01') TO ('2006-04-01');`, 'measurement');
  const r = await createTrigger(ta.app, { name: 'measurement_all', table: 'measurement', webhook: hook.url, insert: { columns: '*' }, update: { columns: '*' }, delete: { columns: '*' } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  await ta.pool.query("INSERT INTO measurement VALUES (1, '2006-02-02', 1, 1), (2, '2006-03-04', 2, 2)");
  await ta.pool.query("INSERT INTO measurement_y2006m03 VALUES (3, '2006-03-05', 3, 3)");
  await drain(processor(t, ta));
  assert.equal(hook.deliveries.length, 3);
  assert.ok(hook.deliveries.every((d) => d.body.table.name === 'measurement' && d.body.event.op === 'INSERT'));
  assert.deepEqual(hook.deliveries.map((d) => d.body.event.data.new.city_id).sort(), [1, 2, 3]);
  assert.deepEqual(hook.deliveries.find((d) => d.body.event.data.new.city_id === 1)!.body.event.data.new, { city_id: 1, logdate: '2006-02-02', peaktemp: 1, unitsales: 1 });
});

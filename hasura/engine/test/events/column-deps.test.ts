/**
 * A column an event trigger names in a `columns` or `payload` list is one of its dependencies
 * (upstream RQL/DDL/EventTrigger.hs `getTrigDefDeps`; test_events.py TestEventSelCols /
 * TestEventSelPayload `_dep`): run_sql dropping it is refused with dependency-error and changes
 * nothing; with `cascade` the trigger goes, SQL triggers included; a renamed column is renamed in the
 * trigger's lists and the trigger keeps firing with the new name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { admin, createTrigger, drain, eventsApp, processor, setupTable, startReceiver } from './helper.ts';

const sqlTriggers = async (pool: import('pg').Pool) =>
  (await pool.query(`SELECT tgname FROM pg_trigger WHERE tgrelid = 'deps'::regclass AND NOT tgisinternal ORDER BY 1`)).rows.map((r: { tgname: string }) => r.tgname);

void test('dropping a column an event trigger lists: refused, then cascaded; renaming one: followed', async (t) => {
  const ta = await eventsApp(t);
  const hook = await startReceiver(t);
  await setupTable(ta.app, 'CREATE TABLE deps (id int PRIMARY KEY, a text, b text, c text)', 'deps');
  await createTrigger(ta.app, { name: 'deps_upd', table: 'deps', webhook: hook.url, update: { columns: ['a'], payload: ['id', 'b'] } });
  const runSql = (sql: string, cascade = false) => admin(ta.app, { type: 'run_sql', args: { sql, cascade } }, '/v2/query');

  // c is in no list: dropped freely, the trigger stays.
  assert.equal((await runSql('ALTER TABLE deps DROP COLUMN c')).status, 200);
  for (const col of ['a', 'b']) {
    const r = await runSql(`ALTER TABLE deps DROP COLUMN ${col}`);
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.equal(r.body.code, 'dependency-error');
    assert.match(r.body.error, /event-trigger deps\.deps_upd in source "default"/);
  }
  const cols = await ta.pool.query(`SELECT attname FROM pg_attribute WHERE attrelid = 'deps'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`);
  assert.deepEqual(cols.rows.map((r) => r.attname), ['id', 'a', 'b'], 'the refused DDL was rolled back');

  // A rename is followed: the update on the renamed column still fires, its payload renamed too.
  assert.equal((await runSql('ALTER TABLE deps RENAME COLUMN b TO bee')).status, 200);
  const exported = await admin(ta.app, { type: 'export_metadata', args: {} });
  const table = exported.body.sources[0].tables.find((x: { table: { name: string } }) => x.table.name === 'deps');
  assert.deepEqual(table.event_triggers[0].definition.update, { columns: ['a'], payload: ['id', 'bee'] });
  await ta.pool.query(`INSERT INTO deps VALUES (1, 'x', 'y')`);
  await ta.pool.query(`UPDATE deps SET a = 'z' WHERE id = 1`);
  await drain(processor(t, ta));
  assert.equal(hook.deliveries.length, 1);
  assert.deepEqual(hook.deliveries[0]!.body.event.data, { old: { id: 1, bee: 'y' }, new: { id: 1, bee: 'y' } });

  // Cascade: the column goes and the trigger with it, SQL triggers included.
  assert.deepEqual(await sqlTriggers(ta.pool), ['notify_hasura_deps_upd_UPDATE']);
  assert.equal((await runSql('ALTER TABLE deps DROP COLUMN a', true)).status, 200);
  const after = await admin(ta.app, { type: 'export_metadata', args: {} });
  const t2 = after.body.sources[0].tables.find((x: { table: { name: string } }) => x.table.name === 'deps');
  assert.equal(t2.event_triggers, undefined);
  assert.deepEqual(await sqlTriggers(ta.pool), []);
});

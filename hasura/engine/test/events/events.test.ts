/**
 * Event triggers over a real database and a real webhook server, ported from upstream
 * server/tests-py/test_events.py (TestCreateAndDelete, TestEventFlood's exactly-once, TestEventData
 * basic/insert_only/update columns, TestEventRetryConf, TestEventTimeout, TestEventHeaders,
 * TestManualEvents) and queries/event_triggers/**: the payload Hasura sends, the event written in
 * the transaction of the change, retries on a controlled clock, the invocation log.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { admin, createTrigger, drain, eventRows, eventsApp, gql, invocations, processor, setupTable, startReceiver } from './helper.ts';

const DDL = 'CREATE TABLE hge_tests_t1 (c1 int PRIMARY KEY, c2 text, big bigint)';

void test('insert, update, delete: Hasura payload, session variables, invocation log', async (t) => {
  const ta = await eventsApp(t);
  const hook = await startReceiver(t);
  await setupTable(ta.app, DDL, 'hge_tests_t1');
  const created = await createTrigger(ta.app, {
    name: 't1_all', table: { schema: 'public', name: 'hge_tests_t1' }, webhook: hook.url,
    insert: { columns: '*' }, update: { columns: '*' }, delete: { columns: '*' },
  });
  assert.deepEqual(created, { status: 200, body: { message: 'success' } });
  const p = processor(t, ta);

  const ins = await gql(ta.app, 'mutation { insert_hge_tests_t1_one(object: {c1: 1, c2: "hello", big: 9007199254740993}) { c1 } }', {
    'x-hasura-admin-secret': 'sekret', 'x-hasura-role': 'admin', 'x-hasura-user-id': '42',
  });
  assert.deepEqual(ins, { data: { insert_hge_tests_t1_one: { c1: 1 } } });
  await drain(p);
  assert.equal(hook.deliveries.length, 1);
  const d = hook.deliveries[0]!;
  assert.equal(d.headers['content-type'], 'application/json');
  assert.match(String(d.headers['user-agent']), /^hasura-graphql-engine\/v2\./);
  const [ev] = await eventRows(ta.pool);
  // EventPayload (Eventing/EventTrigger.hs), key for key.
  assert.deepEqual(Object.keys(d.body), ['id', 'table', 'trigger', 'event', 'delivery_info', 'created_at']);
  assert.deepEqual(Object.keys(d.body.delivery_info), ['current_retry', 'max_retries']);
  assert.deepEqual(Object.keys(d.body.event), ['op', 'data', 'trace_context', 'session_variables']);
  assert.equal(d.body.id, ev.id);
  assert.deepEqual(d.body.table, { schema: 'public', name: 'hge_tests_t1' });
  assert.deepEqual(d.body.trigger, { name: 't1_all' });
  assert.deepEqual(d.body.delivery_info, { max_retries: 0, current_retry: 0 });
  assert.match(d.body.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?$/);
  assert.equal(d.body.event.op, 'INSERT');
  // bigint as a string under --stringify-numeric-types (the engine's default), as Hasura's toJSONableExp.
  assert.deepEqual(d.body.event.data, { old: null, new: { c1: 1, c2: 'hello', big: '9007199254740993' } });
  assert.deepEqual(d.body.event.session_variables, { 'x-hasura-role': 'admin', 'x-hasura-user-id': '42' });
  assert.equal(d.body.event.trace_context, null);

  // A write that does not come through the engine is captured too; no session then.
  await ta.pool.query("UPDATE hge_tests_t1 SET c2 = 'world' WHERE c1 = 1");
  await ta.pool.query('DELETE FROM hge_tests_t1 WHERE c1 = 1');
  await drain(p);
  assert.equal(hook.deliveries.length, 3);
  // Hasura makes no ordering promise between events ("events can and will race"): find them by op.
  const byOp = (op: string) => hook.deliveries.find((x) => x.body.event.op === op)!.body;
  const [upd, del] = [byOp('UPDATE'), byOp('DELETE')];
  assert.equal(upd.event.op, 'UPDATE');
  assert.deepEqual(upd.event.data, { old: { c1: 1, c2: 'hello', big: '9007199254740993' }, new: { c1: 1, c2: 'world', big: '9007199254740993' } });
  assert.equal(upd.event.session_variables, null);
  assert.equal(del.event.op, 'DELETE');
  assert.deepEqual(del.event.data, { old: { c1: 1, c2: 'world', big: '9007199254740993' }, new: null });

  const rows = await eventRows(ta.pool);
  assert.deepEqual(rows.map((r) => [r.delivered, r.error, r.tries, r.locked]), [[true, false, 1, null], [true, false, 1, null], [true, false, 1, null]]);
  const logs = await invocations(ta.pool, ev.id);
  assert.equal(logs.length, 1);
  assert.equal(logs[0].status, 200);
  assert.equal(logs[0].trigger_name, 't1_all');
  assert.deepEqual(logs[0].request.payload, d.body);
  assert.equal(logs[0].request.version, '2');
  assert.deepEqual(logs[0].response.type, 'webhook_response');
  assert.equal(logs[0].response.data.body, 'ok');
  assert.equal(logs[0].response.data.status, 200);

  // An RQL insert (/v1/query, as upstream create_and_reset.yaml does) carries the admin session.
  const rql = await admin(ta.app, { type: 'insert', args: { table: 'hge_tests_t1', objects: [{ c1: 9, c2: 'rql' }] } }, '/v1/query');
  assert.deepEqual(rql.body, { affected_rows: 1 });
  await drain(p);
  assert.deepEqual(hook.deliveries.at(-1)!.body.event.session_variables, { 'x-hasura-role': 'admin' });
  await ta.pool.query('DELETE FROM hge_tests_t1 WHERE c1 = 9');
  await drain(p);
  hook.deliveries.splice(3);

  // An update that changes nothing is no event (`_old <> _new`).
  await ta.pool.query("INSERT INTO hge_tests_t1 VALUES (2, 'x', 1)");
  await ta.pool.query("UPDATE hge_tests_t1 SET c2 = 'x' WHERE c1 = 2");
  await drain(p);
  assert.deepEqual(hook.deliveries.slice(3).map((x) => x.body.event.op), ['INSERT']);
});

void test('the event is written in the transaction of the change: a rolled-back insert leaves none', async (t) => {
  const ta = await eventsApp(t);
  const hook = await startReceiver(t);
  await setupTable(ta.app, DDL, 'hge_tests_t1');
  assert.equal((await createTrigger(ta.app, { name: 't1_ins', table: 'hge_tests_t1', webhook: hook.url, insert: { columns: '*' } })).status, 200);
  const c = await ta.pool.connect();
  try {
    await c.query('BEGIN');
    await c.query("INSERT INTO hge_tests_t1 VALUES (1, 'rolled back')");
    assert.equal((await c.query('SELECT count(*)::int AS n FROM hdb_catalog.event_log')).rows[0].n, 1, 'visible inside the transaction');
    await c.query('ROLLBACK');
    await c.query('BEGIN');
    await c.query("INSERT INTO hge_tests_t1 VALUES (2, 'committed')");
    await c.query('COMMIT');
  } finally {
    c.release();
  }
  // A failing GraphQL mutation (second root field violates the key) rolls its first field's event back too.
  const bad = await gql(ta.app, 'mutation { a: insert_hge_tests_t1_one(object: {c1: 3}) { c1 } b: insert_hge_tests_t1_one(object: {c1: 2}) { c1 } }');
  assert.equal(bad.errors?.[0]?.extensions?.code, 'constraint-violation');
  const p = processor(t, ta);
  await drain(p);
  assert.deepEqual(hook.deliveries.map((d) => d.body.event.data.new.c1), [2]);
  assert.equal((await eventRows(ta.pool)).length, 1);
});

void test('columns and payload: only listed columns fire an update, only payload columns are sent', async (t) => {
  const ta = await eventsApp(t);
  const hook = await startReceiver(t);
  await setupTable(ta.app, DDL, 'hge_tests_t1');
  const r = await createTrigger(ta.app, {
    name: 't1_cols', table: 'hge_tests_t1', webhook: hook.url,
    insert: { columns: '*', payload: ['c1'] }, update: { columns: ['c2'], payload: ['c1', 'c2'] },
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  await ta.pool.query("INSERT INTO hge_tests_t1 VALUES (1, 'a', 5)");
  await ta.pool.query('UPDATE hge_tests_t1 SET big = 6 WHERE c1 = 1'); // not a listened column
  await ta.pool.query("UPDATE hge_tests_t1 SET c2 = 'b' WHERE c1 = 1");
  const p = processor(t, ta);
  await drain(p);
  assert.deepEqual(hook.deliveries.map((d) => [d.body.event.op, d.body.event.data]).sort((x, y) => String(x[0]).localeCompare(String(y[0]))), [
    ['INSERT', { old: null, new: { c1: 1 } }],
    ['UPDATE', { old: { c1: 1, c2: 'a' }, new: { c1: 1, c2: 'b' } }],
  ]);
  // A listed column that does not exist is refused and nothing is created.
  const bad = await createTrigger(ta.app, { name: 't1_bad', table: 'hge_tests_t1', webhook: hook.url, update: { columns: ['nope'] } });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.code, 'not-exists');
  const fns = await ta.pool.query("SELECT proname FROM pg_proc WHERE proname LIKE 'notify_hasura_t1_bad%'");
  assert.equal(fns.rowCount, 0);
});

void test('retries: num_retries and interval_sec on a controlled clock, then error; delivery_info counts', async (t) => {
  const ta = await eventsApp(t);
  const hook = await startReceiver(t);
  hook.respond = (_d, res) => res.writeHead(500).end('boom');
  await setupTable(ta.app, DDL, 'hge_tests_t1');
  await createTrigger(ta.app, { name: 't1_retry', table: 'hge_tests_t1', webhook: hook.url, insert: { columns: '*' }, retry_conf: { num_retries: 2, interval_sec: 10, timeout_sec: 5 } });
  await ta.pool.query("INSERT INTO hge_tests_t1 VALUES (1, 'a')");
  const p = processor(t, ta);
  await drain(p);
  assert.equal(hook.deliveries.length, 1);
  let [ev] = await eventRows(ta.pool);
  assert.equal(ev.tries, 1);
  assert.equal(ev.delivered, false);
  assert.equal(ev.error, false);
  assert.ok(ev.next_retry_at, 'a retry is planned');
  // Not due yet: nothing is sent however often the processor looks.
  ta.clock.advance(9_000);
  await drain(p);
  assert.equal(hook.deliveries.length, 1);
  ta.clock.advance(1_500);
  await drain(p);
  assert.equal(hook.deliveries.length, 2);
  ta.clock.advance(10_500);
  await drain(p);
  assert.equal(hook.deliveries.length, 3);
  ta.clock.advance(60_000);
  await drain(p);
  assert.equal(hook.deliveries.length, 3, 'num_retries 2 = three attempts');
  assert.deepEqual(hook.deliveries.map((d) => d.body.delivery_info), [0, 1, 2].map((r) => ({ max_retries: 2, current_retry: r })));
  [ev] = await eventRows(ta.pool);
  assert.deepEqual([ev.tries, ev.delivered, ev.error, ev.next_retry_at, ev.locked], [3, false, true, null, null]);
  const logs = await invocations(ta.pool, ev.id);
  assert.deepEqual(logs.map((l) => [l.status, l.response.type, l.response.data.message]), Array(3).fill([500, 'client_error', 'boom']));

  // redeliver_event puts it back: tries reset, delivered on the next round.
  hook.respond = (_d, res) => res.writeHead(200).end('fine');
  assert.deepEqual((await admin(ta.app, { type: 'pg_redeliver_event', args: { event_id: ev.id } })).body, { message: 'success' });
  await drain(p);
  [ev] = await eventRows(ta.pool);
  assert.deepEqual([ev.delivered, ev.error, ev.tries], [true, false, 1]);
  assert.equal(hook.deliveries.at(-1)!.body.delivery_info.current_retry, 0);
  const missing = await admin(ta.app, { type: 'pg_redeliver_event', args: { event_id: 'nope' } });
  assert.deepEqual([missing.status, missing.body.code, missing.body.error], [400, 'not-exists', 'event not found']);
});

void test('Retry-After from the webhook sets the next try, even past num_retries (retryOrSetError)', async (t) => {
  const ta = await eventsApp(t);
  const hook = await startReceiver(t);
  let answers = 0;
  hook.respond = (_d, res) => (++answers < 3 ? res.writeHead(503, { 'retry-after': '30' }).end('busy') : res.writeHead(200).end('ok'));
  await setupTable(ta.app, DDL, 'hge_tests_t1');
  await createTrigger(ta.app, { name: 't1_ra', table: 'hge_tests_t1', webhook: hook.url, insert: { columns: '*' } }); // num_retries 0
  await ta.pool.query("INSERT INTO hge_tests_t1 VALUES (1, 'a')");
  const p = processor(t, ta);
  await drain(p);
  ta.clock.advance(11_000); // interval_sec (10) passed, Retry-After (30) not
  await drain(p);
  assert.equal(hook.deliveries.length, 1);
  ta.clock.advance(20_000);
  await drain(p);
  assert.equal(hook.deliveries.length, 2);
  ta.clock.advance(31_000);
  await drain(p);
  assert.equal(hook.deliveries.length, 3);
  const [ev] = await eventRows(ta.pool);
  assert.deepEqual([ev.delivered, ev.tries], [true, 3]);
});

void test('timeout_sec: a webhook that does not answer in time is a failed try (client_error, no status)', async (t) => {
  const ta = await eventsApp(t);
  const hook = await startReceiver(t);
  hook.respond = () => undefined; // never answers
  await setupTable(ta.app, DDL, 'hge_tests_t1');
  await createTrigger(ta.app, { name: 't1_to', table: 'hge_tests_t1', webhook: hook.url, insert: { columns: '*' }, retry_conf: { num_retries: 0, interval_sec: 1, timeout_sec: 1 } });
  await ta.pool.query("INSERT INTO hge_tests_t1 VALUES (1, 'a')");
  const p = processor(t, ta);
  await drain(p);
  const [ev] = await eventRows(ta.pool);
  assert.deepEqual([ev.delivered, ev.error, ev.tries], [false, true, 1]);
  const [log] = await invocations(ta.pool, ev.id);
  assert.equal(log.status, null);
  assert.equal(log.response.type, 'client_error');
  assert.equal(log.response.data.message, 'ResponseTimeout');
});

void test('headers (value and value_from_env), webhook_from_env; the log names the variable, not the secret', async (t) => {
  const hookHolder = await startReceiver(t);
  const ta = await eventsApp(t, { env: { EVENT_WEBHOOK: hookHolder.url, EVENT_SECRET: 's3cr3t' } });
  await setupTable(ta.app, DDL, 'hge_tests_t1');
  const r = await createTrigger(ta.app, {
    name: 't1_hdr', table: 'hge_tests_t1', webhook_from_env: 'EVENT_WEBHOOK', insert: { columns: '*' },
    headers: [{ name: 'X-Header-From-Value', value: 'MyValue' }, { name: 'X-Header-From-Env', value_from_env: 'EVENT_SECRET' }],
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  await ta.pool.query("INSERT INTO hge_tests_t1 VALUES (1, 'a')");
  await drain(processor(t, ta));
  const d = hookHolder.deliveries[0]!;
  assert.equal(d.headers['x-header-from-value'], 'MyValue');
  assert.equal(d.headers['x-header-from-env'], 's3cr3t');
  const [log] = await invocations(ta.pool);
  assert.deepEqual(log.request.headers.filter((h: { name: string }) => h.name.startsWith('X-')), [
    { name: 'X-Header-From-Value', value: 'MyValue' },
    { name: 'X-Header-From-Env', value_from_env: 'EVENT_SECRET' },
  ]);
  assert.ok(!JSON.stringify(log).includes('s3cr3t'));
});

void test('invoke_event_trigger: a MANUAL event when enable_manual, refused otherwise', async (t) => {
  const ta = await eventsApp(t);
  const hook = await startReceiver(t);
  await setupTable(ta.app, DDL, 'hge_tests_t1');
  await createTrigger(ta.app, { name: 't1_manual', table: 'hge_tests_t1', webhook: hook.url, enable_manual: true });
  await createTrigger(ta.app, { name: 't1_auto', table: 'hge_tests_t1', webhook: hook.url, insert: { columns: '*' } });
  const inv = await admin(ta.app, { type: 'pg_invoke_event_trigger', args: { name: 't1_manual', payload: { c1: 7 } } });
  assert.equal(inv.status, 200, JSON.stringify(inv.body));
  assert.equal(typeof inv.body.event_id, 'string');
  await drain(processor(t, ta));
  assert.equal(hook.deliveries.length, 1);
  const b = hook.deliveries[0]!.body;
  assert.equal(b.id, inv.body.event_id);
  assert.equal(b.event.op, 'MANUAL');
  assert.deepEqual(b.event.data, { old: null, new: { c1: 7 } });
  assert.deepEqual(b.event.session_variables, { 'x-hasura-role': 'admin' });
  const refused = await admin(ta.app, { type: 'pg_invoke_event_trigger', args: { name: 't1_auto', payload: {} } });
  assert.deepEqual([refused.status, refused.body.code, refused.body.error], [400, 'not-supported', 'manual mode is not enabled for event trigger']);
  const unknown = await admin(ta.app, { type: 'pg_invoke_event_trigger', args: { name: 'nope', payload: {} } });
  assert.deepEqual([unknown.status, unknown.body.code, unknown.body.error], [400, 'not-exists', 'event trigger "nope" does not exist']);
});

void test('create/delete: refusals with Hasura messages, replace, export, delete drops the SQL trigger and archives', async (t) => {
  const ta = await eventsApp(t);
  const hook = await startReceiver(t);
  await setupTable(ta.app, DDL, 'hge_tests_t1');
  const base = { table: 'hge_tests_t1', webhook: hook.url, insert: { columns: '*' } };
  const cases: Array<[Record<string, unknown>, string, string]> = [
    [{ ...base, name: 'bad name!' }, 'parse-failed', 'only alphanumeric and underscore and hyphens allowed for name'],
    [{ ...base, name: 'x'.repeat(43) }, 'parse-failed', 'event trigger name can be at most 42 characters'],
    [{ name: 'a', table: 'hge_tests_t1', webhook: hook.url }, 'parse-failed', 'atleast one amongst insert/update/delete/enable_manual spec must be provided'],
    [{ name: 'a', table: 'hge_tests_t1', insert: { columns: '*' } }, 'parse-failed', 'must provide webhook or webhook_from_env'],
    [{ ...base, name: 'a', webhook_from_env: 'X' }, 'parse-failed', 'only one of webhook or webhook_from_env should be given'],
    [{ ...base, name: 'a', insert: { columns: [] } }, 'parse-failed', 'found empty column specification'],
    [{ ...base, name: 'a', table: 'untracked' }, 'not-exists', 'table "untracked" does not exist in source: default'],
    [{ ...base, name: 'a', replace: true }, 'not-exists', 'event trigger "a" does not exist'],
  ];
  for (const [args, code, error] of cases) {
    const r = await createTrigger(ta.app, args);
    assert.deepEqual([r.status, r.body.code, r.body.error], [400, code, error], JSON.stringify(args));
  }
  assert.equal((await createTrigger(ta.app, { ...base, name: 'dup' })).status, 200);
  const dup = await createTrigger(ta.app, { ...base, name: 'dup' });
  assert.deepEqual([dup.body.code, dup.body.error], ['already-exists', 'Event trigger with name "dup" already exists']);

  // replace: same table, new operations — the dropped operation's SQL trigger goes away.
  const rep = await createTrigger(ta.app, { name: 'dup', table: 'hge_tests_t1', webhook: hook.url, delete: { columns: '*' }, replace: true });
  assert.equal(rep.status, 200, JSON.stringify(rep.body));
  const trig = await ta.pool.query("SELECT tgname FROM pg_trigger WHERE tgname LIKE 'notify_hasura_dup_%' ORDER BY 1");
  assert.deepEqual(trig.rows.map((r) => r.tgname), ['notify_hasura_dup_DELETE']);

  const exported = await admin(ta.app, { type: 'export_metadata', args: {} });
  const table = exported.body.sources[0].tables.find((x: { table: { name: string } }) => x.table.name === 'hge_tests_t1');
  assert.deepEqual(table.event_triggers, [{
    name: 'dup', definition: { enable_manual: false, delete: { columns: '*' } },
    retry_conf: { num_retries: 0, interval_sec: 10, timeout_sec: 60 }, webhook: hook.url,
  }]);

  await ta.pool.query("INSERT INTO hge_tests_t1 VALUES (1, 'a')");
  await ta.pool.query('DELETE FROM hge_tests_t1');
  assert.equal((await eventRows(ta.pool, 'dup')).length, 1);
  assert.deepEqual((await admin(ta.app, { type: 'pg_delete_event_trigger', args: { name: 'dup' } })).body, { message: 'success' });
  assert.equal((await ta.pool.query("SELECT 1 FROM pg_trigger WHERE tgname LIKE 'notify_hasura_dup_%'")).rowCount, 0);
  assert.equal((await ta.pool.query("SELECT 1 FROM pg_proc WHERE proname LIKE 'notify_hasura_dup_%'")).rowCount, 0);
  assert.deepEqual((await eventRows(ta.pool, 'dup')).map((e) => e.archived), [true]);
  await ta.pool.query("INSERT INTO hge_tests_t1 VALUES (2, 'b')");
  assert.equal((await eventRows(ta.pool, 'dup')).length, 1, 'no trigger, no event');
  const gone = await admin(ta.app, { type: 'pg_delete_event_trigger', args: { name: 'dup' } });
  assert.deepEqual([gone.status, gone.body.code, gone.body.error], [400, 'not-exists', 'event trigger "dup" does not exist']);

  // replace_metadata carries event_triggers in the table entry; the SQL triggers follow it.
  const meta = exported.body;
  const r = await admin(ta.app, { type: 'replace_metadata', args: meta });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal((await ta.pool.query("SELECT 1 FROM pg_trigger WHERE tgname = 'notify_hasura_dup_DELETE'")).rowCount, 1);
});

void test('unreachable or malformed webhooks are failed tries, never a crash; hostile admin inputs are 400s', async (t) => {
  const ta = await eventsApp(t);
  // A port nobody listens on: taken, then given back.
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const closedPort = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  await setupTable(ta.app, DDL, 'hge_tests_t1');
  await createTrigger(ta.app, { name: 'refused', table: 'hge_tests_t1', webhook: `http://127.0.0.1:${closedPort}/`, insert: { columns: '*' } });
  await createTrigger(ta.app, { name: 'malformed', table: 'hge_tests_t1', webhook: 'not a url', insert: { columns: '*' } });
  await createTrigger(ta.app, { name: 'noenv', table: 'hge_tests_t1', webhook: '{{MISSING_VAR}}/x', insert: { columns: '*' } });
  await ta.pool.query("INSERT INTO hge_tests_t1 VALUES (1, 'a')");
  await drain(processor(t, ta));
  const rows = await eventRows(ta.pool);
  assert.equal(rows.length, 3);
  assert.ok(rows.every((e) => e.error && !e.delivered && e.tries === 1 && e.locked === null));
  const logs = await invocations(ta.pool);
  const byTrigger = Object.fromEntries(logs.map((l) => [l.trigger_name, l]));
  assert.equal(byTrigger.refused.status, null);
  assert.equal(byTrigger.refused.response.data.message, 'ECONNREFUSED');
  assert.equal(byTrigger.malformed.response.type, 'client_error');
  assert.equal(byTrigger.noenv.status, 500);
  assert.equal(byTrigger.noenv.response.data.message, 'environment variable "MISSING_VAR" not set');

  const hostile: unknown[] = [
    { type: 'pg_create_event_trigger', args: { name: 7, table: 'hge_tests_t1', webhook: 'http://x', insert: { columns: '*' } } },
    { type: 'pg_create_event_trigger', args: { name: 'h', table: 42, webhook: 'http://x', insert: { columns: '*' } } },
    { type: 'pg_create_event_trigger', args: { name: 'h', table: 'hge_tests_t1', webhook: 'http://x', insert: { columns: 'c1' } } },
    { type: 'pg_create_event_trigger', args: { name: 'h', table: 'hge_tests_t1', webhook: 'http://x', insert: { columns: '*' }, headers: [{ name: 'X' }] } },
    { type: 'pg_create_event_trigger', args: { name: 'h', table: 'hge_tests_t1', webhook: 'http://x', insert: { columns: '*' }, retry_conf: { num_retries: -1 } } },
    { type: 'pg_create_event_trigger', args: { name: 'h', table: 'hge_tests_t1', webhook: 'http://x', insert: { columns: ['c1"; drop table x; --'] } } },
    { type: 'pg_redeliver_event', args: { event_id: { a: 1 } } },
    { type: 'pg_invoke_event_trigger', args: { name: 'refused' } },
    { type: 'pg_get_event_logs', args: { name: 'refused', limit: -5 } },
    { type: 'create_scheduled_event', args: { webhook: 'http://x', schedule_at: 12 } },
    { type: 'create_scheduled_event', args: { webhook: 'http://x', schedule_at: '2030-01-01T00:00:00Z', retry_conf: { timeout_seconds: 0 } } },
    { type: 'create_cron_trigger', args: { name: 'c', webhook: 'http://x', schedule: '* * *', include_in_metadata: true } },
    { type: 'create_cron_trigger', args: { name: 'c', webhook: 'http://x', schedule: '* * * * *' } },
    { type: 'get_scheduled_events', args: { type: 'weekly' } },
    { type: 'delete_scheduled_event', args: { type: 'cron', event_id: 'nope' } },
  ];
  for (const body of hostile) {
    const r = await admin(ta.app, body);
    assert.equal(r.status, 400, `${JSON.stringify(body)} → ${JSON.stringify(r.body)}`);
    assert.equal(typeof r.body.code, 'string');
  }
});

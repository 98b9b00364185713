/**
 * Delivery guarantees over real processes: two processors on one database deliver each event
 * exactly once while running concurrently (upstream test_events.py TestEventFlood, with a second
 * engine); an engine killed mid-delivery loses nothing — another one delivers every event after the
 * stale-lock timeout (at-least-once); a graceful stop finishes in-flight deliveries within its bound
 * and unlocks the rest; the engine's own loop delivers and counts in /metrics.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { parseExposition, sampleValue } from '@linkport/common';
import { createTrigger, drain, eventRows, eventsApp, invocations, processor, setupTable, startReceiver } from './helper.ts';

const DDL = 'CREATE TABLE flood (id int PRIMARY KEY, v text)';
const engineDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

void test('two processors on one database: every event delivered exactly once', async (t) => {
  const ta = await eventsApp(t);
  const hook = await startReceiver(t);
  // A little latency so both processors hold batches at the same time.
  hook.respond = (_d, res) => setTimeout(() => res.writeHead(200).end('ok'), 5);
  await setupTable(ta.app, DDL, 'flood');
  await createTrigger(ta.app, { name: 'flood_ins', table: 'flood', webhook: hook.url, insert: { columns: '*' } });
  await ta.pool.query("INSERT INTO flood SELECT g, 'v' || g FROM generate_series(1, 300) g");
  // The second engine's own connections (ended in the test: the database goes at teardown).
  const otherPool = new pg.Pool({ connectionString: ta.db.adminUrl, max: 4 });
  otherPool.on('error', () => undefined);
  const a = processor(t, ta, { fetchBatchSize: 20, httpPoolSize: 20 });
  const b = processor(t, ta, { fetchBatchSize: 20, httpPoolSize: 20 }, otherPool);
  let takenA = 0;
  let takenB = 0;
  for (let round = 0; round < 200 && hook.deliveries.length < 300; round++) {
    const [x, y] = await Promise.all([a.tick(), b.tick()]);
    takenA += x;
    takenB += y;
    await new Promise((r) => setTimeout(r, 5));
  }
  await Promise.all([a.idle(), b.idle()]);
  await otherPool.end();
  const ids = hook.deliveries.map((d) => d.body.event.data.new.id as number);
  assert.equal(ids.length, 300);
  assert.equal(new Set(ids).size, 300, 'no event twice');
  assert.ok(takenA > 0 && takenB > 0, `both processors worked: ${takenA}/${takenB}`);
  assert.equal((await invocations(ta.pool)).length, 300);
  assert.ok((await eventRows(ta.pool)).every((e) => e.delivered && e.tries === 1));
});

function startEngine(env: Record<string, string>): { done: Promise<number | null>; kill: (sig: NodeJS.Signals) => void; output: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], { cwd: engineDir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const done = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { done, kill: (sig) => child.kill(sig), output: () => out };
}

void test('an engine killed mid-delivery loses no event: another delivers them all after the stale-lock timeout', async (t) => {
  const ta = await eventsApp(t);
  const hook = await startReceiver(t);
  let hang = true;
  hook.respond = (_d, res) => {
    if (!hang) res.writeHead(200).end('ok');
  };
  await setupTable(ta.app, DDL, 'flood');
  await createTrigger(ta.app, { name: 'flood_ins', table: 'flood', webhook: hook.url, insert: { columns: '*' } });
  await ta.pool.query("INSERT INTO flood SELECT g, 'v' || g FROM generate_series(1, 20) g");

  const env = {
    HASURA_GRAPHQL_DATABASE_URL: ta.db.adminUrl, PORT: '20311', HOST: '127.0.0.1', LOG_LEVEL: 'warn',
    HASURA_GRAPHQL_EVENTS_FETCH_INTERVAL: '50', ENGINE_EVENTS_STALE_LOCK_SECONDS: '2',
  };
  const first = startEngine(env);
  t.after(() => first.kill('SIGKILL'));
  await hook.waitFor(20, 60_000); // all 20 taken and on the wire, none answered
  first.kill('SIGKILL');
  await first.done;
  const locked = await eventRows(ta.pool);
  assert.equal(locked.filter((e) => e.locked !== null && !e.delivered).length, 20, 'the dead engine left its locks');

  hang = false;
  const second = startEngine({ ...env, PORT: '20312' });
  t.after(() => second.kill('SIGKILL'));
  await hook.waitFor(40, 60_000);
  // The second engine records them; wait for the rows to say so.
  for (let i = 0; i < 200; i++) {
    if ((await eventRows(ta.pool)).every((e) => e.delivered)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  second.kill('SIGTERM');
  assert.equal(await second.done, 0, second.output());
  const rows = await eventRows(ta.pool);
  assert.ok(rows.every((e) => e.delivered && e.locked === null), JSON.stringify(rows.filter((e) => !e.delivered)));
  const delivered = hook.deliveries.slice(20).map((d) => d.body.id as string).sort();
  assert.deepEqual(delivered, rows.map((e) => e.id as string).sort(), 'every event delivered again after the crash');
});

void test('SIGTERM with a delivery hanging: the engine exits 0 within its grace and the event is unlocked, not lost', async (t) => {
  const ta = await eventsApp(t);
  const hook = await startReceiver(t);
  hook.respond = () => undefined; // never answers
  await setupTable(ta.app, DDL, 'flood');
  await createTrigger(ta.app, { name: 'flood_ins', table: 'flood', webhook: hook.url, insert: { columns: '*' } });
  await ta.pool.query("INSERT INTO flood VALUES (1, 'a')");
  const engine = startEngine({
    HASURA_GRAPHQL_DATABASE_URL: ta.db.adminUrl, PORT: '20313', HOST: '127.0.0.1', LOG_LEVEL: 'warn',
    HASURA_GRAPHQL_EVENTS_FETCH_INTERVAL: '50', HASURA_GRAPHQL_GRACEFUL_SHUTDOWN_TIMEOUT: '1',
  });
  t.after(() => engine.kill('SIGKILL'));
  await hook.waitFor(1, 60_000);
  engine.kill('SIGTERM');
  assert.equal(await engine.done, 0, engine.output());
  const [ev] = await eventRows(ta.pool);
  assert.deepEqual([ev.delivered, ev.error, ev.locked, ev.tries], [false, false, null, 0]);
});

void test('graceful stop: in-flight deliveries finish within the bound; past it, their events are unlocked', async (t) => {
  const ta = await eventsApp(t);
  const hook = await startReceiver(t);
  await setupTable(ta.app, DDL, 'flood');
  await createTrigger(ta.app, { name: 'flood_ins', table: 'flood', webhook: hook.url, insert: { columns: '*' } });

  hook.respond = (_d, res) => setTimeout(() => res.writeHead(200).end('ok'), 200);
  await ta.pool.query("INSERT INTO flood VALUES (1, 'a')");
  const p = processor(t, ta);
  assert.equal(await p.tick(), 1);
  await p.stop(10_000);
  assert.deepEqual((await eventRows(ta.pool)).map((e) => [e.delivered, e.locked]), [[true, null]]);

  hook.respond = () => undefined; // hangs
  await ta.pool.query("INSERT INTO flood VALUES (2, 'b')");
  const q = processor(t, ta);
  assert.equal(await q.tick(), 1);
  await hook.waitFor(2);
  await q.stop(100);
  const [, second] = await eventRows(ta.pool);
  assert.deepEqual([second.delivered, second.locked, second.tries], [false, null, 0], 'unlocked, not counted as a try');
  assert.equal((await invocations(ta.pool, second.id)).length, 0);
  // and another processor takes it at once (no stale-lock wait)
  hook.respond = (_d, res) => res.writeHead(200).end('ok');
  await drain(processor(t, ta));
  assert.equal((await eventRows(ta.pool))[1].delivered, true);
});

void test("the engine's own loop delivers; /metrics counts processed events, invocations, queue depth", async (t) => {
  const ta = await eventsApp(t, { processor: 'on', env: { HASURA_GRAPHQL_EVENTS_FETCH_INTERVAL: '50' } });
  const hook = await startReceiver(t);
  let n = 0;
  hook.respond = (_d, res) => res.writeHead(++n === 1 ? 500 : 200).end('x');
  await setupTable(ta.app, DDL, 'flood');
  await createTrigger(ta.app, { name: 'flood_ins', table: 'flood', webhook: hook.url, insert: { columns: '*' }, retry_conf: { num_retries: 0 } });
  await ta.pool.query("INSERT INTO flood VALUES (1, 'a'), (2, 'b'), (3, 'c')");
  await hook.waitFor(3);
  for (let i = 0; i < 100 && (await eventRows(ta.pool)).some((e) => !e.delivered && !e.error); i++) await new Promise((r) => setTimeout(r, 20));
  const res = await ta.app.inject({ method: 'GET', url: '/metrics' });
  const s = parseExposition(res.body);
  assert.equal(sampleValue(s, 'hasura_event_processed_total', { status: 'success', trigger_name: 'flood_ins' }), 2);
  assert.equal(sampleValue(s, 'hasura_event_processed_total', { status: 'failed', trigger_name: 'flood_ins' }), 1);
  assert.equal(sampleValue(s, 'hasura_event_invocations_total', { status: 'failed', trigger_name: 'flood_ins' }), 1);
  assert.equal(sampleValue(s, 'hasura_event_processing_time_seconds_count', { trigger_name: 'flood_ins' }), 2);
  assert.equal(sampleValue(s, 'linkport_events_pending'), 0);
  assert.equal(sampleValue(s, 'hasura_event_trigger_http_workers'), 0);
});

void test('deliveries run concurrently, at most HASURA_GRAPHQL_EVENTS_HTTP_POOL_SIZE at once (TestEventsAsynchronousExecution)', async (t) => {
  const ta = await eventsApp(t);
  const hook = await startReceiver(t);
  let open = 0;
  let peak = 0;
  const held: Array<() => void> = [];
  hook.respond = (_d, res) => {
    open++;
    peak = Math.max(peak, open);
    held.push(() => {
      open--;
      res.writeHead(200).end('ok');
    });
  };
  await setupTable(ta.app, DDL, 'flood');
  await createTrigger(ta.app, { name: 'flood_ins', table: 'flood', webhook: hook.url, insert: { columns: '*' } });
  await ta.pool.query("INSERT INTO flood SELECT g, 'v' FROM generate_series(1, 10) g");
  const p = processor(t, ta, { httpPoolSize: 3, fetchBatchSize: 100 });
  assert.equal(await p.tick(), 3, 'a fetch takes only what the pool can send');
  await hook.waitFor(3);
  assert.equal(await p.tick(), 0, 'no slot free, nothing taken');
  while (hook.deliveries.length < 10 || held.length) {
    held.splice(0).forEach((release) => release());
    await new Promise((r) => setTimeout(r, 20));
    await p.tick();
  }
  await p.idle();
  assert.equal(peak, 3);
  assert.equal(new Set(hook.deliveries.map((d) => d.body.id)).size, 10);
});

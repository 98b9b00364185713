import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setup, TestClock } from './helper.ts';

void test('two scheduler replicas: one leader, each job runs once per interval; a new leader takes over when it stops; job runs are visible', async (t) => {
  const e = await setup(t);
  const clock = new TestClock();
  const a = await e.build({ EVENTS_SCHEDULER: '0' }, { clock, worker: 'replica-a' });
  const b = await e.build({ EVENTS_SCHEDULER: '0' }, { clock, worker: 'replica-b' });
  // Data for the purge jobs: an expired refresh token (past the 7-day grace) and a live one, audit rows old and new.
  const owner = await e.newUser();
  await e.admin.query(
    `INSERT INTO core.refresh_tokens (user_id, family_id, token_hash, expires_at)
     VALUES ($1, gen_random_uuid(), '\\x01'::bytea, now() - interval '30 days'), ($1, gen_random_uuid(), '\\x02'::bytea, now() + interval '1 day')`,
    [owner],
  );
  await e.admin.query(`INSERT INTO core.audit_events (action, created_at) VALUES ('old', now() - interval '200 days'), ('new', now())`);

  const [ra, rb] = await Promise.all([a.scheduler.tick(), b.scheduler.tick()]);
  assert.equal([a.scheduler.isLeader, b.scheduler.isLeader].filter(Boolean).length, 1, `exactly one leader: ${a.scheduler.isLeader} ${b.scheduler.isLeader} ${JSON.stringify([ra, rb])}`);
  const ran = [...ra, ...rb];
  assert.deepEqual(ran.map((o) => o.job).sort(), ['audit_events_purge', 'link_clicked', 'refresh_tokens_purge', 'rollup_reconcile', 'stale_delivery_recovery', 'upload_sessions_purge', 'webhook_log_purge']);
  assert.ok(ran.every((o) => o.outcome === 'ok'), JSON.stringify(ran));
  assert.deepEqual(ran.find((o) => o.job === 'refresh_tokens_purge')!.result, { deleted: 1 });
  assert.deepEqual(ran.find((o) => o.job === 'audit_events_purge')!.result, { deleted: 1 });

  // Ticks again at the same instant: nothing is due on either replica.
  const again = await Promise.all([a.scheduler.tick(), b.scheduler.tick(), a.scheduler.tick(), b.scheduler.tick()]);
  assert.equal(again.flat().length, 0);

  // The leader goes away; a minute later the other replica leads and runs only the minutely jobs
  // (link_clicked runs every EVENTS_CLICK_BATCH_MS, a minute by default).
  const leader = a.scheduler.isLeader ? a : b;
  const other = leader === a ? b : a;
  await leader.scheduler.stop();
  clock.advance(61_000);
  const next = await other.scheduler.tick();
  assert.ok(other.scheduler.isLeader);
  assert.deepEqual(next.map((o) => o.job).sort(), ['link_clicked', 'stale_delivery_recovery']);

  const { rows } = await e.admin.query<{ job: string; runs: string; last_outcome: string; last_duration_ms: number | null }>(
    `SELECT job, runs::text, last_outcome, last_duration_ms FROM webhooks.job_runs ORDER BY job`,
  );
  assert.equal(rows.length, 7);
  assert.ok(rows.every((r) => r.last_outcome === 'ok' && r.last_duration_ms !== null));
  assert.equal(rows.find((r) => r.job === 'stale_delivery_recovery')!.runs, '2');
  assert.equal(rows.find((r) => r.job === 'audit_events_purge')!.runs, '1');
  const metrics = await other.app.inject({ method: 'GET', url: '/metrics' });
  assert.match(metrics.body, /linkport_scheduled_job_runs_total\{job="stale_delivery_recovery",outcome="ok"\} 1/);
});

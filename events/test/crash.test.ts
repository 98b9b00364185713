import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { hasuraPayload, postEvent, receiver, setup } from './helper.ts';

const entry = path.resolve(import.meta.dirname, '../src/server.ts');

void test('kill -9 mid-delivery: another replica redelivers after the lease, the event is delivered at least once with the same webhook-id', async (t) => {
  const e = await setup(t);
  let killed: (() => void) | undefined;
  const firstRequest = new Promise<void>((resolve) => (killed = resolve));
  const r = await receiver(t, (_req, res, n) => {
    if (n === 1) return killed?.(); // hold the first delivery open: the process dies while it waits
    res.end('ok');
  });
  const owner = await e.newUser();
  await e.newEndpoint(owner, r.url);
  const env = e.env({ EVENTS_DELIVERY_LEASE_MS: '1500', EVENTS_DELIVERY_POLL_MS: '50', EVENTS_SCHEDULER: '0' });
  const child = spawn(process.execPath, ['--import', 'tsx', entry], { env: { ...process.env, ...env }, stdio: 'ignore' });
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });

  // Enqueue through an in-process receiver on the same database (the child only delivers).
  const front = await e.build({ EVENTS_SCHEDULER: '0' }, { worker: 'front' });
  assert.equal((await postEvent(front, hasuraPayload('links.links', 'INSERT', { new: await e.newLink(owner) }))).json().deliveries, 1);

  await firstRequest;
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  const stuck = await e.admin.query<{ status: string; locked_by: string }>(`SELECT status, locked_by FROM webhooks.deliveries`);
  assert.equal(stuck.rows[0]!.status, 'delivering', 'the killed process held the claim');

  // Before the lease ends nobody else takes it (no duplicate while the first may still be in flight).
  assert.equal(await front.runner.runOnce(), 0);
  await new Promise((resolve) => setTimeout(resolve, 1700));
  assert.equal(await front.runner.runOnce(), 1);
  const { rows } = await e.admin.query<{ status: string; attempts: number }>(`SELECT status, attempts FROM webhooks.deliveries`);
  assert.deepEqual(rows, [{ status: 'succeeded', attempts: 2 }]);
  assert.equal(r.got.length, 2);
  assert.equal(r.got[0]!.headers['webhook-id'], r.got[1]!.headers['webhook-id']);
});

void test('two runners claiming at once never take the same delivery (FOR UPDATE SKIP LOCKED)', async (t) => {
  const e = await setup(t);
  const r = await receiver(t);
  const owner = await e.newUser();
  await e.newEndpoint(owner, r.url);
  const a = await e.build({ EVENTS_DELIVERY_BATCH: '10' }, { worker: 'a' });
  const b = await e.build({ EVENTS_DELIVERY_BATCH: '10' }, { worker: 'b' });
  for (let i = 0; i < 40; i++) await postEvent(a, hasuraPayload('links.links', 'INSERT', { new: await e.newLink(owner) }));
  let total = 0;
  for (;;) {
    const [x, y] = await Promise.all([a.runner.runOnce(), b.runner.runOnce()]);
    total += x + y;
    if (x + y === 0) break;
  }
  assert.equal(total, 40);
  assert.equal(r.got.length, 40);
  assert.equal(new Set(r.got.map((g) => g.headers['webhook-id'])).size, 40);
});

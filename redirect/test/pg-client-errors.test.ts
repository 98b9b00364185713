import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createPool, isConnectionError, pingPool, poolHealth, withTransaction } from '@linkport/common';
import { setup } from './helper.ts';

/**
 * The crash of issue 11 in miniature: a pool client checked out inside withTransaction loses its
 * server between two statements. node-postgres then emits 'error' on that client with no query to
 * fail; before createPool/withTransaction listened for it, Node threw it ("Connection terminated
 * unexpectedly") and this test process died instead of failing an assertion.
 */
void test('a pool client that loses its server mid-transaction: the call rejects, the process lives, the pool recovers', async (t) => {
  const e = await setup(t);
  const pool = createPool(e.db.roleUrl('redirect_service'), { max: 2, applicationName: 'pg-client-errors' });
  t.after(() => pool.end());

  let terminated = false;
  const failed = await withTransaction(pool, async (c) => {
    const pid = (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    // 57P01 admin_shutdown on this backend, while the client is idle in the transaction.
    await e.admin.query('SELECT pg_terminate_backend($1)', [pid]);
    terminated = true;
    await new Promise((r) => setTimeout(r, 200));
    return c.query('SELECT 1');
  }).then(
    () => undefined,
    (err: unknown) => err,
  );
  assert.ok(terminated);
  assert.ok(failed, 'the transaction failed');
  assert.ok(isConnectionError(failed), String(failed));
  assert.equal(poolHealth(pool).up, false, 'the client error marked PostgreSQL down');

  // The dead client was discarded, not handed out again: the next transaction works.
  const n = await withTransaction(pool, async (c) => Number((await c.query<{ n: string }>('SELECT count(*) AS n FROM links.links')).rows[0]!.n));
  assert.equal(typeof n, 'number');
  assert.equal(poolHealth(pool).up, true, 'a new connection marked it up again');

  // An idle pooled client losing its server is dropped quietly too.
  const idlePid = (await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  await e.admin.query('SELECT pg_terminate_backend($1)', [idlePid]);
  await new Promise((r) => setTimeout(r, 200));
  await pingPool(pool);
});

void test('connection failures are classified as such, statement errors are not', async () => {
  const refused = createPool('postgres://nobody:x@127.0.0.1:1/nothing', { max: 1, connectionTimeoutMillis: 1000 });
  try {
    const err = await pingPool(refused).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err && isConnectionError(err), String(err));
    assert.equal(poolHealth(refused).up, false);
  } finally {
    await refused.end();
  }
  assert.equal(isConnectionError(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' })), true);
  assert.equal(isConnectionError(Object.assign(new Error('the database system is starting up'), { code: '57P03' })), true);
  assert.equal(isConnectionError(new Error('Connection terminated unexpectedly')), true);
  assert.equal(isConnectionError(Object.assign(new Error('duplicate key'), { code: '23505' })), false);
  assert.equal(isConnectionError(new TypeError('x is undefined')), false);
});

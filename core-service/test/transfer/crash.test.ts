import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { once } from 'node:events';
import { newUser, sql } from '../helper.ts';
import { buildTransfer, FIXTURES, importFile, waitJob, type JobOut } from './helper.ts';

const ROWS = 40_000;

void test('a worker killed mid-import leaves no link behind; the job is taken again after its lease and imports everything once', async (t) => {
  // This app queues jobs but runs none: the child process below is the only worker at first.
  const built = await buildTransfer(t, { TRANSFER_LEASE_SECONDS: '2' }, { transferWorker: false });
  const { app, db } = built;
  const u = await newUser(app);
  const tag = u.userId.slice(0, 8);
  const csv = ['code,destination,title', ...Array.from({ length: ROWS }, (_, i) => `k${tag}-${i},https://example.com/${i},Row ${i}`)].join('\n');
  const res = await importFile(app, u.access, 'csv', csv);
  assert.equal(res.statusCode, 202, res.body);
  const jobId = res.json<JobOut>().id;

  const child = spawn(process.execPath, ['--import', 'tsx', path.join(FIXTURES, 'worker-child.ts')], {
    cwd: path.resolve(import.meta.dirname, '../..'),
    env: { ...process.env, ...built.s3Env, DATABASE_URL: built.config.DATABASE_URL, REDIS_URL: built.redisUrl, TRANSFER_LEASE_SECONDS: '2' },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const exited = once(child, 'exit');

  // Kill it once the import is under way: some batches written (uncommitted), not all.
  let seen: { status: string; rows_done: string; locked_by: string | null } | undefined;
  for (const until = Date.now() + 60_000; Date.now() < until; ) {
    [seen] = await sql<{ status: string; rows_done: string; locked_by: string | null }>(db, 'SELECT status, rows_done, locked_by FROM core.transfer_jobs WHERE id = $1', [jobId]);
    if (seen?.status === 'running' && Number(seen.rows_done) >= 1000) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.ok(seen && Number(seen.rows_done) >= 1000 && Number(seen.rows_done) < ROWS, `progress ${JSON.stringify(seen)}`);
  child.kill('SIGKILL');
  await exited;

  // Nothing of the import is visible: its transaction died with the process.
  const [count] = await sql<{ n: string }>(db, 'SELECT count(*) AS n FROM links.links WHERE owner_id = $1', [u.userId]);
  assert.equal(Number(count?.n), 0);
  const mid = await app.inject({ method: 'GET', url: `/v1/core/transfer/jobs/${jobId}`, headers: { authorization: `Bearer ${u.access}` } });
  assert.equal(mid.json<JobOut>().status, 'running');

  // A worker that comes up later takes the job once the lease ran out, and imports every row once.
  await built.another({ ...built.s3Env, TRANSFER_LEASE_SECONDS: '2', TRANSFER_POLL_MS: '50' });
  const done = await waitJob(app, u.access, jobId, 90_000);
  assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
  assert.deepEqual(done.result, { rows: ROWS, created: ROWS, unchanged: 0, conflicts: 0, invalid: 0, problems: 0, dry_run: false });
  const [row] = await sql<{ n: string; attempts: number }>(
    db,
    'SELECT (SELECT count(*) FROM links.links WHERE owner_id = $1) AS n, attempts FROM core.transfer_jobs WHERE id = $2',
    [u.userId, jobId],
  );
  assert.equal(Number(row?.n), ROWS);
  assert.equal(row?.attempts, 2);
});

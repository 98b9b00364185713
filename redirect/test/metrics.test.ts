/**
 * The redirect server's and the click worker's `/metrics` after known traffic: redirects by status,
 * 404s, the request histogram by route template (never the code), clicks captured, and on the
 * worker (a real child process, scraped on its probe port) batches, commit latency, freshness and
 * the stream's length, lag, pending and dead letters read from Redis.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { sampleValue, scrape } from '@linkport/common';
import { get, root, setup, startApp, waitFor } from './helper.ts';

void test('redirect and worker metrics count exactly the traffic sent', async (t) => {
  const e = await setup(t);
  const temp = await e.newLink();
  const perm = await e.newLink({ redirect_type: 301 });
  const app = await startApp(t, e, { CLICK_LINGER_MS: '1' });
  for (let i = 0; i < 3; i++) assert.equal((await get(`${app.url}/${temp.code}`)).status, 302);
  for (let i = 0; i < 2; i++) assert.equal((await get(`${app.url}/${perm.code}`)).status, 301);
  assert.equal((await get(`${app.url}/nosuchcode1`)).status, 404);
  assert.equal((await get(`${app.url}/nosuchcode2`)).status, 404);
  assert.equal((await get(`${app.url}/a/b/c`)).status, 404);
  await waitFor(async () => app.metrics.c.clicks_sent_total === 5, 5_000, 'clicks sent');

  const s = await scrape(`${app.url}/metrics`);
  assert.equal(sampleValue(s, 'linkport_redirect_redirects_by_status_total', { status: '302' }), 3);
  assert.equal(sampleValue(s, 'linkport_redirect_redirects_by_status_total', { status: '301' }), 2);
  assert.equal(sampleValue(s, 'linkport_redirect_redirects_total'), 5);
  assert.equal(sampleValue(s, 'linkport_redirect_not_found_total'), 3);
  assert.equal(sampleValue(s, 'linkport_redirect_clicks_sent_total'), 5);
  assert.equal(sampleValue(s, 'linkport_redirect_clicks_dropped_total'), 0);
  const req = (labels: Record<string, string>) => sampleValue(s, 'http_server_request_duration_seconds_count', labels);
  assert.equal(req({ method: 'GET', route: '/:code', status_code: '302' }), 3);
  assert.equal(req({ method: 'GET', route: '/:code', status_code: '301' }), 2);
  assert.equal(req({ method: 'GET', route: '/:code', status_code: '404' }), 2);
  assert.equal(req({ route: '', status_code: '404' }), 1);
  assert.ok(!s.some((x) => Object.values(x.labels).some((v) => v.includes('nosuchcode') || v.includes(temp.code))), 'no code in any label');
  assert.equal(sampleValue(s, 'linkport_redirect_redis_up'), 1);
  assert.equal(sampleValue(s, 'pg_pool_max_connections', { pool: 'redirect' }), 10);
  assert.ok(sampleValue(s, 'redis_command_duration_seconds_count', { client: 'redirect', outcome: 'ok' }) >= 1, 'clicks went out through Redis (one Lua XADD script per batch)');

  // The worker: a real process; its probe port is in its start log line.
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'redirect/src/worker.ts')], {
    cwd: root,
    env: { ...process.env, ...e.env({ LOG_LEVEL: 'info', WORKER_PORT: '0', WORKER_BLOCK_MS: '100', WORKER_RECONCILE_INTERVAL_MS: '1000' }) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((r) => child.once('exit', r));
  t.after(async () => {
    child.kill('SIGTERM');
    await exited;
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const probes = await waitFor(async () => /"probes":"(http:\/\/[^"]+)"/.exec(out)?.[1], 20_000, 'worker probe url');
  const w = await waitFor(
    async () => {
      const m = await scrape(`${probes}/metrics`);
      return sampleValue(m, 'linkport_worker_clicks_inserted_total') === 5 ? m : undefined;
    },
    20_000,
    'clicks committed',
  );
  assert.equal(sampleValue(w, 'linkport_worker_batch_size_sum'), 5);
  assert.equal(sampleValue(w, 'linkport_worker_commit_duration_seconds_count'), sampleValue(w, 'linkport_worker_batch_size_count'));
  assert.equal(sampleValue(w, 'linkport_click_freshness_seconds_count'), sampleValue(w, 'linkport_worker_batch_size_count'));
  assert.equal(sampleValue(w, 'linkport_worker_clicks_counted_total'), 5);
  assert.equal(sampleValue(w, 'linkport_worker_dead_letters_total'), 0);
  assert.equal(sampleValue(w, 'linkport_click_stream', { stat: 'length' }), 5);
  assert.equal(sampleValue(w, 'linkport_click_stream', { stat: 'lag' }), 0);
  assert.equal(sampleValue(w, 'linkport_click_stream', { stat: 'pending' }), 0);
  assert.equal(sampleValue(w, 'linkport_click_stream', { stat: 'dead_letters' }), 0);
  assert.equal(sampleValue(w, 'pg_pool_max_connections', { pool: 'click-worker' }), 4);
  assert.ok(w.some((x) => x.name === 'process_resident_memory_bytes'));

  // Reconciliation: 0 mismatches, then a rollup edited behind the worker's back shows up.
  const reconciled = async (pred: (m: Awaited<ReturnType<typeof scrape>>) => boolean, what: string) =>
    waitFor(async () => {
      const m = await scrape(`${probes}/metrics`);
      return pred(m) ? m : undefined;
    }, 20_000, what);
  const since = sampleValue(w, 'linkport_rollup_reconciled_timestamp_seconds');
  const ok = await reconciled((m) => sampleValue(m, 'linkport_rollup_reconciled_timestamp_seconds') > since, 'a reconciliation after the clicks');
  for (const rollup of ['hourly_stats', 'account_hourly_stats', 'account_daily_stats', 'daily_stats']) assert.equal(sampleValue(ok, 'linkport_rollup_mismatches', { rollup }), 0, rollup);
  await e.admin.query(`UPDATE links.hourly_stats SET clicks = clicks + 1`);
  const bad = await reconciled((m) => sampleValue(m, 'linkport_rollup_mismatches', { rollup: 'hourly_stats' }) > 0, 'the mismatch reported');
  assert.equal(sampleValue(bad, 'linkport_rollup_mismatches', { rollup: 'daily_stats' }), 0);
});

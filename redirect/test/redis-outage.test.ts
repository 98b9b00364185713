import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startTestRedis } from '@linkport/devstack/testing';
import { get, setup, spawnWorker, startApp, waitFor } from './helper.ts';

void test('Redis stopped during a burst: every redirect succeeds, every click is recorded once', async (t) => {
  const e = await setup(t, { appendonly: true });
  // A short local TTL so lookups also go to PostgreSQL while Redis is away.
  const app = await startApp(t, e, { LINK_CACHE_TTL_MS: '100' });
  const links = await Promise.all([0, 1, 2, 3].map(() => e.newLink()));
  const worker = spawnWorker(e.env({ WORKER_BATCH: '200', WORKER_BLOCK_MS: '200', WORKER_CLAIM_IDLE_MS: '1000' }));
  t.after(() => {
    if (worker.exitCode === null) worker.kill('SIGKILL');
  });

  const TOTAL = 1500;
  const statuses = new Map<number, number>();
  let sent = 0;
  let restarted: Awaited<ReturnType<typeof startTestRedis>> | undefined;
  const outage = (async () => {
    await waitFor(async () => sent >= 300, 10_000, '300 redirects');
    await e.redis.stop();
    await waitFor(async () => sent >= 1000, 20_000, '1000 redirects');
    restarted = await startTestRedis({ appendonly: true, port: e.redis.port, dir: e.redis.dir });
  })();
  const client = async () => {
    while (sent < TOTAL) {
      const i = sent++;
      const r = await get(`${app.url}/${links[i % links.length]!.code}`);
      await r.arrayBuffer();
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      if (i % 50 === 0) await new Promise((res) => setTimeout(res, 5));
    }
  };
  await Promise.all([outage, ...Array.from({ length: 10 }, client)]);
  t.after(() => restarted?.stop());
  assert.deepEqual([...statuses], [[302, TOTAL]]);

  const metrics = await (await get(`${app.url}/metrics`)).text();
  const metric = (k: string) => Number(new RegExp(`linkport_redirect_${k} (\\d+)`).exec(metrics)?.[1]);
  assert.ok(metric('clicks_buffered_total') > 0, 'clicks were buffered during the outage');
  assert.equal(metric('clicks_dropped_total'), 0);

  const q = async (sql: string) => Number((await e.admin.query<{ n: string }>(sql)).rows[0]!.n);
  await waitFor(async () => (await q('SELECT coalesce(sum(click_count), 0) AS n FROM links.links')) === TOTAL, 30_000, 'all clicks counted');
  assert.equal(await q('SELECT count(*) AS n FROM links.clicks'), TOTAL);
  assert.equal(await q('SELECT count(DISTINCT click_id) AS n FROM links.clicks'), TOTAL);
  assert.equal(app.producer.buffered, 0);
  worker.kill('SIGTERM');
  assert.equal(await worker.exited, 0);
});

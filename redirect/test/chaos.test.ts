import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import pg from 'pg';
import { ensureTemplate, freePort, startEmbeddedPostgres, startTestRedis, testRolePasswords, type RunningPostgres } from '@linkport/devstack/testing';
import { BROWSER_UA, spawnService, spawnWorker, waitFor } from './helper.ts';

const OUTAGE_MS = 5_000;
const WARM = 20;
const FRESH = 12_000;

/**
 * Issue 11's chaos run, on real processes: the redirect server and the click worker as children,
 * a PostgreSQL of our own (the shared test cluster must not be stopped) and a redis-server with AOF.
 * During a steady redirect load PostgreSQL is stopped for 5 s (fast shutdown: every session is
 * terminated with 57P01), then Redis for 5 s. Every request must be answered — 302, or 503 with
 * Retry-After for a code no cache holds while PostgreSQL is away — neither process may exit,
 * readiness must turn 503 and back to 200 by itself, and after recovery links.clicks must hold each
 * answered redirect exactly once.
 */
void test('chaos: PostgreSQL down 5 s, then Redis down 5 s, under a redirect burst', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'linkport-chaos-'));
  fs.chmodSync(dir, 0o755);
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const dataDir = path.join(dir, 'pg');
  // persistent: the data must survive the stop (a throwaway cluster deletes it on stop).
  let pgServer: RunningPostgres = await startEmbeddedPostgres({ dataDir, persistent: true });
  const pgPort = pgServer.port;
  t.after(() => pgServer.stop());
  await ensureTemplate(pgServer.url);
  const adminBase = new URL(pgServer.url);
  const admin0 = new pg.Client({ connectionString: pgServer.url });
  await admin0.connect();
  await admin0.query('CREATE DATABASE chaos TEMPLATE linkport_template');
  await admin0.end();
  adminBase.pathname = '/chaos';
  const adminUrl = adminBase.toString();
  const roleUrl = new URL(adminUrl);
  roleUrl.username = 'redirect_service';
  roleUrl.password = testRolePasswords.redirect_service;

  let redis = await startTestRedis({ appendonly: true });
  const redisPort = redis.port;
  t.after(() => redis.stop());

  // Setup data: WARM links requested before the outage (cached), FRESH links each requested once.
  const admin = new pg.Pool({ connectionString: adminUrl, max: 2 });
  admin.on('error', () => {});
  t.after(() => admin.end());
  const owner = (await admin.query<{ id: string }>(`INSERT INTO core.users (email, password_hash) VALUES ('chaos@example.com', 'x') RETURNING id`)).rows[0]!.id;
  await admin.query(
    `INSERT INTO links.links (owner_id, code, destination)
     SELECT $1::uuid, 'warm' || i, 'https://example.com/w' || i FROM generate_series(1, $2::int) i
     UNION ALL SELECT $1::uuid, 'fresh' || i, 'https://example.com/f' || i FROM generate_series(1, $3::int) i`,
    [owner, WARM, FRESH],
  );

  const port = await freePort();
  const env = {
    DATABASE_URL: roleUrl.toString(),
    REDIS_URL: redis.url,
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: process.env.CHAOS_DEBUG ? 'info' : 'warn',
    WORKER_BATCH: '500',
    WORKER_BLOCK_MS: '200',
    WORKER_CLAIM_IDLE_MS: '1000',
  };
  const server = spawnService('redirect/src/server.ts', env, 'redirect');
  const worker = spawnWorker(env);
  t.after(() => {
    for (const p of [server, worker]) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  });
  const base = `http://127.0.0.1:${port}`;
  const status = (p: string) =>
    fetch(base + p, { redirect: 'manual', headers: { 'user-agent': BROWSER_UA } }).then(
      async (r) => {
        await r.arrayBuffer();
        return r.status;
      },
      () => 0,
    );
  await waitFor(async () => (await status('/health/ready')) === 200, 20_000, 'redirect ready');

  // Load: each answer tallied by phase; a failed request (reset, refused) is `0` and fails the test.
  type Phase = 'before' | 'pg-down' | 'between' | 'redis-down' | 'after';
  let phase: Phase = 'before';
  const tally = new Map<string, number>();
  const bump = (k: string) => tally.set(k, (tally.get(k) ?? 0) + 1);
  let redirects = 0;
  let missingRetryAfter = 0;
  let warmNot302 = 0;
  let fresh = 0;
  let running = true;
  for (let i = 1; i <= WARM; i++) assert.equal(await status(`/warm${i}`), 302);
  redirects += WARM;

  const loop = async (id: number) => {
    let n = 0;
    while (running) {
      const isFresh = n++ % 4 === 0 && fresh < FRESH;
      const code = isFresh ? `fresh${++fresh}` : `warm${((n * 7 + id) % WARM) + 1}`;
      const at = phase;
      const r = await fetch(`${base}/${code}`, { redirect: 'manual', headers: { 'user-agent': BROWSER_UA } }).then(
        async (res) => {
          await res.arrayBuffer();
          return res;
        },
        () => undefined,
      );
      const s = r?.status ?? 0;
      bump(`${at}:${s}`);
      if (s === 302) redirects++;
      if (s === 503 && !r?.headers.get('retry-after')) missingRetryAfter++;
      if (!isFresh && s !== 302) warmNot302++;
      await new Promise((res) => setTimeout(res, 2));
    }
  };
  const readiness: string[] = [];
  const watchReady = (async () => {
    while (running) {
      readiness.push(`${phase}:${await status('/health/ready')}`);
      await new Promise((res) => setTimeout(res, 250));
    }
  })();
  const loops = Array.from({ length: 6 }, (_, i) => loop(i));
  const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

  await sleep(1_500);
  phase = 'pg-down';
  await pgServer.stop();
  await sleep(OUTAGE_MS);
  pgServer = await startEmbeddedPostgres({ dataDir, port: pgPort, persistent: true });
  phase = 'between';
  await waitFor(async () => (await status('/health/ready')) === 200, 15_000, 'ready after PostgreSQL restart');
  await sleep(1_000);
  phase = 'redis-down';
  await redis.stop();
  await sleep(OUTAGE_MS);
  redis = await startTestRedis({ appendonly: true, port: redisPort, dir: redis.dir });
  phase = 'after';
  await waitFor(async () => (await status('/health/ready')) === 200, 15_000, 'ready after Redis restart');
  await sleep(1_500);
  running = false;
  await Promise.all([...loops, watchReady]);

  const summary = Object.fromEntries([...tally].sort());
  const answered = [...tally].filter(([k]) => !k.endsWith(':0')).reduce((s, [, v]) => s + v, 0);
  const unanswered = [...tally].filter(([k]) => k.endsWith(':0')).reduce((s, [, v]) => s + v, 0);
  console.log(`# chaos: ${JSON.stringify(summary)} warm-up 302=${WARM}`);

  assert.equal(unanswered, 0, `requests without an answer: ${JSON.stringify(summary)}`);
  assert.deepEqual(
    [...tally.keys()].map((k) => k.split(':')[1]).filter((s) => s !== '302' && s !== '503'),
    [],
    `only 302 and 503: ${JSON.stringify(summary)}`,
  );
  assert.equal(missingRetryAfter, 0, 'every 503 carries Retry-After');
  assert.equal(warmNot302, 0, `cached codes were always redirected: ${JSON.stringify(summary)}`);
  assert.ok((tally.get('pg-down:503') ?? 0) > 0, 'uncached codes met the PostgreSQL outage (the 503 path was exercised)');
  assert.ok((tally.get('pg-down:302') ?? 0) > 0 && (tally.get('redis-down:302') ?? 0) > 0, 'redirects continued in both outages');
  assert.equal(tally.get('redis-down:503') ?? 0, 0, 'with Redis down PostgreSQL answers every lookup');
  assert.ok(readiness.includes('pg-down:503') && readiness.includes('redis-down:503'), `readiness went 503: ${readiness.join(' ')}`);
  assert.equal(readiness.at(-1)?.endsWith(':200'), true, 'and back to 200');
  assert.equal(server.exitCode, null, 'the redirect server is still running');
  assert.equal(worker.exitCode, null, 'the worker is still running');

  // Every answered redirect counted exactly once, once the worker has caught up.
  const q = async (sql: string) => Number((await admin.query<{ n: string }>(sql)).rows[0]!.n);
  await waitFor(async () => (await q('SELECT coalesce(sum(click_count), 0) AS n FROM links.links')) >= redirects, 30_000, `${redirects} clicks counted`);
  await sleep(500);
  const counted = await q('SELECT coalesce(sum(click_count), 0) AS n FROM links.links');
  const rows = await q('SELECT count(*) AS n FROM links.clicks');
  const distinct = await q('SELECT count(DISTINCT click_id) AS n FROM links.clicks');
  console.log(`# chaos: answered ${answered + WARM}, redirects ${redirects}, clicks counted ${counted}, click rows ${rows}, distinct ids ${distinct}`);
  assert.equal(counted, redirects);
  assert.equal(rows, redirects);
  assert.equal(distinct, redirects);

  server.kill('SIGTERM');
  worker.kill('SIGTERM');
  assert.equal(await server.exited, 0);
  assert.equal(await worker.exited, 0);
});

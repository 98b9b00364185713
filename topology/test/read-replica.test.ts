/**
 * The redirect's cold path on a read replica (issue 18, point 3), on a real PostgreSQL primary and a
 * streaming replica whose replay is paused (pg_wal_replay_pause(), PostgreSQL docs §9.27.5): a link
 * deleted or disabled on the primary is not served once its notification arrived (well within 1 s),
 * although the replica still has the old row; lookups otherwise come from the replica.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort, startEmbeddedPostgres } from '@linkport/devstack';
import { startTestRedis } from '@linkport/devstack/testing';
import { migrate, roleUrl, setRolePasswords } from '@linkport/migrations';
import { buildRedirectApp, loadRedirectConfig } from '@linkport/redirect';
import { startReplica } from '../src/pg-replica.ts';

async function until(cond: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

void test('read replica: lookups from the replica; a deleted or disabled link is never served past its notification, replay paused', async (t) => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'lp-h11-replica-'));
  fs.chmodSync(base, 0o755);
  // torn down last-in first-out: pools before the servers they talk to
  const cleanup: Array<() => unknown> = [() => fs.rmSync(base, { recursive: true, force: true })];
  t.after(async () => {
    for (const f of cleanup.reverse()) await f();
  });
  const primary = await startEmbeddedPostgres({ dataDir: path.join(base, 'primary'), persistent: false });
  cleanup.push(() => primary.stop());
  const admin = new pg.Pool({ connectionString: primary.url, max: 2 });
  admin.on('error', () => {});
  cleanup.push(() => admin.end());
  await migrate(admin);
  const pw = 'redirect_pw_test';
  await setRolePasswords(admin, { redirect_service: pw });

  const replica = await startReplica({ primaryUrl: primary.url, primaryDataDir: path.join(base, 'primary'), dataDir: path.join(base, 'replica'), port: await freePort() });
  cleanup.push(() => replica.stop());
  const radmin = new pg.Pool({ connectionString: replica.url, max: 2 });
  radmin.on('error', () => {});
  cleanup.push(() => radmin.end());
  const { rows: rec } = await radmin.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r');
  assert.equal(rec[0]?.r, true, 'the replica is a standby');

  const redis = await startTestRedis();
  cleanup.push(() => redis.stop());

  const { rows: u } = await admin.query<{ id: string }>(`INSERT INTO core.users (email, password_hash) VALUES ('replica@example.com', 'x') RETURNING id`);
  const owner = u[0]!.id;
  const newLink = async (code: string) => {
    await admin.query(`INSERT INTO links.links (owner_id, code, destination) VALUES ($1, $2, 'https://example.com/x')`, [owner, code]);
  };
  await newLink('deleteme');
  await newLink('disableme');
  await newLink('stays');
  await until(async () => (await radmin.query(`SELECT 1 FROM links.links WHERE code = 'stays'`)).rowCount === 1, 10_000, 'replica caught up');

  const app = await buildRedirectApp(
    loadRedirectConfig({
      DATABASE_URL: roleUrl(primary.url, 'redirect_service', pw),
      REDIRECT_DATABASE_READ_URL: roleUrl(replica.url, 'redirect_service', pw),
      REDIS_URL: redis.url,
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: process.env.LP_DEBUG ? 'debug' : 'silent',
      // a long local TTL: only the invalidation can make the change visible
      LINK_CACHE_TTL_MS: '60000',
    }),
  );
  const { url } = await app.listen();
  cleanup.push(() => app.close());
  const get = async (code: string) => (await fetch(`${url}/${code}`, { redirect: 'manual' })).status;

  // once the startup pin (LISTEN) has been passed by the replica, cold lookups go to the replica
  await until(async () => (await get('stays')) === 302, 5000, 'stays served');
  for (const c of ['deleteme', 'disableme']) assert.equal(await get(c), 302);
  const { rows: conns } = await radmin.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'redirect-read'`);
  assert.ok((conns[0]?.n ?? 0) >= 1, 'the redirect holds connections to the replica');

  await radmin.query('SELECT pg_wal_replay_pause()');
  await until(async () => (await radmin.query<{ s: string }>('SELECT pg_get_wal_replay_pause_state() AS s')).rows[0]?.s === 'paused', 5000, 'replay paused');

  const changedAt = Date.now();
  await admin.query(`DELETE FROM links.links WHERE code = 'deleteme'`);
  await admin.query(`UPDATE links.links SET status = 'disabled' WHERE code = 'disableme'`);
  await until(async () => (await get('deleteme')) !== 302 && (await get('disableme')) !== 302, 1000, 'changes visible');
  const tookMs = Date.now() - changedAt;
  assert.ok(tookMs <= 1000, `served stale for ${tookMs} ms`);
  // the replica still has the old rows: only the routing rule keeps them from being served
  const { rows: old } = await radmin.query<{ code: string; status: string }>(`SELECT code, status FROM links.links WHERE code IN ('deleteme', 'disableme') ORDER BY code`);
  assert.deepEqual(old.map((r) => `${r.code}:${r.status}`), ['deleteme:active', 'disableme:active']);
  // and they stay unserved while replay is paused (every cache tier refilled from the primary)
  for (let i = 0; i < 5; i++) {
    for (const c of ['deleteme', 'disableme']) {
      const s = await get(c);
      assert.ok(s !== 302 && s < 500, `${c} answered ${s}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  // a link created while the replica is behind is served too (its insert notification pins it)
  await newLink('fresh');
  await until(async () => (await get('fresh')) === 302, 1000, 'new link served');

  await radmin.query('SELECT pg_wal_replay_resume()');
  await until(async () => (await radmin.query(`SELECT 1 FROM links.links WHERE code = 'deleteme'`)).rowCount === 0, 10_000, 'replica replayed the delete');
  assert.notEqual(await get('deleteme'), 302);
  assert.equal(await get('stays'), 302);
});

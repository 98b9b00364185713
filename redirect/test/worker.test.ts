import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { clickFields, type Click } from '../src/clicks/click.ts';
import { BROWSER_UA, setup, spawnWorker, waitFor } from './helper.ts';

const BOTS = ['Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)', 'facebookexternalhit/1.1', 'Twitterbot/1.0', 'WhatsApp/2.23.20.0', 'Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)'];
const PHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1';

void test('click worker: kill -9 mid-batch and restart → exact totals, no duplicates, bots kept out of counts', async (t) => {
  const e = await setup(t);
  const a = await e.newLink();
  const b = await e.newLink();
  const redis = new Redis(e.redis.url).on('error', () => {});
  t.after(() => redis.disconnect());

  const N = 6000;
  const now = Date.now();
  const clicks: Click[] = [];
  for (let i = 0; i < N; i++) {
    const bot = i % 10 === 0;
    clicks.push({
      id: randomUUID(),
      linkId: i % 3 === 0 ? b.id : a.id,
      code: i % 3 === 0 ? b.code : a.code,
      ts: now - (i % 1000),
      visitor: `visitor${i % 40}`,
      ua: bot ? BOTS[i % BOTS.length]! : i % 2 ? PHONE : BROWSER_UA,
      referrer: i % 4 === 0 ? 'https://www.news.example/x' : '',
      country: i % 5 === 0 ? 'DE' : '',
    });
  }
  const pipe = redis.pipeline();
  for (const c of clicks) pipe.xadd('clicks', '*', ...clickFields(c));
  // A producer re-send after a lost reply: same click id, a second stream entry → must count once.
  pipe.xadd('clicks', '*', ...clickFields(clicks[1]!));
  pipe.xadd('clicks', '*', ...clickFields(clicks[2]!));
  // Not a click at all, and a click PostgreSQL rejects (NUL in text, SQLSTATE 22021): dead letters.
  pipe.xadd('clicks', '*', 'garbage', '1');
  pipe.xadd('clicks', '*', ...clickFields({ ...clicks[5]!, id: randomUUID(), ua: 'evil\u0000agent' }));
  await pipe.exec();

  const env = e.env({ LOG_LEVEL: process.env.WORKER_DEBUG ? 'info' : 'silent', WORKER_BATCH: '100', WORKER_CLAIM_IDLE_MS: '800', WORKER_MAX_DELIVERIES: '2', WORKER_BLOCK_MS: '200' });
  const count = async () => Number((await e.admin.query<{ n: string }>('SELECT count(*) AS n FROM links.clicks')).rows[0]!.n);

  const w1 = spawnWorker({ ...env, WORKER_NAME: 'w1' });
  const pendingOf = async (name: string) => {
    const r = (await redis.xpending('clicks', 'click-workers')) as [number, string, string, [string, string][] | null];
    return Number(r[3]?.find(([c]) => c === name)?.[1] ?? 0);
  };
  // Kill while w1 holds a batch it has read but not acked: after some batches committed.
  await waitFor(async () => (await count()) > 0 && (await pendingOf('w1')) > 0, 20_000, 'w1 mid-batch');
  w1.kill('SIGKILL');
  await w1.exited;
  const atKill = await count();
  assert.ok(atKill < N, `killed too late (${atKill} of ${N})`);
  assert.ok((await pendingOf('w1')) > 0, 'w1 died holding unacked entries');

  const w2 = spawnWorker({ ...env, WORKER_NAME: 'w2' });
  t.after(() => {
    if (w2.exitCode === null) w2.kill('SIGKILL');
  });
  await waitFor(async () => (await count()) === N, 30_000, `all ${N} clicks`);
  await waitFor(async () => {
    const p = (await redis.xpending('clicks', 'click-workers')) as [number, ...unknown[]];
    return p[0] === 0 && (await redis.xlen('clicks:dead')) === 2;
  }, 10_000, 'nothing pending, two dead letters');

  w2.kill('SIGTERM');
  assert.equal(await w2.exited, 0);

  const humans = clicks.filter((_, i) => i % 10 !== 0);
  const q = async (sql: string, v: unknown[] = []) => (await e.admin.query(sql, v)).rows;
  assert.equal(Number((await q('SELECT count(DISTINCT click_id) AS n FROM links.clicks'))[0].n), N);
  assert.equal(Number((await q('SELECT count(*) AS n FROM links.clicks WHERE is_bot'))[0].n), N / 10);
  for (const link of [a, b]) {
    const expected = humans.filter((c) => c.linkId === link.id);
    const [row] = await q('SELECT click_count, last_clicked_at FROM links.links WHERE id = $1', [link.id]);
    assert.equal(Number(row.click_count), expected.length);
    assert.equal(row.last_clicked_at.getTime(), Math.max(...expected.map((c) => c.ts)));
    const stats = await q(`SELECT dimension, value, clicks::int, visitors::int FROM links.daily_stats WHERE link_id = $1`, [link.id]);
    const total = stats.filter((s) => s.dimension === 'total');
    const days = new Set(expected.map((c) => new Date(c.ts).toISOString().slice(0, 10)));
    assert.equal(total.reduce((s, r) => s + r.clicks, 0), expected.length);
    const visitorsPerDay = [...days].reduce((s, d) => s + new Set(expected.filter((c) => new Date(c.ts).toISOString().slice(0, 10) === d).map((c) => c.visitor)).size, 0);
    assert.equal(total.reduce((s, r) => s + r.visitors, 0), visitorsPerDay);
    for (const dim of ['country', 'device', 'browser', 'os', 'referrer']) {
      const rows = stats.filter((s) => s.dimension === dim);
      assert.equal(rows.reduce((s, r) => s + r.clicks, 0), expected.length, dim);
      assert.equal(rows.reduce((s, r) => s + r.visitors, 0), visitorsPerDay, dim);
    }
    const de = stats.find((s) => s.dimension === 'country' && s.value === 'DE');
    assert.equal(de?.clicks, expected.filter((c) => c.country === 'DE').length);
    const ref = stats.find((s) => s.dimension === 'referrer' && s.value === 'news.example');
    assert.equal(ref?.clicks, expected.filter((c) => c.referrer).length);
    const mobile = stats.find((s) => s.dimension === 'device' && s.value === 'mobile');
    assert.equal(mobile?.clicks, expected.filter((c) => c.ua === PHONE).length);
  }
  // Stream entries == rows == counters == rollups (hourly cube, account marginals), bots apart.
  const [cube] = await q(`SELECT sum(clicks) FILTER (WHERE NOT is_bot) AS humans, sum(clicks) FILTER (WHERE is_bot) AS bots FROM links.hourly_stats`);
  assert.equal(Number(cube.humans), humans.length);
  assert.equal(Number(cube.bots), N / 10);
  const [acct] = await q(`SELECT sum(clicks) AS n FROM links.account_hourly_stats WHERE dimension = 'country' AND owner_id = $1`, [e.ownerId]);
  assert.equal(Number(acct.n), N);
  assert.equal((await q(`SELECT * FROM links.rollup_mismatches(now() - interval '3 days', date_trunc('hour', now()) + interval '1 hour')`)).length, 0);
  const dead = await redis.xrange('clicks:dead', '-', '+');
  const errors = dead.map(([, f]) => f[f.indexOf('error') + 1]);
  assert.ok(errors.includes('not a click entry'));
  assert.ok(errors.some((x) => /^22\d{3} /.test(x ?? '')), errors.join(' | '));
});

/**
 * The analytics SQL (migration 1764900000500_links_analytics) over a real PostgreSQL, fed through
 * the worker's own sink: DST buckets, combined filters, permissions, bots apart, replays, rebuild
 * and reconciliation, account rollups following link deletes and owner changes.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import pg from 'pg';
import { ClickSink } from '../src/worker/click-sink.ts';
import { enrich, type EnrichedClick } from '../src/worker/enrich.ts';
import { BROWSER_UA, setup, type Env } from './helper.ts';

const PHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1';
const BOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
const NY = 'America/New_York';
// 2026-03-08 in New York: EST until 02:00, then EDT — 23 hours, from 05:00Z to 04:00Z next day.
const DST_START = Date.parse('2026-03-08T05:00:00Z');
const DST_END = Date.parse('2026-03-09T04:00:00Z');

interface Row {
  bucket: Date | null;
  value: string | null;
  clicks: string;
  visitors: string;
  bots: string;
}

function click(link: { id: string; code: string }, ts: number, over: Partial<{ ua: string; country: string; ref: string; visitor: string; target: string; rule: string; location: string }> = {}): EnrichedClick {
  return enrich(`${ts}-${randomUUID().slice(0, 8)}`, {
    id: randomUUID(),
    linkId: link.id,
    code: link.code,
    ts,
    visitor: over.visitor ?? randomUUID(),
    ua: over.ua ?? BROWSER_UA,
    referrer: over.ref ?? '',
    country: over.country ?? '',
    target: over.target ?? 'https://example.com/landing',
    rule: over.rule ?? '',
    location: over.location ?? '',
  });
}

async function world(t: Parameters<typeof setup>[0]) {
  const e = await setup(t);
  const worker = new pg.Pool({ connectionString: e.db.roleUrl('redirect_service'), max: 2 });
  // The database is dropped WITH (FORCE) at teardown: idle connections are terminated then.
  worker.on('error', () => {});
  t.after(() => worker.end());
  const sink = new ClickSink(worker);
  const other = (await e.admin.query<{ id: string }>(`INSERT INTO core.users (email, password_hash) VALUES ($1, 'x') RETURNING id`, [`o${randomUUID()}@example.com`])).rows[0]!.id;
  const session = (user: string) => JSON.stringify({ 'x-hasura-role': 'user', 'x-hasura-user-id': user });
  /** Named arguments as Hasura passes them (a named call, so defaults apply). */
  const call = async (fn: 'analytics_series' | 'analytics_breakdown', user: string, args: Record<string, unknown>) => {
    const names = Object.keys(args);
    const sql = `SELECT bucket, value, clicks, visitors, bots FROM links.${fn}(hasura_session => $1::json${names.map((n, i) => `, ${n} => $${i + 2}`).join('')})`;
    return (await e.admin.query<Row>(sql, [session(user), ...Object.values(args)])).rows;
  };
  return { e, sink, other, call };
}

const n = (rows: Row[], k: 'clicks' | 'visitors' | 'bots' = 'clicks') => rows.reduce((s, r) => s + Number(r[k]), 0);

async function mismatches(e: Env, from: number, to: number): Promise<number> {
  const r = await e.admin.query<{ n: string }>(`SELECT count(*) AS n FROM links.rollup_mismatches($1, $2)`, [new Date(from), new Date(to)]);
  return Number(r.rows[0]!.n);
}

void test('analytics: a 23-hour DST day in America/New_York, hour/day/week/month buckets', async (t) => {
  const { e, sink, call } = await world(t);
  const a = await e.newLink();
  // One click at half past every local hour from 2026-03-07 23:30 EST to 2026-03-09 00:30 EDT.
  const clicks: EnrichedClick[] = [];
  for (let ts = DST_START - 30 * 60_000; ts <= DST_END + 30 * 60_000; ts += 3_600_000) clicks.push(click(a, ts, { visitor: 'same' }));
  assert.deepEqual(await sink.write(clicks), { inserted: clicks.length, counted: clicks.length });

  const range = { link_id: a.id, time_zone: NY, from_ts: new Date(DST_START), to_ts: new Date(DST_END) };
  const hours = await call('analytics_series', e.ownerId, { ...range, bucket: 'hour' });
  assert.equal(hours.length, 23, 'the local day has 23 hours');
  assert.equal(n(hours), 23);
  const days = await call('analytics_series', e.ownerId, { ...range, bucket: 'day', from_ts: new Date(DST_START - 86_400_000), to_ts: new Date(DST_END + 86_400_000) });
  const byDay = new Map(days.map((r) => [r.bucket!.toISOString(), Number(r.clicks)]));
  // Buckets are the local midnights as instants: EST (-05) before the change, EDT (-04) after.
  assert.equal(byDay.get('2026-03-08T05:00:00.000Z'), 23);
  assert.equal(byDay.get('2026-03-07T05:00:00.000Z'), 1);
  assert.equal(byDay.get('2026-03-09T04:00:00.000Z'), 1);
  // Visitor hashes rotate daily: one visitor per UTC day the clicks touch (two UTC days here).
  assert.equal(n(days, 'visitors'), 2);
  const utcDays = await call('analytics_series', e.ownerId, { ...range, bucket: 'day', time_zone: 'UTC' });
  assert.deepEqual(utcDays.map((r) => [r.bucket!.toISOString(), Number(r.clicks)]), [
    ['2026-03-08T00:00:00.000Z', 19],
    ['2026-03-09T00:00:00.000Z', 4],
  ]);
  const weeks = await call('analytics_series', e.ownerId, { ...range, bucket: 'week', from_ts: new Date(DST_START - 86_400_000), to_ts: new Date(DST_END + 86_400_000) });
  // ISO weeks start on Monday: Sat 7th and Sun 8th in one, Mon 9th in the next.
  assert.deepEqual(weeks.map((r) => [r.bucket!.toISOString(), Number(r.clicks)]), [
    ['2026-03-02T05:00:00.000Z', 24],
    ['2026-03-09T04:00:00.000Z', 1],
  ]);
  const months = await call('analytics_series', e.ownerId, { ...range, bucket: 'month', from_ts: new Date(DST_START - 86_400_000), to_ts: new Date(DST_END + 86_400_000) });
  assert.deepEqual(months.map((r) => [r.bucket!.toISOString(), Number(r.clicks)]), [['2026-03-01T05:00:00.000Z', 25]]);
});

void test('analytics: combined filters, top-N breakdown, bots apart, UTM and variants, replay counted once', async (t) => {
  const { e, sink, call } = await world(t);
  const a = await e.newLink();
  const b = await e.newLink();
  const base = Date.parse('2026-03-02T10:00:00Z');
  const clicks: EnrichedClick[] = [];
  for (let i = 0; i < 600; i++) {
    const link = i % 3 === 0 ? b : a;
    clicks.push(
      click(link, base + i * 60_000, {
        ua: i % 10 === 0 ? BOT : i % 2 ? PHONE : BROWSER_UA,
        country: ['DE', 'FR', 'US', ''][Math.floor(i / 3) % 4]!,
        ref: i % 5 === 0 ? 'https://www.news.example/a' : '',
        visitor: `v${i % 50}`,
        target: i % 7 === 0 ? 'https://example.com/b' : 'https://example.com/a',
        rule: i % 7 === 0 || i % 7 === 1 ? 'ab' : '',
        location: i % 6 === 0 ? 'https://example.com/a?utm_source=news&utm_medium=email&utm_campaign=spring' : '',
      }),
    );
  }
  const r1 = await sink.write(clicks);
  // The same batch again (a replay after a crash before XACK): nothing new.
  const r2 = await sink.write(clicks);
  assert.deepEqual(r2, { inserted: 0, counted: 0 });
  const humans = clicks.filter((c) => !c.isBot);
  assert.equal(r1.counted, humans.length);
  const range = { from_ts: new Date(base - 3_600_000), to_ts: new Date(base + 86_400_000) };

  const expect = (pred: (c: EnrichedClick) => boolean) => humans.filter(pred).length;
  const deMobileA = await call('analytics_series', e.ownerId, { ...range, link_id: a.id, bucket: 'hour', country: 'DE', device: 'mobile' });
  assert.equal(n(deMobileA), expect((c) => c.linkId === a.id && c.country === 'DE' && c.device === 'mobile'));
  assert.ok(n(deMobileA) > 0);
  const account = await call('analytics_series', e.ownerId, { ...range, bucket: 'day', referrer_host: 'news.example', browser: 'Chrome', country: 'FR' });
  assert.equal(n(account), expect((c) => c.referrerHost === 'news.example' && c.browser === 'Chrome' && c.country === 'FR'));
  const utm = await call('analytics_series', e.ownerId, { ...range, bucket: 'day', utm_source: 'news', utm_medium: 'email', utm_campaign: 'spring' });
  assert.equal(n(utm), expect((c) => c.utmSource === 'news'));
  assert.ok(n(utm) > 0);
  const direct = await call('analytics_series', e.ownerId, { ...range, bucket: 'day', referrer_host: '', country: '' });
  assert.equal(n(direct), expect((c) => c.referrerHost === '' && c.country === ''));

  // Breakdowns: account-wide without filters (marginals) and with filters (cube) agree with the data.
  const countries = await call('analytics_breakdown', e.ownerId, { ...range, dimension: 'country', top_n: 2 });
  const counts = new Map<string, number>();
  for (const c of humans) counts.set(c.country, (counts.get(c.country) ?? 0) + 1);
  const top = [...counts].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1)).slice(0, 2);
  assert.deepEqual(countries.map((r) => [r.value, Number(r.clicks)]), top);
  const variants = await call('analytics_breakdown', e.ownerId, { ...range, dimension: 'variant', top_n: 10, link_id: a.id, device: 'desktop' });
  const vExpect = new Map<string, number>();
  for (const c of humans) if (c.linkId === a.id && c.device === 'desktop') vExpect.set(c.variant, (vExpect.get(c.variant) ?? 0) + 1);
  assert.deepEqual(new Map(variants.map((r) => [r.value!, Number(r.clicks)])), vExpect);
  assert.ok(vExpect.has('https://example.com/b') && vExpect.has('https://example.com/a') && vExpect.has(''));

  // Bots: never in clicks/visitors, counted apart on request only.
  const withBots = await call('analytics_series', e.ownerId, { ...range, bucket: 'day', include_bots: true });
  assert.equal(n(withBots), humans.length);
  assert.equal(n(withBots, 'bots'), clicks.length - humans.length);
  assert.equal(n(await call('analytics_series', e.ownerId, { ...range, bucket: 'day' }), 'bots'), 0);
  const withBotsLink = await call('analytics_series', e.ownerId, { ...range, link_id: b.id, bucket: 'day', include_bots: true });
  assert.equal(n(withBotsLink, 'bots'), clicks.filter((c) => c.isBot && c.linkId === b.id).length);

  // Visitors: one per (link, UTC day, visitor hash) among humans; the same with the series.
  const vis = new Set(humans.map((c) => `${c.linkId}|${new Date(c.ts).toISOString().slice(0, 10)}|${c.visitor}`));
  assert.equal(n(await call('analytics_series', e.ownerId, { ...range, bucket: 'day' }), 'visitors'), vis.size);
  assert.equal(n(await call('analytics_series', e.ownerId, { ...range, bucket: 'day', os: 'iOS' }), 'visitors') <= vis.size, true);

  // Counters == raw == rollups.
  const cc = await e.admin.query<{ n: string }>(`SELECT sum(click_count) AS n FROM links.links WHERE owner_id = $1`, [e.ownerId]);
  assert.equal(Number(cc.rows[0]!.n), humans.length);
  const ds = await e.admin.query<{ n: string }>(`SELECT sum(clicks) AS n FROM links.daily_stats WHERE dimension = 'total'`);
  assert.equal(Number(ds.rows[0]!.n), humans.length);
  assert.equal(await mismatches(e, base - 86_400_000 - (base % 86_400_000), base + 2 * 86_400_000 - (base % 86_400_000)), 0);
});

void test("analytics: permissions — another user's link, tag or account never contributes", async (t) => {
  const { e, sink, other, call } = await world(t);
  const mine = await e.newLink();
  const theirs = (await e.admin.query<{ id: string; code: string }>(`INSERT INTO links.links (owner_id, code, destination) VALUES ($1, $2, 'https://example.org/') RETURNING id, code`, [other, `t${Date.now().toString(36)}`])).rows[0]!;
  const myTag = (await e.admin.query<{ id: string }>(`INSERT INTO links.tags (owner_id, name) VALUES ($1, 'mine') RETURNING id`, [e.ownerId])).rows[0]!.id;
  const theirTag = (await e.admin.query<{ id: string }>(`INSERT INTO links.tags (owner_id, name) VALUES ($1, 'theirs') RETURNING id`, [other])).rows[0]!.id;
  await e.admin.query(`INSERT INTO links.link_tags (link_id, tag_id) VALUES ($1, $2), ($3, $4)`, [mine.id, myTag, theirs.id, theirTag]);
  // Their link tagged with my tag too (not possible through the API's permissions, but in the DB).
  await e.admin.query(`INSERT INTO links.link_tags (link_id, tag_id) VALUES ($1, $2)`, [theirs.id, myTag]);
  const ts = Date.parse('2026-03-03T12:00:00Z');
  await sink.write([...Array.from({ length: 5 }, (_, i) => click(mine, ts + i, { country: 'DE' })), ...Array.from({ length: 7 }, (_, i) => click(theirs, ts + i, { country: 'FR' }))]);
  const range = { from_ts: new Date(ts - 86_400_000), to_ts: new Date(ts + 86_400_000) };

  assert.equal(n(await call('analytics_series', e.ownerId, range)), 5);
  assert.equal(n(await call('analytics_series', other, range)), 7);
  assert.deepEqual(await call('analytics_series', e.ownerId, { ...range, link_id: theirs.id }), []);
  assert.deepEqual(await call('analytics_series', e.ownerId, { ...range, tag_id: theirTag }), []);
  assert.equal(n(await call('analytics_series', e.ownerId, { ...range, tag_id: myTag })), 5);
  assert.equal(n(await call('analytics_series', e.ownerId, { ...range, country: 'FR' })), 0);
  const br = await call('analytics_breakdown', e.ownerId, { ...range, dimension: 'country' });
  assert.deepEqual(br.map((r) => [r.value, Number(r.clicks)]), [['DE', 5]]);

  // Errors are client errors with a message, never a crash.
  const fails = async (args: Record<string, unknown>, code: string, re: RegExp, fn: 'analytics_series' | 'analytics_breakdown' = 'analytics_series') =>
    assert.rejects(call(fn, e.ownerId, args), (err: { code?: string; message: string }) => err.code === code && re.test(err.message));
  await fails({ bucket: 'minute' }, '22023', /bucket must be/);
  await fails({ time_zone: 'Mars/Olympus' }, '22023', /unknown time zone/);
  await fails({ from_ts: new Date(ts), to_ts: new Date(ts - 1) }, '22023', /before/);
  await fails({ dimension: 'password' }, '22023', /dimension must be/, 'analytics_breakdown');
  await fails({ dimension: 'country', top_n: 0 }, '22023', /top_n/, 'analytics_breakdown');
  await assert.rejects(e.admin.query(`SELECT * FROM links.analytics_series('{}'::json)`), (err: { code?: string }) => err.code === '42501');

  // The account rollup follows the link: given to the other user, then deleted.
  await e.admin.query(`UPDATE links.links SET owner_id = $1 WHERE id = $2`, [other, mine.id]);
  assert.equal(n(await call('analytics_series', e.ownerId, range)), 0);
  assert.equal(n(await call('analytics_series', other, range)), 12);
  await e.admin.query(`DELETE FROM links.links WHERE id = $1`, [theirs.id]);
  assert.equal(n(await call('analytics_series', other, range)), 5);
  assert.deepEqual((await call('analytics_breakdown', other, { ...range, dimension: 'country' })).map((r) => [r.value, Number(r.clicks)]), [['DE', 5]]);
  assert.equal(await mismatches(e, ts - 86_400_000 * 2 - (ts % 86_400_000), ts + 86_400_000 * 2 - (ts % 86_400_000)), 0);
});

void test('analytics: rollups == raw after a rebuild; a corrupted rollup is reported, then repaired', async (t) => {
  const { e, sink, call } = await world(t);
  const a = await e.newLink();
  const b = await e.newLink();
  const day0 = Date.parse('2026-03-04T00:00:00Z');
  const clicks: EnrichedClick[] = [];
  for (let i = 0; i < 400; i++) clicks.push(click(i % 2 ? a : b, day0 + i * 397_000, { ua: i % 9 === 0 ? BOT : i % 3 ? PHONE : BROWSER_UA, country: i % 3 ? 'DE' : 'US', visitor: `v${i % 30}` }));
  // In several batches, as the worker writes them.
  for (let i = 0; i < clicks.length; i += 64) await sink.write(clicks.slice(i, i + 64));
  const from = day0;
  const to = day0 + 3 * 86_400_000;
  assert.equal(await mismatches(e, from, to), 0);

  const snapshot = async () => ({
    hourly: (await e.admin.query(`SELECT link_id, hour, dims_key, clicks, visitors FROM links.hourly_stats ORDER BY 1, 2, 3`)).rows,
    account: (await e.admin.query(`SELECT owner_id, dimension, hour, value, is_bot, clicks, visitors FROM links.account_hourly_stats WHERE clicks <> 0 ORDER BY 1, 2, 3, 4, 5`)).rows,
    accountDays: (await e.admin.query(`SELECT owner_id, dimension, day, value, is_bot, clicks, visitors FROM links.account_daily_stats WHERE clicks <> 0 ORDER BY 1, 2, 3, 4, 5`)).rows,
    daily: (await e.admin.query(`SELECT link_id, day, dimension, value, clicks, visitors FROM links.daily_stats ORDER BY 1, 2, 3, 4`)).rows,
    totals: (await e.admin.query(`SELECT link_id, hour, clicks, visitors, bots FROM links.link_hourly_totals WHERE clicks + bots <> 0 ORDER BY 1, 2`)).rows,
    series: await call('analytics_series', e.ownerId, { bucket: 'hour', from_ts: new Date(from), to_ts: new Date(to), include_bots: true }),
  });
  const before = await snapshot();
  assert.ok(before.hourly.length > 0 && before.account.length > 0 && before.daily.length > 0);

  await e.admin.query(`UPDATE links.hourly_stats SET clicks = clicks + 1 WHERE link_id = $1 AND hour = (SELECT min(hour) FROM links.hourly_stats WHERE link_id = $1)`, [a.id]);
  await e.admin.query(`DELETE FROM links.daily_stats WHERE link_id = $1 AND dimension = 'total'`, [b.id]);
  await e.admin.query(`UPDATE links.account_hourly_stats SET clicks = clicks + 5 WHERE dimension = 'total'`);
  const bad = await e.admin.query<{ rollup: string }>(`SELECT DISTINCT rollup FROM links.rollup_mismatches($1, $2) ORDER BY 1`, [new Date(from), new Date(to)]);
  // account_daily_stats is compared with account_hourly_stats, so the edited hours show there too;
  // link_hourly_totals follows hourly_stats (its triggers), so the edited cube row shows there too.
  assert.deepEqual(bad.rows.map((r) => r.rollup), ['account_daily_stats', 'account_hourly_stats', 'daily_stats', 'hourly_stats', 'link_hourly_totals']);

  const rebuilt = await e.admin.query<{ n: string }>(`SELECT links.rebuild_rollups($1, $2) AS n`, [new Date(from + 1), new Date(to - 1)]);
  assert.equal(Number(rebuilt.rows[0]!.n), before.hourly.length);
  assert.equal(await mismatches(e, from, to), 0);
  assert.deepEqual(await snapshot(), before, 'a rebuild reproduces exactly what the worker wrote');
  await assert.rejects(e.admin.query(`SELECT links.rebuild_rollups($1, $1)`, [new Date(from)]), (err: { code?: string }) => err.code === '22023');
});

void test('analytics: a breakdown over partial UTC days reads whole days from the daily marginals and the edges from the hours', async (t) => {
  const { e, sink, call } = await world(t);
  const a = await e.newLink();
  const d0 = Date.parse('2026-03-10T00:00:00Z');
  const clicks: EnrichedClick[] = [];
  // Three UTC days, one click every 20 minutes, countries rotating.
  for (let ts = d0; ts < d0 + 3 * 86_400_000; ts += 1_200_000) clicks.push(click(a, ts, { country: ['DE', 'FR', 'US'][(ts / 1_200_000) % 3]! }));
  await sink.write(clicks);
  // From 13:00 on the first day to 07:00 on the third: one whole UTC day plus two partial ones.
  for (const [from, to] of [
    [d0 + 13 * 3_600_000, d0 + 2 * 86_400_000 + 7 * 3_600_000],
    [d0 + 3_600_000, d0 + 5 * 3_600_000],
    [d0, d0 + 3 * 86_400_000],
  ] as const) {
    const inRange = clicks.filter((c) => c.ts >= from && c.ts < to);
    const expect = new Map<string, number>();
    for (const c of inRange) expect.set(c.country, (expect.get(c.country) ?? 0) + 1);
    const got = await call('analytics_breakdown', e.ownerId, { dimension: 'country', from_ts: new Date(from), to_ts: new Date(to) });
    assert.deepEqual(new Map(got.map((r) => [r.value!, Number(r.clicks)])), expect, `${new Date(from).toISOString()} → ${new Date(to).toISOString()}`);
  }
});

void test('analytics: the unfiltered link and tag series read the per-hour totals, which follow the cube through inserts, replays, rebuilds and deletes', async (t) => {
  const { e, sink, other, call } = await world(t);
  const a = await e.newLink();
  const b = await e.newLink();
  const tag = (await e.admin.query<{ id: string }>(`INSERT INTO links.tags (owner_id, name) VALUES ($1, 'both') RETURNING id`, [e.ownerId])).rows[0]!.id;
  await e.admin.query(`INSERT INTO links.link_tags (link_id, tag_id) VALUES ($1, $3), ($2, $3)`, [a.id, b.id, tag]);
  const d0 = Date.parse('2026-04-01T00:00:00Z');
  const clicks: EnrichedClick[] = [];
  // Two days; bots, repeat visitors, countries and referrers vary, so one hour spans several cube rows.
  for (let i = 0; i < 600; i++) {
    clicks.push(click(i % 3 ? a : b, d0 + i * 290_000, { ua: i % 7 === 0 ? BOT : i % 2 ? PHONE : BROWSER_UA, country: ['DE', 'US', 'FR', ''][i % 4]!, ref: i % 5 ? '' : 'https://t.co/x', visitor: `v${i % 40}` }));
  }
  // In batches (the first inserts cube rows, later ones update them), one batch written twice (a replay).
  for (let i = 0; i < clicks.length; i += 50) await sink.write(clicks.slice(i, i + 50));
  await sink.write(clicks.slice(100, 150));
  const range = { from_ts: new Date(d0), to_ts: new Date(d0 + 2 * 86_400_000) };

  // The same series computed from the cube by hand (what the function returned before the totals).
  const fromCube = async (ids: string[], bucket: string, zone: string, bots: boolean) =>
    (
      await e.admin.query<Row>(
        `SELECT date_trunc($2, hour, $3) AS bucket, NULL AS value, sum(clicks) FILTER (WHERE NOT is_bot) AS clicks,
                sum(visitors) FILTER (WHERE NOT is_bot) AS visitors, coalesce(sum(clicks) FILTER (WHERE is_bot), 0) AS bots
           FROM links.hourly_stats WHERE link_id = ANY ($1) AND hour >= $4 AND hour < $5 AND ($6 OR NOT is_bot)
          GROUP BY 1 HAVING count(*) FILTER (WHERE NOT is_bot) > 0 OR $6 ORDER BY 1`,
        [ids, bucket, zone, range.from_ts, range.to_ts, bots],
      )
    ).rows.map((r) => ({ ...r, clicks: String(r.clicks ?? 0), visitors: String(r.visitors ?? 0), bots: String(r.bots) }));
  const rawHumans = clicks.filter((c) => !c.isBot && c.linkId === a.id && c.ts < range.to_ts.getTime()).length;
  const check = async (label: string) => {
    for (const [bucket, zone, bots] of [['hour', 'UTC', false], ['hour', NY, true], ['day', NY, false], ['week', 'Europe/Berlin', true]] as const) {
      assert.deepEqual(await call('analytics_series', e.ownerId, { ...range, link_id: a.id, bucket, time_zone: zone, include_bots: bots }), await fromCube([a.id], bucket, zone, bots), `${label}: link, ${bucket} ${zone} bots ${bots}`);
      assert.deepEqual(await call('analytics_series', e.ownerId, { ...range, tag_id: tag, bucket, time_zone: zone, include_bots: bots }), await fromCube([a.id, b.id], bucket, zone, bots), `${label}: tag, ${bucket} ${zone} bots ${bots}`);
    }
    assert.equal(await mismatches(e, d0, d0 + 2 * 86_400_000), 0, label);
  };
  await check('after the worker');
  assert.equal(n(await call('analytics_series', e.ownerId, { ...range, link_id: a.id, bucket: 'day' })), rawHumans, 'the replayed batch counts once');
  assert.deepEqual(await call('analytics_series', other, { ...range, link_id: a.id, bucket: 'hour' }), [], "another user's link reads as empty");

  // A rebuild deletes and re-inserts the cube rows: the totals end where they were.
  const totals = async () => (await e.admin.query(`SELECT link_id, hour, clicks, visitors, bots FROM links.link_hourly_totals WHERE clicks + bots <> 0 ORDER BY 1, 2`)).rows;
  const before = await totals();
  assert.ok(before.length > 40);
  await e.admin.query(`SELECT links.rebuild_rollups($1, $2)`, [range.from_ts, range.to_ts]);
  assert.deepEqual(await totals(), before, 'a rebuild reproduces the totals');
  await check('after a rebuild');

  // A deleted link takes its totals along (cascade), the tag's series is then b's alone.
  await e.admin.query(`DELETE FROM links.links WHERE id = $1`, [a.id]);
  assert.equal(Number((await e.admin.query<{ n: string }>(`SELECT count(*) AS n FROM links.link_hourly_totals WHERE link_id = $1`, [a.id])).rows[0]!.n), 0);
  assert.deepEqual(await call('analytics_series', e.ownerId, { ...range, tag_id: tag, bucket: 'hour', include_bots: true }), await fromCube([b.id], 'hour', 'UTC', true));
  assert.equal(await mismatches(e, d0, d0 + 2 * 86_400_000), 0, 'after a delete');
});

void test('analytics end to end: redirects through the real server and worker carry the rule-chosen destination, the A/B variant and UTM', async (t) => {
  const e = await setup(t);
  const { startApp, spawnWorker, get, waitFor } = await import('./helper.ts');
  const ab = await e.newLink({ ab_variants: [{ url: 'https://example.com/a', weight: 50 }, { url: 'https://example.com/b', weight: 50 }] });
  const utm = await e.newLink({ destination: 'https://example.com/landing?x=1', utm_source: 'newsletter', utm_medium: 'email', utm_campaign: 'spring' });
  const geo = await e.newLink({ geo_targets: { DE: 'https://example.de/' } });
  const app = await startApp(t, e);
  const w = spawnWorker(e.env({ WORKER_BLOCK_MS: '100' }));
  t.after(async () => {
    w.kill('SIGTERM');
    await w.exited;
  });
  const locations: string[] = [];
  for (let i = 0; i < 12; i++) {
    // A new visitor each time (no cookie), so A/B picks spread over both variants.
    const r = await get(`${app.url}/${ab.code}`);
    locations.push(r.headers.get('location')!);
  }
  const u = await get(`${app.url}/${utm.code}?utm_campaign=summer`);
  assert.equal(u.status, 302);
  await get(`${app.url}/${geo.code}`, { headers: { 'cf-ipcountry': 'DE' } });
  await get(`${app.url}/${geo.code}`);
  await waitFor(async () => Number((await e.admin.query<{ n: string }>('SELECT count(*) AS n FROM links.clicks')).rows[0]!.n) === 15, 20_000, 'clicks ingested');

  const rows = (await e.admin.query<{ link_id: string; variant: string | null; destination: string; utm_source: string | null; utm_campaign: string | null; country: string | null }>(
    'SELECT link_id, variant, destination, utm_source, utm_campaign, country FROM links.clicks',
  )).rows;
  const abRows = rows.filter((r) => r.link_id === ab.id);
  assert.deepEqual(abRows.map((r) => r.variant).sort(), [...locations].sort(), 'each click records the variant the visitor was sent to');
  assert.ok(abRows.every((r) => r.destination === r.variant));
  const utmRow = rows.find((r) => r.link_id === utm.id)!;
  // The visitor's own utm_campaign wins over the link's (decide.ts buildLocation); the source stays the link's.
  assert.deepEqual([utmRow.utm_source, utmRow.utm_campaign, utmRow.variant, utmRow.destination], ['newsletter', 'summer', null, 'https://example.com/landing?x=1']);
  assert.deepEqual(rows.filter((r) => r.link_id === geo.id).map((r) => `${r.country ?? '-'} ${r.destination}`).sort(), ['- https://example.com/landing', 'DE https://example.de/']);
  const variants = await e.admin.query<{ value: string; clicks: string }>(
    `SELECT value, clicks FROM links.analytics_breakdown(hasura_session => $1, dimension => 'variant', link_id => $2, from_ts => now() - interval '1 hour', to_ts => now() + interval '1 hour')`,
    [JSON.stringify({ 'x-hasura-user-id': e.ownerId }), ab.id],
  );
  assert.equal(variants.rows.reduce((s, r) => s + Number(r.clicks), 0), 12);
});

/**
 * The ClickHouse sink (worker/sinks/clickhouse.ts) on Debian's clickhouse-server 18.16, started as
 * an embedded server on free ports: batches replayed and clicks re-sent under a new stream entry do
 * not double-count, clicks of deleted links are dropped as PostgreSQL drops them, and the series
 * and breakdown served from ClickHouse agree with links.analytics_series / analytics_breakdown on
 * the same clicks.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import pg from 'pg';
import { findClickHouseServer, startClickHouseServer } from '@linkport/devstack';
import { ClickSink } from '../src/worker/click-sink.ts';
import { enrich, type EnrichedClick } from '../src/worker/enrich.ts';
import { AnalyticsInputError, ClickHouseAnalytics, ClickHouseSink, createClickHouse, ensureClickHouseSchema } from '../src/worker/sinks/clickhouse.ts';
import { BROWSER_UA, setup } from './helper.ts';

const BOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
// npm test sets LINKPORT_REQUIRE_CLICKHOUSE=1 once clickhouse-server is installed: then its absence fails.
const skip = findClickHouseServer() || process.env.LINKPORT_REQUIRE_CLICKHOUSE === '1' ? false : 'clickhouse-server is not installed (as root: apt-get install clickhouse-server)';

void test('ClickHouse sink: idempotent batches, deleted links dropped, series and breakdown equal to PostgreSQL', { skip }, async (t) => {
  const e = await setup(t);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lp-ch-'));
  const server = await startClickHouseServer({ dir });
  t.after(async () => {
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const ch = createClickHouse({ url: server.url, database: 'lp' });
  t.after(() => ch.close());
  await ensureClickHouseSchema(ch, 'lp');
  await ensureClickHouseSchema(ch, 'lp'); // idempotent: every worker runs it at start
  const pool = new pg.Pool({ connectionString: e.db.roleUrl('redirect_service'), max: 2 });
  pool.on('error', () => {});
  t.after(() => pool.end());
  const sink = new ClickHouseSink(ch, pool, 'lp');
  const pgSink = new ClickSink(pool);
  const analytics = new ClickHouseAnalytics(ch, 'lp');

  const a = await e.newLink();
  const b = await e.newLink();
  const gone = await e.newLink();
  const base = Date.parse('2026-03-08T05:00:00Z');
  let entry = 0;
  const mk = (link: { id: string; code: string }, i: number, over: { ua?: string; country?: string } = {}): EnrichedClick =>
    enrich(`{clicks:${entry % 3}}/${base + entry++}-0`, {
      id: randomUUID(),
      linkId: link.id,
      code: link.code,
      ts: base + i * 7 * 60_000,
      visitor: `v${i % 40}`,
      ua: over.ua ?? BROWSER_UA,
      referrer: i % 2 ? 'https://news.example.org/x' : '',
      country: over.country ?? ['DE', 'FR', 'US'][i % 3]!,
    });
  const clicks = [
    ...Array.from({ length: 300 }, (_, i) => mk(a, i)),
    ...Array.from({ length: 120 }, (_, i) => mk(b, i, { country: 'JP' })),
    ...Array.from({ length: 15 }, (_, i) => mk(a, 1000 + i, { ua: BOT })),
  ];
  await e.admin.query('DELETE FROM links.links WHERE id = $1', [gone.id]);
  const orphan = mk(gone, 5);

  assert.deepEqual(await sink.write([...clicks, orphan]), { inserted: 435, counted: 420 });
  await pgSink.write([...clicks, orphan]);
  // a replayed batch (worker died before XACK) and re-sent XADDs (same click id, new entry id)
  await sink.write(clicks.slice(0, 200));
  await sink.write(clicks.slice(100, 150).map((c) => ({ ...c, streamId: `{clicks:9}/${c.streamId}` })));
  assert.equal(await analytics.totalClicks(), 435, 'each click once, the deleted link dropped');
  const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM links.clicks');
  assert.equal(Number(rows[0]!.n), 435, 'PostgreSQL holds the same clicks');

  // the link series, hour and day buckets in New York, equal PostgreSQL's clicks and bots per bucket
  const session = JSON.stringify({ 'x-hasura-role': 'user', 'x-hasura-user-id': e.ownerId });
  const from = base - 86_400_000;
  const to = base + 3 * 86_400_000;
  for (const bucket of ['hour', 'day'] as const) {
    const fromCh = await analytics.linkSeries({ ownerId: e.ownerId, linkId: a.id, bucket, timeZone: 'America/New_York', fromMs: from, toMs: to });
    const { rows: fromPg } = await e.admin.query<{ bucket: Date; clicks: string; bots: string }>(
      `SELECT bucket, clicks, bots FROM links.analytics_series(hasura_session => $1::json, link_id => $2, bucket => $3, time_zone => 'America/New_York', from_ts => $4, to_ts => $5, include_bots => true)`,
      [session, a.id, bucket, new Date(from), new Date(to)],
    );
    assert.deepEqual(
      fromCh.map((r) => [r.bucket, r.clicks, r.bots]),
      fromPg.map((r) => [r.bucket.getTime(), Number(r.clicks), Number(r.bots)]),
      `${bucket} series`,
    );
  }
  // the account's country breakdown (humans)
  const countries = await analytics.accountBreakdown({ ownerId: e.ownerId, dimension: 'country', topN: 10, fromMs: from, toMs: to });
  const { rows: pgCountries } = await e.admin.query<{ value: string; clicks: string }>(
    `SELECT value, clicks FROM links.analytics_breakdown(hasura_session => $1::json, dimension => 'country', from_ts => $2, to_ts => $3) ORDER BY clicks DESC, value`,
    [session, new Date(from), new Date(to)],
  );
  assert.deepEqual(
    countries.map((r) => [r.value, r.clicks]),
    pgCountries.map((r) => [r.value, Number(r.clicks)]),
  );
  assert.deepEqual(countries[0], { value: 'JP', clicks: 120, visitors: 40 });

  // inputs that could reach the SQL are refused before it
  await assert.rejects(analytics.linkSeries({ ownerId: e.ownerId, linkId: "x' OR 1=1 --", bucket: 'day', timeZone: 'UTC', fromMs: from, toMs: to }), AnalyticsInputError);
  await assert.rejects(analytics.linkSeries({ ownerId: e.ownerId, linkId: a.id, bucket: 'day', timeZone: "UTC') --", fromMs: from, toMs: to }), AnalyticsInputError);
  await assert.rejects(analytics.accountBreakdown({ ownerId: e.ownerId, dimension: 'owner_id) --' as 'country', topN: 5, fromMs: from, toMs: to }), AnalyticsInputError);
});

/**
 * The fast sink (WORKER_SINK=batch: aggregates computed in memory, links.ingest_click_batch,
 * migration 1764900001700_links_ingest_fast) writes exactly what the one-statement sink
 * (links.ingest_clicks, aggregated in SQL) writes: every rollup row, counter and first visit, on the
 * same clicks in the same batches. Replays, re-sent clicks and clicks of deleted links go through
 * the exact fallback. Real PostgreSQL.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import pg from 'pg';
import { ClickSink, type SinkMode } from '../src/worker/click-sink.ts';
import { enrich, type EnrichedClick } from '../src/worker/enrich.ts';
import { aggregate } from '../src/worker/aggregate.ts';
import { makeClick } from '../bench/drain.ts';
import { setup, type Env } from './helper.ts';

const HOUR = 3_600_000;

/** Every table a batch writes, in a stable order, as plain values. */
async function snapshot(e: Env): Promise<Record<string, unknown[]>> {
  const q = async (sql: string) => (await e.admin.query(sql)).rows.map((r: Record<string, unknown>) => JSON.stringify(r));
  return {
    clicks: await q(`SELECT stream_id, click_id, clicked_at, link_id, visitor_hash, country, device, browser, os, referrer_host, is_bot, utm_source, utm_campaign, variant, destination FROM links.clicks ORDER BY stream_id`),
    links: await q(`SELECT id, click_count, last_clicked_at FROM links.links ORDER BY id`),
    visitors: await q(`SELECT link_id, day, visitor_hash FROM links.daily_visitors ORDER BY 1, 2, 3`),
    hourly: await q(`SELECT link_id, hour, dims_key, is_bot, country, device, browser, os, referrer_host, utm_source, utm_medium, utm_campaign, variant, destination, clicks, visitors FROM links.hourly_stats ORDER BY 1, 2, 3`),
    account: await q(`SELECT * FROM links.account_hourly_stats ORDER BY owner_id, dimension, hour, value, is_bot`),
    accountDays: await q(`SELECT * FROM links.account_daily_stats ORDER BY owner_id, dimension, day, value, is_bot`),
    daily: await q(`SELECT * FROM links.daily_stats ORDER BY link_id, day, dimension, value`),
  };
}

async function reset(e: Env): Promise<void> {
  const totals = (await e.admin.query(`SELECT to_regclass('links.link_hourly_totals') IS NOT NULL AS t`)).rows[0].t as boolean;
  await e.admin.query(`TRUNCATE links.clicks, links.daily_stats, links.daily_visitors, links.hourly_stats, links.account_hourly_stats, links.account_daily_stats${totals ? ', links.link_hourly_totals' : ''}`);
  await e.admin.query(`UPDATE links.links SET click_count = 0, last_clicked_at = NULL`);
}

async function world(t: Parameters<typeof setup>[0]) {
  const e = await setup(t);
  const pool = new pg.Pool({ connectionString: e.db.roleUrl('redirect_service'), max: 2 });
  pool.on('error', () => {});
  t.after(() => pool.end());
  const links: { id: string; code: string }[] = [];
  for (let i = 0; i < 30; i++) links.push(await e.newLink());
  return { e, pool, links };
}

/** Generated clicks over two UTC days and several hours, with bots, repeat visitors and no-visitor clicks. */
function clicks(links: { id: string; code: string }[], n: number, seed: string): EnrichedClick[] {
  const base = Date.parse('2026-03-08T22:30:00Z');
  return Array.from({ length: n }, (_, j) => {
    const c = makeClick(links, j, base);
    c.ts = base + (j % 7) * HOUR - (j % 3) * 1000; // across midnight UTC, several hours
    c.visitor = j % 11 === 0 ? '' : `v${j % 23}`; // repeat visitors; some without a hash
    if (j % 13 === 0) c.linkId = c.linkId.toUpperCase(); // one link, two spellings
    return enrich(`${base}-${seed}-${j}`, c);
  });
}

void test('worker sink: batch (in-memory aggregates) and statement (SQL aggregates) write identical rows, counters and rollups', async (t) => {
  const { e, pool, links } = await world(t);
  const all = clicks(links, 3000, 'a');
  const results: Record<string, unknown>[] = [];
  for (const mode of ['statement', 'batch'] as SinkMode[]) {
    await reset(e);
    // Infinity: the fast path for every batch, whatever its cube's size.
    const sink = new ClickSink(pool as never, mode, Infinity);
    let inserted = 0;
    let counted = 0;
    // Batch sizes that split visitors, hours and links differently.
    for (const [i, size] of [[0, 1], [1, 499], [500, 1000], [1500, 1500]] as const) {
      const r = await sink.write(all.slice(i, i + size));
      inserted += r.inserted;
      counted += r.counted;
    }
    assert.equal(inserted, 3000, mode);
    assert.equal(sink.replays + sink.wide, 0, `${mode}: nothing was a replay or went the other way`);
    results.push({ inserted, counted, ...(await snapshot(e)) });
  }
  const [statement, batch] = results;
  assert.ok((statement!.hourly as unknown[]).length > 100 && (statement!.visitors as unknown[]).length > 50, 'the data exercises the rollups');
  assert.deepEqual(batch, statement);
  const { rows } = await e.admin.query(`SELECT count(*)::int AS n FROM links.rollup_mismatches('2026-03-01', '2026-03-11')`);
  assert.equal(rows[0].n, 0);
});

void test('worker sink: a batch not wholly new (replay, re-sent click id, deleted link) is refused by the fast path and counted exactly by the fallback', async (t) => {
  const { e, pool, links } = await world(t);
  const all = clicks(links, 1200, 'b');
  const fast = new ClickSink(pool as never, 'batch', Infinity);
  const sent: EnrichedClick[][] = [];
  const write = (batch: EnrichedClick[]) => {
    sent.push(batch);
    return fast.write(batch);
  };
  assert.deepEqual(await write(all.slice(0, 600)), { inserted: 600, counted: all.slice(0, 600).filter((c) => !c.isBot).length });
  // A redelivered batch overlapping the new entries: only the new half counts.
  const r = await write(all.slice(300, 900));
  assert.deepEqual(r, { inserted: 300, counted: all.slice(600, 900).filter((c) => !c.isBot).length });
  assert.equal(fast.replays, 1);
  // The same click re-sent under a new stream id (a lost XADD reply) is one click.
  const resent = { ...all[900]!, streamId: `${all[900]!.streamId}-again` };
  assert.equal((await write([all[900]!, resent])).inserted, 1);
  // A click of a link deleted meanwhile is dropped, the rest of its batch counted.
  const gone = await e.newLink();
  const orphan = { ...all[901]!, linkId: gone.id, code: gone.code, id: randomUUID(), streamId: `${all[901]!.streamId}-gone` };
  await e.admin.query(`DELETE FROM links.links WHERE id = $1`, [gone.id]);
  assert.equal((await write([orphan, ...all.slice(901)])).inserted, 299);
  assert.equal(fast.replays, 3);

  const fresh = await snapshot(e);
  assert.equal(fresh.clicks!.length, 1200, 'each click once');
  const { rows } = await e.admin.query(`SELECT (SELECT sum(click_count) FROM links.links)::int + (SELECT count(*) FROM links.clicks WHERE is_bot)::int AS n,
                                               (SELECT count(*)::int FROM links.rollup_mismatches('2026-03-01', '2026-03-11')) AS mism`);
  assert.deepEqual(rows[0], { n: 1200, mism: 0 });
  // The same deliveries through the exact path (which aggregates only the rows it inserts) give the
  // same state. (Not the same as one batch of everything: a visitor's first visit of the day is
  // credited to the hour of the click that arrived first, by both paths.)
  await reset(e);
  const exact = new ClickSink(pool as never, 'statement');
  for (const b of sent) await exact.write(b);
  assert.deepEqual(fresh, await snapshot(e));
});

void test('worker sink: a batch whose cube is nearly as long as the batch is written by the statement path, a repetitive one by the fast path; both exact', async (t) => {
  const { e, pool, links } = await world(t);
  const sink = new ClickSink(pool as never, 'batch');
  const wide = clicks(links, 400, 'w'); // 30 links, varied dimensions: cube ≈ clicks
  assert.ok(aggregate(wide).cube.links.length > 200);
  await sink.write(wide);
  assert.equal(sink.wide, 1);
  const one = links[0]!;
  const base = Date.parse('2026-03-09T10:00:00Z');
  const narrow = Array.from({ length: 400 }, (_, j) =>
    enrich(`${base}-n-${j}`, { id: randomUUID(), linkId: one.id, code: one.code, ts: base + j, visitor: `n${j % 50}`, ua: 'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0', referrer: '', country: 'DE', target: 'https://example.com/n', rule: '', location: '' }),
  );
  assert.equal(aggregate(narrow).cube.links.length, 1);
  await sink.write(narrow);
  assert.equal(sink.wide, 1, 'the narrow batch took the fast path');
  const { rows } = await e.admin.query(`SELECT (SELECT count(*)::int FROM links.clicks) AS rows, (SELECT count(*)::int FROM links.rollup_mismatches('2026-03-01', '2026-03-11')) AS mism`);
  assert.deepEqual(rows[0], { rows: 800, mism: 0 });
});

void test('worker sink: aggregate() — one cube row per key with its clicks, humans counted, first visit per link/day/visitor at the earliest click', () => {
  const link = { id: randomUUID(), code: 'agg1' };
  const t0 = Date.parse('2026-05-01T10:15:00Z');
  const mk = (j: number, over: { ts: number; visitor: string; ua?: string; stream?: string }) => {
    const c = makeClick([link], j, t0);
    Object.assign(c, { ts: over.ts, visitor: over.visitor, ua: over.ua ?? 'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0', referrer: '', country: 'DE', target: 'https://example.com/x', rule: '', location: '' });
    return enrich(over.stream ?? `${over.ts}-${j}`, c);
  };
  const a = aggregate([
    mk(1, { ts: t0 + 5000, visitor: 'v1' }),
    mk(2, { ts: t0, visitor: 'v1' }), // earlier: v1's first visit
    mk(3, { ts: t0 + HOUR, visitor: 'v1' }), // another hour, same day: not a first
    mk(4, { ts: t0, visitor: '' }), // no hash: no visit
    mk(5, { ts: t0, visitor: 'v2', ua: 'Googlebot/2.1 (+http://www.google.com/bot.html)' }), // a bot
  ]);
  assert.deepEqual(a.counters, { links: [link.id], clicks: [4], lastMs: [t0 + HOUR] });
  assert.equal(a.counted, 4);
  assert.equal(a.cube.links.length, 3, 'two human keys (two hours) and the bot');
  const hourOf = (i: number) => a.cube.hoursMs[i];
  const firstHour = a.cube.hoursMs.findIndex((h, i) => h === Date.parse('2026-05-01T10:00:00Z') && !a.cube.bots[i]);
  assert.equal(a.cube.clicks[firstHour], 3);
  assert.deepEqual(a.firsts, { links: [link.id], days: ['2026-05-01'], visitors: ['v1'], cube: [firstHour + 1] });
  assert.equal(hourOf(firstHour), Date.parse('2026-05-01T10:00:00Z'));
});

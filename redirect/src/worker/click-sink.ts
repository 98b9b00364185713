import { pgErrorCode, withTransaction, type Pool, type PoolClient } from '@linkport/common';
import { aggregate, type BatchAggregates } from './aggregate.ts';
import type { EnrichedClick } from './enrich.ts';

/**
 * How a batch reaches PostgreSQL:
 * - 'batch' (default): ONE call of links.ingest_click_batch (migration 1764900001700_links_ingest_fast)
 *   with the batch's counters, hourly cube and first visits aggregated in memory (aggregate.ts): the
 *   database inserts the raw rows and upserts pre-aggregated, key-sorted rollup rows. When not every
 *   raw row is new (a replay) the function refuses (SQLSTATE LPR01, nothing written) and the batch
 *   goes through 'statement', which counts exactly the rows it inserts; a batch whose cube is
 *   nearly as long as the batch goes through 'statement' too (maxCubeShare);
 * - 'statement': ONE call of links.ingest_clicks (migration 1764900000500_links_analytics)
 *   — raw rows, link counters, daily visitors and every rollup (hourly cube, account marginals,
 *   daily_stats) in one statement and one round trip, aggregated in SQL from the rows actually
 *   inserted, atomic without BEGIN/COMMIT;
 * - 'legacy': the previous path, four statements in a transaction, kept selectable
 *   (WORKER_SINK=legacy) as bench:redirect's same-run baseline. It does not write the hourly
 *   rollups, so it is for measuring only.
 */
export type SinkMode = 'batch' | 'statement' | 'legacy';

/**
 * Writes one batch atomically. The INSERT is the idempotency gate: a replayed stream entry
 * (same stream_id) or a re-sent XADD (same click_id) conflicts and is skipped, and only the rows
 * RETURNING reports as inserted feed the counters and rollups — so a crash between COMMIT and XACK
 * costs a replay, never a double count.
 */
export class ClickSink {
  constructor(
    private readonly pool: Pool,
    private readonly mode: SinkMode = 'batch',
    /**
     * 'batch' sends its cube only when it is at most this share of the batch's clicks. Where nearly
     * every click is its own cube row (many links, every dimension varied: bench/drain-profile.ts
     * with 1000 links) the cube doubles what crosses the wire and saves the database nothing — the
     * rollup rows are the cost — and the batch goes through 'statement' (measured 0.6x otherwise);
     * where clicks repeat (popular links) the cube is small and 'batch' measured 1.1-1.8x.
     */
    private readonly maxCubeShare = 0.5,
  ) {}

  /** Batches the fast path handed to 'statement' because some of their entries were written before. */
  replays = 0;
  /** Batches 'batch' wrote through 'statement' because their cube was too large (maxCubeShare). */
  wide = 0;

  async write(batch: EnrichedClick[]): Promise<{ inserted: number; counted: number }> {
    if (batch.length === 0) return { inserted: 0, counted: 0 };
    if (this.mode === 'batch') {
      const a = aggregate(batch);
      if (a.cube.links.length > this.maxCubeShare * batch.length) {
        this.wide++;
        return ingest(this.pool, batch);
      }
      try {
        return await ingestBatch(this.pool, batch, a);
      } catch (err) {
        if (pgErrorCode(err) !== 'LPR01') throw err;
        this.replays++;
        return ingest(this.pool, batch);
      }
    }
    if (this.mode === 'statement') return ingest(this.pool, batch);
    return withTransaction(this.pool, async (db) => {
      const inserted = await insertClicks(db, batch);
      const counted = inserted.filter((c) => !c.isBot);
      if (counted.length > 0) {
        await bumpLinks(db, counted);
        await rollups(db, counted, await newVisitors(db, counted));
      }
      return { inserted: inserted.length, counted: counted.length };
    });
  }
}

/**
 * Column arrays rather than rows: node-postgres sends each as one text array literal, so a batch of
 * thousands of clicks is 19 parameters. The statement is named so PostgreSQL parses it once per
 * connection.
 */
/** The 19 raw click columns, in the parameter order both ingest functions take them. */
function rawColumns(batch: EnrichedClick[]): unknown[][] {
  const col = <T>(f: (c: EnrichedClick) => T) => batch.map(f);
  return [
    col((c) => c.streamId),
    col((c) => c.id),
    col((c) => c.ts),
    col((c) => c.linkId),
    col((c) => c.code),
    col((c) => c.visitor),
    col((c) => c.ua),
    col((c) => c.referrer),
    col((c) => c.referrerHost),
    col((c) => c.country),
    col((c) => c.device),
    col((c) => c.browser),
    col((c) => c.os),
    col((c) => c.isBot),
    col((c) => c.utmSource),
    col((c) => c.utmMedium),
    col((c) => c.utmCampaign),
    col((c) => c.variant),
    col((c) => c.destination),
  ];
}

async function ingest(pool: Pool, batch: EnrichedClick[]): Promise<{ inserted: number; counted: number }> {
  const { rows } = await pool.query<{ inserted: string; counted: string }>({
    name: 'ingest_clicks',
    text: `SELECT inserted, counted FROM links.ingest_clicks($1::text[], $2::text[], $3::bigint[], $4::uuid[], $5::text[], $6::text[],
             $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::boolean[], $15::text[],
             $16::text[], $17::text[], $18::text[], $19::text[])`,
    values: [
      ...rawColumns(batch),
    ],
  });
  return { inserted: Number(rows[0]?.inserted ?? 0), counted: Number(rows[0]?.counted ?? 0) };
}

/** The fast path: raw columns plus the in-memory aggregates, 40 array parameters, one round trip. */
async function ingestBatch(pool: Pool, batch: EnrichedClick[], a: BatchAggregates): Promise<{ inserted: number; counted: number }> {
  const h = a.cube;
  const params = Array.from({ length: 40 }, (_, i) => `$${i + 1}::${BATCH_TYPES[i]}`).join(', ');
  const { rows } = await pool.query<{ inserted: string; counted: string }>({
    name: 'ingest_click_batch',
    text: `SELECT inserted, counted FROM links.ingest_click_batch(${params})`,
    values: [
      ...rawColumns(batch),
      a.counters.links,
      a.counters.clicks,
      a.counters.lastMs,
      h.links,
      h.hoursMs,
      h.bots,
      h.countries,
      h.devices,
      h.browsers,
      h.oses,
      h.refHosts,
      h.utmSources,
      h.utmMediums,
      h.utmCampaigns,
      h.variants,
      h.destinations,
      h.clicks,
      a.firsts.links,
      a.firsts.days,
      a.firsts.visitors,
      a.firsts.cube,
    ],
  });
  return { inserted: Number(rows[0]?.inserted ?? 0), counted: Number(rows[0]?.counted ?? 0) };
}

const BATCH_TYPES = [
  ...['text[]', 'text[]', 'bigint[]', 'uuid[]', 'text[]', 'text[]', 'text[]', 'text[]', 'text[]', 'text[]', 'text[]', 'text[]', 'text[]', 'boolean[]'],
  ...['text[]', 'text[]', 'text[]', 'text[]', 'text[]'],
  ...['uuid[]', 'bigint[]', 'bigint[]'],
  ...['uuid[]', 'bigint[]', 'boolean[]', 'text[]', 'text[]', 'text[]', 'text[]', 'text[]', 'text[]', 'text[]', 'text[]', 'text[]', 'text[]', 'bigint[]'],
  ...['uuid[]', 'date[]', 'text[]', 'int[]'],
];

const day = (ts: number) => new Date(ts).toISOString().slice(0, 10);

async function insertClicks(db: PoolClient, batch: EnrichedClick[]): Promise<EnrichedClick[]> {
  // Clicks of links deleted meanwhile are dropped by the join instead of failing the batch on the FK.
  const { rows } = await db.query<{ stream_id: string }>(
    `INSERT INTO links.clicks (stream_id, click_id, clicked_at, link_id, code, visitor_hash, user_agent, referrer,
                               referrer_host, country, device, browser, os, is_bot)
     SELECT u.stream_id, NULLIF(u.click_id, ''), to_timestamp(u.ts / 1000.0), u.link_id, u.code, NULLIF(u.visitor, ''),
            NULLIF(u.ua, ''), NULLIF(u.ref, ''), NULLIF(u.ref_host, ''), NULLIF(u.country, ''), u.device, u.browser, u.os, u.is_bot
       FROM unnest($1::text[], $2::text[], $3::bigint[], $4::uuid[], $5::text[], $6::text[], $7::text[], $8::text[],
                   $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::boolean[])
            AS u(stream_id, click_id, ts, link_id, code, visitor, ua, ref, ref_host, country, device, browser, os, is_bot)
       JOIN links.links l ON l.id = u.link_id
     ON CONFLICT DO NOTHING
     RETURNING stream_id`,
    [
      batch.map((c) => c.streamId),
      batch.map((c) => c.id),
      batch.map((c) => c.ts),
      batch.map((c) => c.linkId),
      batch.map((c) => c.code),
      batch.map((c) => c.visitor),
      batch.map((c) => c.ua),
      batch.map((c) => c.referrer),
      batch.map((c) => c.referrerHost),
      batch.map((c) => c.country),
      batch.map((c) => c.device),
      batch.map((c) => c.browser),
      batch.map((c) => c.os),
      batch.map((c) => c.isBot),
    ],
  );
  const ok = new Set(rows.map((r) => r.stream_id));
  return batch.filter((c) => ok.has(c.streamId));
}

async function bumpLinks(db: PoolClient, clicks: EnrichedClick[]): Promise<void> {
  const per = new Map<string, { n: number; last: number }>();
  for (const c of clicks) {
    const p = per.get(c.linkId);
    if (p) {
      p.n++;
      p.last = Math.max(p.last, c.ts);
    } else per.set(c.linkId, { n: 1, last: c.ts });
  }
  // Sorted ids: concurrent workers lock rows in the same order and cannot deadlock.
  const ids = [...per.keys()].sort();
  await db.query(
    `UPDATE links.links l
        SET click_count = l.click_count + u.n,
            last_clicked_at = GREATEST(l.last_clicked_at, to_timestamp(u.last / 1000.0))
       FROM unnest($1::uuid[], $2::bigint[], $3::bigint[]) AS u(id, n, last)
      WHERE l.id = u.id`,
    [ids, ids.map((i) => per.get(i)!.n), ids.map((i) => per.get(i)!.last)],
  );
}

/** Which clicks are a visitor's first of the day on that link (inserted into daily_visitors). */
async function newVisitors(db: PoolClient, clicks: EnrichedClick[]): Promise<Set<EnrichedClick>> {
  const keyed = new Map<string, EnrichedClick>();
  for (const c of clicks) {
    if (!c.visitor) continue;
    const k = `${c.linkId}|${day(c.ts)}|${c.visitor}`;
    if (!keyed.has(k)) keyed.set(k, c);
  }
  if (keyed.size === 0) return new Set();
  const keys = [...keyed.keys()].sort();
  const parts = keys.map((k) => k.split('|'));
  const { rows } = await db.query<{ link_id: string; day: string; visitor_hash: string }>(
    `INSERT INTO links.daily_visitors (link_id, day, visitor_hash)
     SELECT * FROM unnest($1::uuid[], $2::date[], $3::text[])
     ON CONFLICT DO NOTHING
     RETURNING link_id, to_char(day, 'YYYY-MM-DD') AS day, visitor_hash`,
    [parts.map((p) => p[0]), parts.map((p) => p[1]), parts.map((p) => p[2])],
  );
  return new Set(rows.map((r) => keyed.get(`${r.link_id}|${r.day}|${r.visitor_hash}`)!));
}

/**
 * daily_stats: 'total' plus one row per dimension value. `visitors` counts a visitor once per day,
 * attributed to the values of their first click that day, so each dimension's visitors sum to the
 * total's.
 */
async function rollups(db: PoolClient, clicks: EnrichedClick[], firsts: Set<EnrichedClick>): Promise<void> {
  const acc = new Map<string, { clicks: number; visitors: number }>();
  const add = (linkId: string, d: string, dim: string, value: string, isNew: boolean) => {
    const k = `${linkId}|${d}|${dim}|${value}`;
    const a = acc.get(k) ?? { clicks: 0, visitors: 0 };
    a.clicks++;
    if (isNew) a.visitors++;
    acc.set(k, a);
  };
  for (const c of clicks) {
    const d = day(c.ts);
    const isNew = firsts.has(c);
    add(c.linkId, d, 'total', '', isNew);
    add(c.linkId, d, 'country', c.country || 'unknown', isNew);
    add(c.linkId, d, 'device', c.device, isNew);
    add(c.linkId, d, 'browser', c.browser, isNew);
    add(c.linkId, d, 'os', c.os, isNew);
    add(c.linkId, d, 'referrer', c.referrerHost || 'direct', isNew);
  }
  const keys = [...acc.keys()].sort();
  const parts = keys.map((k) => k.split('|'));
  await db.query(
    `INSERT INTO links.daily_stats AS s (link_id, day, dimension, value, clicks, visitors)
     SELECT * FROM unnest($1::uuid[], $2::date[], $3::text[], $4::text[], $5::bigint[], $6::bigint[])
     ON CONFLICT (link_id, day, dimension, value)
     DO UPDATE SET clicks = s.clicks + EXCLUDED.clicks, visitors = s.visitors + EXCLUDED.visitors`,
    [
      parts.map((p) => p[0]),
      parts.map((p) => p[1]),
      parts.map((p) => p[2]),
      parts.map((p) => p.slice(3).join('|')),
      keys.map((k) => acc.get(k)!.clicks),
      keys.map((k) => acc.get(k)!.visitors),
    ],
  );
}

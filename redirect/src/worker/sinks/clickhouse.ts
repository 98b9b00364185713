/**
 * The column store for raw clicks (issue 18 §4): the worker writes every click to ClickHouse in
 * batches when CLICKHOUSE_URL is set, through a consumer group of its own (CLICKHOUSE_GROUP), so a
 * ClickHouse outage leaves its entries pending in Redis while PostgreSQL keeps counting, and the
 * reverse.
 *
 * Idempotency — a replayed batch (worker killed between the INSERT and XACK, or a batch retried
 * after a lost reply) and a re-sent XADD (same click id, new stream entry) must not double-count:
 * - the table is a ReplacingMergeTree whose sorting key ends with `click_key` (the producer's click
 *   id, else the shard-qualified stream entry key), so copies of one click share the whole key and
 *   merges keep one (ClickHouse docs, "ReplacingMergeTree"; copies land in one partition because
 *   the partition is the click's own month);
 * - merges happen "at an unknown time", so reads never rely on them: they count `uniqExact(click_key)`
 *   (exact, no FINAL needed, and the same SQL on 18.16 and a current server).
 * Why not insert deduplication tokens: Debian's clickhouse-server 18.16 deduplicates inserts only
 * for Replicated* tables (non_replicated_deduplication_window and insert_deduplication_token came
 * in 21.x/22.x), and a re-sent XADD would still be a different batch. Production needs more: a
 * ReplicatedReplacingMergeTree per shard behind a Distributed table sharded by `sipHash64(click_key)`
 * (so the copies of a click meet on one shard), and larger inserts — a batch per stream read is
 * fine at one worker's rate, not at thousands of inserts per second (ClickHouse advises ~1 insert/s
 * per table, or async_insert on 21.11+).
 *
 * SQL: this file is the one place it lives. 18.16 has no server-side query parameters
 * (`{name:Type}`, 19.x), so the few values in reads are inlined only after validation to a closed
 * form (UUID text, integer seconds, an IANA-looking zone, a dimension from a fixed list) — never as
 * free text. Inserts carry their values in the request body (JSONEachRow), never in SQL.
 */
import { createClient, ClickHouseLogLevel, type ClickHouseClient } from '@clickhouse/client';
import { LRUCache } from 'lru-cache';
import type { Logger, Pool } from '@linkport/common';
import type { BatchSink } from '../consumer.ts';
import type { EnrichedClick } from '../enrich.ts';

export interface ClickHouseOptions {
  url: string;
  database: string;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function createClickHouse(opts: ClickHouseOptions): ClickHouseClient {
  if (!IDENT.test(opts.database)) throw new Error(`CLICKHOUSE_DATABASE "${opts.database}" is not a plain identifier`);
  // The client's own logger prints every failed request; the consumer logs (once per batch) instead.
  return createClient({ url: opts.url, request_timeout: 30_000, log: { level: ClickHouseLogLevel.OFF } });
}

/** Columns (DateTime('UTC') + ts_ms: 18.16 has no DateTime64, which came in 20.1). */
const TABLE = (db: string) => `CREATE TABLE IF NOT EXISTS ${db}.clicks (
  owner_id UUID,
  link_id UUID,
  clicked_at DateTime('UTC'),
  ts_ms UInt64,
  click_key String,
  stream_id String,
  code String,
  visitor_hash String,
  referrer_host String,
  country String,
  device String,
  browser String,
  os String,
  is_bot UInt8,
  utm_source String,
  utm_medium String,
  utm_campaign String,
  variant String,
  destination String
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(clicked_at)
ORDER BY (owner_id, link_id, clicked_at, click_key)`;

/** Creates the database and table when missing (idempotent; every worker runs it at start). */
export async function ensureClickHouseSchema(ch: ClickHouseClient, database: string): Promise<void> {
  if (!IDENT.test(database)) throw new Error('bad database name');
  await ch.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}` });
  await ch.command({ query: TABLE(database) });
}

const pad = (n: number) => String(n).padStart(2, '0');
/** 'YYYY-MM-DD hh:mm:ss' in UTC: the text form DateTime('UTC') parses in JSONEachRow on every version. */
function utcText(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

/**
 * Writes a batch's clicks, each with its link's owner (account breakdowns need it and the click does
 * not carry it). Clicks of links that no longer exist are dropped, as the PostgreSQL sink's join
 * drops them, so both stores count the same clicks.
 */
export class ClickHouseSink implements BatchSink {
  private readonly owners = new LRUCache<string, string>({ max: 100_000 });

  constructor(
    private readonly ch: ClickHouseClient,
    private readonly pool: Pool,
    private readonly database: string,
    private readonly log?: Logger,
  ) {}

  async write(batch: EnrichedClick[]): Promise<{ inserted: number; counted: number }> {
    if (batch.length === 0) return { inserted: 0, counted: 0 };
    await this.loadOwners(batch);
    const rows = [];
    for (const c of batch) {
      const owner = this.owners.get(c.linkId.toLowerCase());
      if (!owner) continue;
      rows.push({
        owner_id: owner,
        link_id: c.linkId.toLowerCase(),
        clicked_at: utcText(c.ts),
        ts_ms: c.ts,
        click_key: c.id || c.streamId,
        stream_id: c.streamId,
        code: c.code,
        visitor_hash: c.visitor,
        referrer_host: c.referrerHost,
        country: c.country,
        device: c.device,
        browser: c.browser,
        os: c.os,
        is_bot: c.isBot ? 1 : 0,
        utm_source: c.utmSource,
        utm_medium: c.utmMedium,
        utm_campaign: c.utmCampaign,
        variant: c.variant,
        destination: c.destination,
      });
    }
    if (rows.length > 0) await this.ch.insert({ table: `${this.database}.clicks`, values: rows, format: 'JSONEachRow' });
    if (rows.length < batch.length) this.log?.debug({ dropped: batch.length - rows.length }, 'clicks of deleted links not written to ClickHouse');
    return { inserted: rows.length, counted: rows.filter((r) => r.is_bot === 0).length };
  }

  /** A link's owner never changes here (links.links.owner_id has no transfer path), so caching is safe. */
  private async loadOwners(batch: EnrichedClick[]): Promise<void> {
    const missing = [...new Set(batch.map((c) => c.linkId.toLowerCase()).filter((id) => !this.owners.has(id)))];
    if (missing.length === 0) return;
    const { rows } = await this.pool.query<{ id: string; owner_id: string }>({
      name: 'clickhouse_link_owners',
      text: 'SELECT id::text, owner_id::text FROM links.links WHERE id = ANY($1::uuid[])',
      values: [missing],
    });
    for (const r of rows) this.owners.set(r.id, r.owner_id);
  }
}

export type Bucket = 'hour' | 'day' | 'week' | 'month';
export type Dimension = 'country' | 'device' | 'browser' | 'os' | 'referrer_host' | 'utm_source' | 'utm_medium' | 'utm_campaign' | 'variant' | 'destination';
const DIMENSIONS = new Set<string>(['country', 'device', 'browser', 'os', 'referrer_host', 'utm_source', 'utm_medium', 'utm_campaign', 'variant', 'destination']);
/** Week starts Monday (ISO 8601) as links.analytics_series' date_trunc does; toMonday exists on 18.16, toStartOfWeek does not. */
const BUCKET_SQL: Record<Bucket, (tz: string) => string> = {
  hour: (tz) => `toStartOfHour(clicked_at, '${tz}')`,
  day: (tz) => `toStartOfDay(clicked_at, '${tz}')`,
  week: (tz) => `toMonday(clicked_at, '${tz}')`,
  month: (tz) => `toStartOfMonth(clicked_at, '${tz}')`,
};
const ZONE = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+){0,2}$/;

export class AnalyticsInputError extends Error {
  readonly code = 'invalid-analytics-query';
}

function check(owner: string, link: string | undefined, fromMs: number, toMs: number, tz: string): void {
  if (!UUID.test(owner) || (link !== undefined && !UUID.test(link))) throw new AnalyticsInputError('owner and link must be UUIDs');
  if (!Number.isSafeInteger(fromMs) || !Number.isSafeInteger(toMs) || toMs <= fromMs) throw new AnalyticsInputError('from must be before to');
  if (!ZONE.test(tz)) throw new AnalyticsInputError(`unknown time zone "${tz.slice(0, 64)}" (an IANA name such as Europe/Berlin)`);
}

const range = (fromMs: number, toMs: number) => `clicked_at >= toDateTime(${Math.floor(fromMs / 1000)}) AND clicked_at < toDateTime(${Math.ceil(toMs / 1000)})`;

export interface SeriesRow {
  /** The bucket's start, epoch ms. */
  bucket: number;
  clicks: number;
  visitors: number;
  bots: number;
}

/**
 * The click analytics served from ClickHouse: a link's time series and an account's breakdown by
 * one dimension, the shapes of links.analytics_series / analytics_breakdown (humans in clicks,
 * bots apart). `visitors` here is distinct visitors per bucket (or value); PostgreSQL's rollups
 * attribute a visitor to their first click of the day, so the two agree on clicks, not always on
 * visitors across buckets.
 */
export class ClickHouseAnalytics {
  constructor(
    private readonly ch: ClickHouseClient,
    private readonly database: string,
  ) {}

  async linkSeries(q: { ownerId: string; linkId: string; bucket: Bucket; timeZone: string; fromMs: number; toMs: number }): Promise<SeriesRow[]> {
    check(q.ownerId, q.linkId, q.fromMs, q.toMs, q.timeZone);
    const b = BUCKET_SQL[q.bucket];
    if (!b) throw new AnalyticsInputError('bucket must be hour, day, week or month');
    const rs = await this.ch.query({
      query: `SELECT toUnixTimestamp(${b(q.timeZone)}) AS b,
                     uniqExactIf(click_key, is_bot = 0) AS clicks,
                     uniqExactIf(visitor_hash, is_bot = 0 AND visitor_hash != '') AS visitors,
                     uniqExactIf(click_key, is_bot = 1) AS bots
                FROM ${this.database}.clicks
               WHERE owner_id = toUUID('${q.ownerId.toLowerCase()}') AND link_id = toUUID('${q.linkId.toLowerCase()}') AND ${range(q.fromMs, q.toMs)}
               GROUP BY b ORDER BY b`,
      format: 'JSONEachRow',
    });
    const rows = await rs.json<{ b: number | string; clicks: number | string; visitors: number | string; bots: number | string }>();
    return rows.map((r) => ({ bucket: Number(r.b) * 1000, clicks: Number(r.clicks), visitors: Number(r.visitors), bots: Number(r.bots) }));
  }

  async accountBreakdown(q: { ownerId: string; dimension: Dimension; topN: number; fromMs: number; toMs: number }): Promise<Array<{ value: string; clicks: number; visitors: number }>> {
    check(q.ownerId, undefined, q.fromMs, q.toMs, 'UTC');
    if (!DIMENSIONS.has(q.dimension)) throw new AnalyticsInputError(`unknown dimension "${String(q.dimension).slice(0, 64)}"`);
    if (!Number.isInteger(q.topN) || q.topN < 1 || q.topN > 1000) throw new AnalyticsInputError('top_n must be 1..1000');
    const rs = await this.ch.query({
      query: `SELECT ${q.dimension} AS value, uniqExact(click_key) AS clicks, uniqExactIf(visitor_hash, visitor_hash != '') AS visitors
                FROM ${this.database}.clicks
               WHERE owner_id = toUUID('${q.ownerId.toLowerCase()}') AND is_bot = 0 AND ${range(q.fromMs, q.toMs)}
               GROUP BY value ORDER BY clicks DESC, value LIMIT ${q.topN}`,
      format: 'JSONEachRow',
    });
    const rows = await rs.json<{ value: string; clicks: number | string; visitors: number | string }>();
    return rows.map((r) => ({ value: r.value, clicks: Number(r.clicks), visitors: Number(r.visitors) }));
  }

  /** Distinct clicks stored (all links, bots included): what the kill test compares with PostgreSQL. */
  async totalClicks(): Promise<number> {
    const rs = await this.ch.query({ query: `SELECT uniqExact(click_key) AS n FROM ${this.database}.clicks`, format: 'JSONEachRow' });
    const [row] = await rs.json<{ n: number | string }>();
    return Number(row?.n ?? 0);
  }
}

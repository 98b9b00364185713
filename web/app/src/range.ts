/**
 * The analytics date range, apart from the UI so it can be tested in Node: presets, custom whole
 * local days, and the limits links.analytics_series / analytics_breakdown put on both (migration
 * 1764900000500_links_analytics).
 */

export type Bucket = 'hour' | 'day' | 'week' | 'month';
/** links.analytics_bucket accepts exactly these. */
export const BUCKETS: Bucket[] = ['hour', 'day', 'week', 'month'];

/** Presets: label, length in days, the bucket that gives a readable number of points. */
export const RANGES: Record<string, [string, number, Bucket]> = {
  '24h': ['Last 24 hours', 1, 'hour'],
  '7d': ['Last 7 days', 7, 'day'],
  '30d': ['Last 30 days', 30, 'day'],
  '90d': ['Last 90 days', 90, 'week'],
  '365d': ['Last 12 months', 365, 'month'],
};

export const DAY = 86_400_000;
/**
 * links.analytics_scope refuses `to_ts - from_ts > interval '3 years'` (22023). PostgreSQL compares
 * intervals with 30-day months (interval_cmp_value), so '3 years' is 1080 days: said here first, as
 * a sentence, rather than the generic "A value is not valid." of a data exception.
 */
export const MAX_DAYS = 1080;

/** yyyy-mm-dd of a date in the browser's zone (what <input type=date> reads and writes). */
export function localDate(d: Date): string {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/** Local midnight at the start of a yyyy-mm-dd day; undefined when it is not a date. */
function startOfDay(s: string): Date | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return undefined;
  const d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  // Date rolls 2026-02-31 over to March: not a day anyone chose.
  return localDate(d) === s ? d : undefined;
}

/**
 * The instant range [from, to) of a preset or of whole local days (the end day included). The
 * functions count the rollup hours that start in the range (hourly rollups), so "now" is rounded
 * up a minute to include the hour in progress.
 */
export function rangeOf(range: string, custom: { from: string; to: string }, now = Date.now()): { from: Date; to: Date } | string {
  const preset = RANGES[range];
  if (preset) return { from: new Date(now - preset[1] * DAY), to: new Date(now + 60_000) };
  const from = startOfDay(custom.from);
  const last = startOfDay(custom.to);
  if (!from || !last) return 'Choose a start and an end date.';
  const to = new Date(last.getFullYear(), last.getMonth(), last.getDate() + 1);
  if (to <= from) return 'The end date must not be before the start date.';
  if (to.getTime() - from.getTime() > MAX_DAYS * DAY) return `A date range can be at most ${MAX_DAYS} days long (about 3 years).`;
  return { from, to };
}

import type { EnrichedClick } from './enrich.ts';

/**
 * A batch's rollup inputs computed in memory for links.ingest_click_batch (migration
 * 1764900001700_links_ingest_fast), by the same rules links.ingest_clicks applies in SQL
 * (migration 1764900000500_links_analytics):
 * - counters: human clicks per link and the latest click time;
 * - the hourly cube: one row per (link, UTC hour, bot flag, the ten dimensions), '' for "none";
 * - first visits: each visitor's first human click of the UTC day per link in the batch (earliest
 *   time, then stream id), pointing at the cube row it belongs to — the database decides which are
 *   new today (daily_visitors) and adds them to those rows' `visitors`.
 * Rows are sorted by key, so concurrent writers lock rollup rows in the same order.
 */
export interface BatchAggregates {
  counters: { links: string[]; clicks: number[]; lastMs: number[] };
  cube: {
    links: string[];
    hoursMs: number[];
    bots: boolean[];
    countries: string[];
    devices: string[];
    browsers: string[];
    oses: string[];
    refHosts: string[];
    utmSources: string[];
    utmMediums: string[];
    utmCampaigns: string[];
    variants: string[];
    destinations: string[];
    clicks: number[];
  };
  firsts: { links: string[]; days: string[]; visitors: string[]; cube: number[] };
  /** Human clicks in the batch (what click_count grows by). */
  counted: number;
}

const HOUR = 3_600_000;
const DAY = 86_400_000;
// The unit separator: the same key separator links.click_dims_key uses; stream values cannot hold it.
const SEP = '\x1f';

interface CubeRow {
  key: string;
  link: string;
  c: EnrichedClick;
  hour: number;
  clicks: number;
  index: number;
}

export function aggregate(batch: EnrichedClick[]): BatchAggregates {
  const counters = new Map<string, { n: number; last: number }>();
  const cube = new Map<string, CubeRow>();
  const firsts = new Map<string, { c: EnrichedClick; link: string; row: CubeRow }>();
  let counted = 0;
  for (const c of batch) {
    // PostgreSQL compares uuids, not spellings: one link in two cases must be one key here too, or
    // an upsert would meet its own row twice and an UPDATE ... FROM count only one of them.
    const link = c.linkId.toLowerCase();
    const hour = Math.floor(c.ts / HOUR) * HOUR;
    const key = `${link}${SEP}${hour}${SEP}${c.isBot ? 1 : 0}${SEP}${c.country}${SEP}${c.device}${SEP}${c.browser}${SEP}${c.os}${SEP}${c.referrerHost}${SEP}${c.utmSource}${SEP}${c.utmMedium}${SEP}${c.utmCampaign}${SEP}${c.variant}${SEP}${c.destination}`;
    let row = cube.get(key);
    if (row) row.clicks++;
    else cube.set(key, (row = { key, link, c, hour, clicks: 1, index: 0 }));
    if (c.isBot) continue;
    counted++;
    const k = counters.get(link);
    if (k) {
      k.n++;
      if (c.ts > k.last) k.last = c.ts;
    } else counters.set(link, { n: 1, last: c.ts });
    if (!c.visitor) continue;
    const fk = `${link}${SEP}${Math.floor(c.ts / DAY)}${SEP}${c.visitor}`;
    const f = firsts.get(fk);
    if (!f || c.ts < f.c.ts || (c.ts === f.c.ts && c.streamId < f.c.streamId)) firsts.set(fk, { c, link, row });
  }

  const rows = [...cube.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const out: BatchAggregates = {
    counters: { links: [], clicks: [], lastMs: [] },
    cube: { links: [], hoursMs: [], bots: [], countries: [], devices: [], browsers: [], oses: [], refHosts: [], utmSources: [], utmMediums: [], utmCampaigns: [], variants: [], destinations: [], clicks: [] },
    firsts: { links: [], days: [], visitors: [], cube: [] },
    counted,
  };
  const h = out.cube;
  rows.forEach((r, i) => {
    r.index = i + 1; // WITH ORDINALITY counts from 1
    const c = r.c;
    h.links.push(r.link);
    h.hoursMs.push(r.hour);
    h.bots.push(c.isBot);
    h.countries.push(c.country);
    h.devices.push(c.device);
    h.browsers.push(c.browser);
    h.oses.push(c.os);
    h.refHosts.push(c.referrerHost);
    h.utmSources.push(c.utmSource);
    h.utmMediums.push(c.utmMedium);
    h.utmCampaigns.push(c.utmCampaign);
    h.variants.push(c.variant);
    h.destinations.push(c.destination);
    h.clicks.push(r.clicks);
  });
  for (const id of [...counters.keys()].sort()) {
    const k = counters.get(id)!;
    out.counters.links.push(id);
    out.counters.clicks.push(k.n);
    out.counters.lastMs.push(k.last);
  }
  for (const fk of [...firsts.keys()].sort()) {
    const { c, link, row } = firsts.get(fk)!;
    out.firsts.links.push(link);
    out.firsts.days.push(new Date(Math.floor(c.ts / DAY) * DAY).toISOString().slice(0, 10));
    out.firsts.visitors.push(c.visitor);
    out.firsts.cube.push(row.index);
  }
  return out;
}

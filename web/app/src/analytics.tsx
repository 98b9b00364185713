/**
 * The analytics panel shared by a link's page and the account-wide page (/app/analytics): the same
 * controls (range presets or custom dates, bucket, the browser's time zone, bots on request) over
 * the same two SQL functions, links.analytics_series and links.analytics_breakdown (migration
 * 1764900000500_links_analytics), which take the same arguments with or without a link_id.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ComponentChildren } from 'preact';
import type { ApiError } from './errors.ts';
import { subscribe, type Op } from './gql.ts';
import type { BreakdownRow, SeriesRow } from './ops.ts';
import { BUCKETS, DAY, RANGES, localDate, rangeOf, type Bucket } from './range.ts';
import { Empty, ErrorMessage, Loading, useAsync } from './ui.tsx';

/** What both analytics operations answer: a series and five breakdowns, aliased alike. */
export interface AnalyticsData {
  series: SeriesRow[];
  countries: BreakdownRow[];
  devices: BreakdownRow[];
  browsers: BreakdownRow[];
  os: BreakdownRow[];
  referrers: BreakdownRow[];
}

/** The variables both operations take besides the scope (a link, or none: the whole account). */
export interface AnalyticsVars {
  bucket: Bucket;
  tz: string;
  from: string;
  to: string;
  bots: boolean;
}

export function AnalyticsPanel<T extends AnalyticsData>({
  load,
  deps,
  heading,
  title = 'Analytics',
  empty,
  lead,
  children,
}: {
  load: (vars: AnalyticsVars) => Promise<T>;
  deps: unknown[];
  heading: 'h1' | 'h2';
  title?: string;
  empty: ComponentChildren;
  /** Under the title, above the controls (the account page's live counter). */
  lead?: ComponentChildren;
  /** More cards under the breakdowns, from the same answer (the account page's top links). */
  children?: (data: T) => ComponentChildren;
}) {
  const [range, setRange] = useState('7d');
  const [bucket, setBucket] = useState<Bucket>('day');
  const [bots, setBots] = useState(false);
  const today = localDate(new Date());
  const [custom, setCustom] = useState({ from: localDate(new Date(Date.now() - 6 * DAY)), to: today });
  const tz = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  const span = rangeOf(range, custom);
  // The range, bucket and bots choice are kept with the answer they asked for: while the next one
  // loads, the chart and tables still describe what they show, and the axis does not move per render.
  const data = useAsync(async () => {
    const asked = rangeOf(range, custom);
    if (typeof asked === 'string') return undefined;
    return { asked: { ...asked, bucket, bots }, answer: await load({ bucket, tz, bots, from: asked.from.toISOString(), to: asked.to.toISOString() }) };
  }, [...deps, range, bucket, bots, custom.from, custom.to]);
  const Heading = heading;
  const d = data.data?.answer;
  const asked = data.data?.asked;
  const total = (d?.series ?? []).reduce((s, r) => s + Number(r.clicks), 0);
  const visitors = (d?.series ?? []).reduce((s, r) => s + Number(r.visitors), 0);
  const botClicks = (d?.series ?? []).reduce((s, r) => s + Number(r.bots), 0);
  return (
    // Busy while a new answer loads (the previous one stays on screen meanwhile, rather than a flash of "Loading").
    <section aria-labelledby="an-h" aria-busy={data.loading ? 'true' : 'false'} data-testid="analytics">
      <div class="title-row">
        <Heading id="an-h">{title}</Heading>
        <button type="button" onClick={data.reload}>
          Refresh
        </button>
      </div>
      {lead}
      <form class="filters analytics-controls" aria-label="Analytics options" onSubmit={(e) => e.preventDefault()}>
        <label for="an-range">Date range</label>
        <select
          id="an-range"
          value={range}
          onChange={(e) => {
            const v = (e.currentTarget as HTMLSelectElement).value;
            setRange(v);
            const preset = RANGES[v];
            if (preset) setBucket(preset[2]);
          }}
        >
          {Object.entries(RANGES).map(([k, [label]]) => (
            <option value={k} key={k}>
              {label}
            </option>
          ))}
          <option value="custom">Custom dates</option>
        </select>
        {range === 'custom' && (
          <>
            <label for="an-from">From</label>
            <input id="an-from" type="date" value={custom.from} max={custom.to} onChange={(e) => setCustom({ ...custom, from: (e.currentTarget as HTMLInputElement).value })} />
            <label for="an-to">To</label>
            <input id="an-to" type="date" value={custom.to} min={custom.from} max={today} onChange={(e) => setCustom({ ...custom, to: (e.currentTarget as HTMLInputElement).value })} />
          </>
        )}
        <label for="an-bucket">Per</label>
        <select id="an-bucket" value={bucket} onChange={(e) => setBucket((e.currentTarget as HTMLSelectElement).value as Bucket)}>
          {BUCKETS.map((b) => (
            <option value={b} key={b}>
              {b}
            </option>
          ))}
        </select>
        <label>
          <input type="checkbox" checked={bots} onChange={(e) => setBots((e.currentTarget as HTMLInputElement).checked)} /> Show bot clicks
        </label>
        <span class="muted" data-testid="time-zone">
          Times in {tz} (your browser's time zone)
        </span>
      </form>
      {typeof span === 'string' ? (
        <p role="alert" class="error">
          {span}
        </p>
      ) : data.loading && !d ? (
        <Loading label="Loading analytics…" />
      ) : data.error !== undefined ? (
        <ErrorMessage error={data.error} retry={data.reload} />
      ) : !d || !asked || (total === 0 && botClicks === 0) ? (
        <Empty>{empty}</Empty>
      ) : (
        <>
          <p data-testid="analytics-summary">
            <strong>{total}</strong> {total === 1 ? 'click' : 'clicks'} from <strong>{visitors}</strong> unique {visitors === 1 ? 'visitor' : 'visitors'} (bots excluded)
            {asked.bots && (
              <span data-testid="bot-summary">
                ; <strong>{botClicks}</strong> {botClicks === 1 ? 'bot click' : 'bot clicks'} apart
              </span>
            )}
          </p>
          <Chart rows={d.series} bucket={asked.bucket} from={asked.from} to={asked.to} bots={asked.bots} />
          <div class="grid">
            <Breakdown title="Countries" rows={d.countries} bots={asked.bots} />
            <Breakdown title="Devices" rows={d.devices} bots={asked.bots} />
            <Breakdown title="Browsers" rows={d.browsers} bots={asked.bots} />
            <Breakdown title="Operating systems" rows={d.os} bots={asked.bots} />
            <Breakdown title="Referrers" rows={d.referrers} none="Direct or none" bots={asked.bots} />
            {children?.(d)}
          </div>
        </>
      )}
    </section>
  );
}

/** uPlot (small, canvas) loaded only here; the same numbers as a table for screen readers. */
export function Chart({ rows, bucket, from, to, bots }: { rows: SeriesRow[]; bucket: Bucket; from: Date; to: Date; bots: boolean }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    let plot: { destroy(): void } | undefined;
    let dead = false;
    void Promise.all([import('uplot'), import('uplot/dist/uPlot.min.css')]).then(([{ default: UPlot }]) => {
      if (dead || !box.current) return;
      const xs = rows.map((r) => Date.parse(r.bucket) / 1000);
      const series = [
        {},
        { label: 'Clicks', stroke: '#1d4ed8', width: 2, fill: 'rgba(29,78,216,.12)', points: { show: true, size: 6 } },
        { label: 'Visitors', stroke: '#047857', width: 2, points: { show: true, size: 5 } },
      ];
      const values: [number[], ...Array<number[]>] = [xs, rows.map((r) => Number(r.clicks)), rows.map((r) => Number(r.visitors))];
      if (bots) {
        series.push({ label: 'Bots', stroke: '#b45309', width: 2, points: { show: true, size: 5 } });
        values.push(rows.map((r) => Number(r.bots)));
      }
      plot = new UPlot(
        {
          width: Math.min(760, box.current.clientWidth || 600),
          height: 220,
          series,
          axes: [{}, { label: 'clicks' }],
          // The whole chosen range, not just the buckets that had clicks (one point would span years).
          scales: { x: { time: true, range: () => [from.getTime() / 1000, Math.min(to.getTime(), Date.now()) / 1000] } },
        },
        values,
        box.current,
      );
    });
    return () => {
      dead = true;
      plot?.destroy();
    };
  }, [rows, bots, from, to]);
  const fmt = (iso: string) => (bucket === 'hour' ? new Date(iso).toLocaleString() : new Date(iso).toLocaleDateString());
  return (
    <figure>
      <div ref={box} class="chart" role="img" aria-label={`Clicks per ${bucket}`} data-testid="chart" />
      <figcaption>
        <details>
          <summary>Clicks per {bucket} as a table</summary>
          <table>
            <thead>
              <tr>
                <th scope="col">{bucket}</th>
                <th scope="col">Clicks</th>
                <th scope="col">Visitors</th>
                {bots && <th scope="col">Bots</th>}
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.bucket}>
                  <td>{fmt(r.bucket)}</td>
                  <td class="num">{r.clicks}</td>
                  <td class="num">{r.visitors}</td>
                  {bots && <td class="num">{r.bots}</td>}
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      </figcaption>
    </figure>
  );
}

/** Top values of one dimension, humans only; with bots on, their clicks are shown beside (never added). */
export function Breakdown({ title, rows, none = 'Unknown', bots = false }: { title: string; rows: BreakdownRow[]; none?: string; bots?: boolean }) {
  const max = Math.max(1, ...rows.map((r) => Number(r.clicks)));
  return (
    <section class="card breakdown" aria-label={title}>
      <h3>{title}</h3>
      {rows.length === 0 ? (
        <p class="muted">No data.</p>
      ) : (
        <ul>
          {rows.map((r) => (
            <li key={r.value ?? '-'}>
              <span class="label">{r.value || none}</span>
              <span class="bar" style={{ width: `${(Number(r.clicks) / max) * 100}%` }} aria-hidden="true" />
              <span class="num">
                {r.clicks}
                {bots && Number(r.bots) > 0 && <span class="muted"> (+{r.bots} bots)</span>}
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/**
 * Clicks counted so far (links.click_count: people only), pushed by a GraphQL subscription (a Hasura
 * live query): no reload, no polling by the page. A link's own row on its page; the sum over every
 * link on the analytics page.
 */
export function LiveCounter<TData, TVars>({
  op,
  variables,
  count: pick,
  initial,
  suffix = '',
}: {
  op: Op<TData, TVars>;
  variables: TVars;
  count: (d: TData) => string | null | undefined;
  initial?: string;
  suffix?: string;
}) {
  const [count, setCount] = useState(initial);
  const [state, setState] = useState<'connecting' | 'live' | 'error'>('connecting');
  const [error, setError] = useState<ApiError>();
  const key = JSON.stringify(variables);
  useEffect(
    () =>
      subscribe(
        op,
        variables,
        (d) => {
          const c = pick(d);
          if (c !== undefined) setCount(c ?? '0');
          setState('live');
        },
        (e) => {
          setError(e);
          setState('error');
        },
      ),
    [op, key],
  );
  return (
    <div class="counter">
      <span class="big" data-testid="live-count" aria-live="polite" aria-atomic="true">
        {count === undefined ? '…' : `${Number(count).toLocaleString()} ${count === '1' ? 'click' : 'clicks'}`}
        {suffix}
      </span>{' '}
      <span class={`pill ${state}`}>{state === 'live' ? '● live' : state === 'connecting' ? 'connecting…' : 'not live'}</span>
      {state === 'error' && error && <ErrorMessage error={error} />}
    </div>
  );
}

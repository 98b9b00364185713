/**
 * The loadtest's chart: throughput and latency (p50, p99) per route over time, one point per second,
 * as a PNG. Drawn with Vega-Lite (the spec below, compiled to Vega and rendered to SVG by Vega's
 * headless View, renderer 'none') and rasterised by resvg (@resvg/resvg-js: a Rust renderer shipped
 * as prebuilt per-platform binaries inside registry packages, so nothing is compiled at install
 * and no browser is needed). node-canvas based renderers (chartjs-node-canvas) need a native build
 * or a system Cairo; vega + resvg need neither.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { Resvg } from '@resvg/resvg-js';

/** One request of the loadtest: when it started (ms since the run began), how long it took, whether it counted as an error. */
export interface Sample {
  route: string;
  startMs: number;
  latencyMs: number;
  error: boolean;
}

export interface SecondRow {
  second: number;
  route: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

/** Requests bucketed by the second they started in: per route, requests/s and p50/p99 latency. */
export function perSecond(samples: Sample[]): SecondRow[] {
  const buckets = new Map<string, { second: number; route: string; lat: number[]; errors: number }>();
  for (const s of samples) {
    const second = Math.floor(s.startMs / 1000);
    const key = `${s.route}\u0000${second}`;
    let b = buckets.get(key);
    if (!b) buckets.set(key, (b = { second, route: s.route, lat: [], errors: 0 }));
    b.lat.push(s.latencyMs);
    if (s.error) b.errors++;
  }
  return [...buckets.values()]
    .map((b) => {
      const sorted = b.lat.sort((x, y) => x - y);
      return { second: b.second, route: b.route, rps: sorted.length, p50: +quantile(sorted, 0.5).toFixed(2), p99: +quantile(sorted, 0.99).toFixed(2), errors: b.errors };
    })
    .sort((a, b) => a.second - b.second || (a.route < b.route ? -1 : 1));
}

export function chartSpec(rows: SecondRow[], title: string): TopLevelSpec {
  const x = { field: 'second', type: 'quantitative' as const, title: 'time since start (s)' };
  const color = { field: 'route', type: 'nominal' as const, title: 'route' };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    background: 'white',
    data: { values: rows },
    vconcat: [
      {
        width: 860,
        height: 220,
        mark: { type: 'line', point: true },
        encoding: { x, y: { field: 'rps', type: 'quantitative', title: 'throughput (req/s)' }, color },
      },
      {
        width: 860,
        height: 260,
        transform: [{ fold: ['p50', 'p99'], as: ['quantile', 'latency'] }],
        mark: { type: 'line', point: true },
        encoding: {
          x,
          y: { field: 'latency', type: 'quantitative', title: 'latency (ms, log)', scale: { type: 'log' } },
          color,
          strokeDash: { field: 'quantile', type: 'nominal', title: 'quantile', legend: { symbolType: 'stroke' } },
        },
      },
    ],
  };
}

/** The SVG of the chart (Vega's headless renderer). */
export async function renderSvg(rows: SecondRow[], title: string): Promise<string> {
  const view = new vega.View(vega.parse(compile(chartSpec(rows, title)).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** The chart as PNG bytes (resvg; text in the machine's fonts, DejaVu/Liberation on Debian). */
export async function renderPng(rows: SecondRow[], title: string): Promise<Buffer> {
  const svg = await renderSvg(rows, title);
  return new Resvg(svg, { background: 'white', font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } }).render().asPng();
}

/**
 * `npm run loadtest`: a bounded mixed load against the topology's gateway (or LOADTEST_URL) —
 * redirects, GraphQL reads and writes as a signed-in user, media upload presigns — and a table of
 * throughput, p50/p99 and errors per route, and a PNG chart of throughput and latency per route over
 * time (loadtest-chart.ts) written to LOADTEST_CHART (default `loadtest.png` in the topology's data
 * directory, or the working directory with LOADTEST_URL). LOADTEST_DURATION (s, default 20),
 * LOADTEST_CONCURRENCY (default 16). Loopback only. On 2 shared cores the replicas add resilience,
 * not throughput: the figures are the platform's, not a scaling curve.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { perSecond, renderPng, type Sample } from './loadtest-chart.ts';
import { defaultOptions } from './topology.ts';

export type Route = 'redirect' | 'graphql-read' | 'graphql-write' | 'presign';
const mix: Array<[Route, number]> = [
  ['redirect', 0.7],
  ['graphql-read', 0.15],
  ['graphql-write', 0.05],
  ['presign', 0.1],
];

function gatewayUrl(): string {
  if (process.env.LOADTEST_URL) return process.env.LOADTEST_URL.replace(/\/$/, '');
  const opts = defaultOptions(process.env, () => {});
  const file = path.join(opts.dataDir, 'topology.json');
  if (!fs.existsSync(file)) throw new Error('no topology running: `npm run topology -- up` first, or set LOADTEST_URL');
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { gateway: string }).gateway;
}

function chartPath(): string {
  if (process.env.LOADTEST_CHART) return path.resolve(process.env.LOADTEST_CHART);
  if (process.env.LOADTEST_URL) return path.resolve('loadtest.png');
  return path.join(defaultOptions(process.env, () => {}).dataDir, 'loadtest.png');
}

function pick(r: number): Route {
  let acc = 0;
  for (const [route, share] of mix) {
    acc += share;
    if (r < acc) return route;
  }
  return 'redirect';
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

export interface LoadtestOptions {
  /** The gateway's base URL. */
  base: string;
  durationMs: number;
  concurrency: number;
  /** Where the PNG chart goes. */
  chart: string;
  log?: (line: string) => void;
}

export interface RouteRow {
  route: Route;
  requests: number;
  'req/s': number;
  'p50 ms': number;
  'p99 ms': number;
  errors: number;
  'error %': number;
  statuses: string;
}

/** Runs the mixed load, prints the table, writes the chart; resolves to the table's rows. */
export async function runLoadtest({ base, durationMs: duration, concurrency, chart, log = console.log }: LoadtestOptions): Promise<{ rows: RouteRow[]; samples: Sample[] }> {
  const email = `load-${Date.now()}@example.com`;
  const reg = await fetch(`${base}/v1/core/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: 'correct horse battery staple 42' }) });
  if (reg.status !== 201) throw new Error(`register: ${reg.status} ${await reg.text()}`);
  const token = ((await reg.json()) as { access_token: string }).access_token;
  // Each request as a different visitor (the topology's gateway trusts loopback's X-Forwarded-For):
  // the per-client rate limits then limit clients, as in production, not the load generator.
  const visitor = () => `10.${(Math.random() * 256) | 0}.${(Math.random() * 256) | 0}.${1 + ((Math.random() * 254) | 0)}`;
  const authed = () => ({ authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-forwarded-for': visitor() });
  const gql = (query: string, variables: Record<string, unknown> = {}) => fetch(`${base}/v1/links/graphql`, { method: 'POST', headers: authed(), body: JSON.stringify({ query, variables }) });
  const insert = 'mutation ($code: String!, $dest: String!) { insert_links_links_one(object: {code: $code, destination: $dest}) { id code } }';
  const codes: string[] = [];
  const run = Date.now().toString(36);
  for (let i = 0; i < 50; i++) {
    const code = `lt${run}${i}`;
    const r = await gql(insert, { code, dest: `https://example.com/${i}` });
    const body = (await r.json()) as { errors?: unknown };
    if (r.status !== 200 || body.errors) throw new Error(`seeding links: ${r.status} ${JSON.stringify(body)}`);
    codes.push(code);
  }
  const stats = new Map<Route, { lat: number[]; errors: number; codes: Map<number, number> }>();
  for (const [r] of mix) stats.set(r, { lat: [], errors: 0, codes: new Map() });
  let writes = 0;
  const one = async (route: Route): Promise<Response> => {
    switch (route) {
      case 'redirect':
        return fetch(`${base}/${codes[Math.floor(Math.random() * codes.length)]}`, { redirect: 'manual', headers: { 'x-forwarded-for': visitor() } });
      case 'graphql-read':
        return gql('{ links_links(limit: 20, order_by: {created_at: desc}) { id code destination } }');
      case 'graphql-write':
        return gql(insert, { code: `lw${run}${writes++}`, dest: 'https://example.com/w' });
      case 'presign':
        return fetch(`${base}/v1/media/uploads`, { method: 'POST', headers: authed(), body: JSON.stringify({ filename: 'a.png', contentType: 'image/png', size: 1024, visibility: 'private' }) });
    }
  };
  const ok = (route: Route, status: number, body: string) =>
    route === 'redirect' ? status === 302 || status === 301 || status === 307 || status === 308 : status >= 200 && status < 300 && !(route.startsWith('graphql') && body.includes('"errors"'));
  const samples: Sample[] = [];
  const start = Date.now();
  const t00 = performance.now();
  const end = start + duration;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end) {
        const route = pick(Math.random());
        const s = stats.get(route) as { lat: number[]; errors: number; codes: Map<number, number> };
        const t0 = performance.now();
        let error = false;
        try {
          const res = await one(route);
          const body = await res.text();
          s.codes.set(res.status, (s.codes.get(res.status) ?? 0) + 1);
          error = !ok(route, res.status, body);
        } catch {
          error = true;
        }
        const t1 = performance.now();
        s.lat.push(t1 - t0);
        if (error) s.errors++;
        samples.push({ route, startMs: t0 - t00, latencyMs: t1 - t0, error });
      }
    }),
  );
  const secs = (Date.now() - start) / 1000;
  const rows: RouteRow[] = [...stats].map(([route, s]) => {
    const sorted = [...s.lat].sort((a, b) => a - b);
    return {
      route,
      requests: s.lat.length,
      'req/s': +(s.lat.length / secs).toFixed(1),
      'p50 ms': +quantile(sorted, 0.5).toFixed(1),
      'p99 ms': +quantile(sorted, 0.99).toFixed(1),
      errors: s.errors,
      'error %': s.lat.length ? +((100 * s.errors) / s.lat.length).toFixed(2) : 0,
      statuses: [...s.codes].map(([c, n]) => `${c}:${n}`).join(' '),
    };
  });
  log(`\nloadtest against ${base}: ${concurrency} concurrent clients, ${secs.toFixed(1)} s`);
  if (log === console.log) console.table(rows);
  fs.mkdirSync(path.dirname(chart), { recursive: true });
  fs.writeFileSync(chart, await renderPng(perSecond(samples), `loadtest against ${base}: ${concurrency} clients, ${secs.toFixed(1)} s`));
  log(`chart (throughput and p50/p99 latency per route, per second): ${chart}`);
  return { rows, samples };
}

async function main(): Promise<void> {
  const { rows } = await runLoadtest({
    base: gatewayUrl(),
    durationMs: Number(process.env.LOADTEST_DURATION ?? 20) * 1000,
    concurrency: Number(process.env.LOADTEST_CONCURRENCY ?? 16),
    chart: chartPath(),
  });
  const errors = rows.reduce((a, r) => a + r.errors, 0);
  process.exitCode = errors > 0 ? 1 : 0;
}

// the script when run (npm run loadtest), a library when a test imports it
if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) await main();

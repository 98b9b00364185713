/**
 * @cached hit vs the same query uncached, measured in interleaved rounds against one engine
 * (used by bench:cache and by bench:subscriptions' `cache` phase). One long run per side lets
 * load drift on a shared machine decide (two same-run baselines differed 2–3×); alternating short
 * rounds (uncached, cached, cached, uncached, …) expose both sides to the same drift, and the
 * per-round ratios show how stable the comparison is. Over HTTP with autocannon.
 */
import { createRequire } from 'node:module';

interface CannonResult { requests: { average: number; total: number }; latency: { p50: number; p99: number; average: number }; errors: number; non2xx: number }
const autocannon = createRequire(import.meta.url)('autocannon') as (opts: Record<string, unknown>) => Promise<CannonResult>;

export interface CacheRound { round: number; uncachedRps: number; cachedRps: number; uncachedP50: number; cachedP50: number; uncachedP99: number; cachedP99: number; errors: number }

export interface CacheComparison {
  rounds: CacheRound[];
  /** Printable summary lines (baseline first). */
  lines: string[];
}

const median = (xs: number[]) => {
  const v = [...xs].sort((x, y) => x - y);
  const m = v.length >> 1;
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
};

/**
 * `cachedQuery` carries `@cached`; `uncachedQuery` is the same operation without it. The cache
 * connects in the background (a query before that runs uncached), so the cached side is warmed
 * until a response carries `X-Hasura-Query-Cache-Key`.
 */
export async function cachedVsUncached(opts: {
  url: string;
  headers: Record<string, string>;
  variables: Record<string, unknown>;
  cachedQuery: string;
  uncachedQuery: string;
  rounds: number;
  durationS: number;
  connections: number;
}): Promise<CacheComparison> {
  const headers = { 'content-type': 'application/json', ...opts.headers };
  const body = (query: string) => JSON.stringify({ query, variables: opts.variables });
  for (let i = 0; ; i++) {
    const warm = await fetch(opts.url, { method: 'POST', headers, body: body(opts.cachedQuery) });
    if (warm.headers.get('x-hasura-query-cache-key')) break;
    if (i === 50) throw new Error(`not cached: ${await warm.text()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const run = async (query: string) => {
    const r = await autocannon({ url: opts.url, method: 'POST', headers, body: body(query), duration: opts.durationS, connections: opts.connections });
    return { rps: Math.round(r.requests.average), p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.non2xx };
  };
  // An unmeasured second of uncached requests first: JIT and pool warm-up must not count against the baseline.
  await autocannon({ url: opts.url, method: 'POST', headers, body: body(opts.uncachedQuery), duration: 1, connections: opts.connections });
  const rounds: CacheRound[] = [];
  for (let i = 1; i <= opts.rounds; i++) {
    // Alternate which side goes first, so neither always follows the other's after-effects.
    let a: Awaited<ReturnType<typeof run>>;
    let b: Awaited<ReturnType<typeof run>>;
    if (i % 2) {
      a = await run(opts.uncachedQuery);
      b = await run(opts.cachedQuery);
    } else {
      b = await run(opts.cachedQuery);
      a = await run(opts.uncachedQuery);
    }
    rounds.push({ round: i, uncachedRps: a.rps, cachedRps: b.rps, uncachedP50: a.p50, cachedP50: b.p50, uncachedP99: a.p99, cachedP99: b.p99, errors: a.errors + b.errors });
  }
  const med = (k: keyof CacheRound) => median(rounds.map((r) => r[k]));
  const ratios = rounds.map((r) => r.cachedRps / Math.max(r.uncachedRps, 1));
  return {
    rounds,
    lines: [
      `median uncached (baseline): ${med('uncachedRps')} req/s, p50 ${med('uncachedP50')} ms, p99 ${med('uncachedP99')} ms`,
      `median @cached hit:         ${med('cachedRps')} req/s, p50 ${med('cachedP50')} ms, p99 ${med('cachedP99')} ms`,
      `throughput ratio per round: ${ratios.map((x) => x.toFixed(2)).join(' ')} → median ${median(ratios).toFixed(2)}×; p50 ${(med('uncachedP50') / Math.max(med('cachedP50'), 0.001)).toFixed(1)}× lower; errors ${rounds.reduce((n, r) => n + r.errors, 0)}`,
    ],
  };
}

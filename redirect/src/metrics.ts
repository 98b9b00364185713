/**
 * The redirect service's metrics, on prom-client like every other process (common/src/telemetry).
 * The hot path only bumps integers in a plain object (`c`); prom-client reads them when /metrics is
 * scraped (each counter's `collect`), so a redirect pays no label hashing for its counters. The
 * request histogram is the one per-request cost: its label children are cached per
 * (method, route, status), so an observation is a Map lookup and a bucket increment.
 */
import client from 'prom-client';
import { LATENCY_BUCKETS, createRegistry, methodLabel, type Registry } from '@linkport/common';

const HELP = {
  redirects_total: 'Redirect responses sent (301/302/307/308).',
  not_found_total: 'Requests answered 404 (unknown, malformed or inactive codes).',
  gone_total: 'Requests answered 410 (expired or click limit reached).',
  password_prompts_total: 'Password interstitials shown.',
  password_failures_total: 'Wrong passwords submitted.',
  password_lockouts_total: 'Password attempts refused by the per-client or per-link limit (429).',
  password_limiter_fallbacks_total: 'Password attempts limited in memory because Redis was unavailable.',
  cache_hits_total: 'Link lookups answered by the in-process cache.',
  cache_misses_total: 'Link lookups that missed the in-process cache.',
  redis_hits_total: 'Link lookups answered by Redis.',
  redis_errors_total: 'Redis errors on the lookup path (PostgreSQL answered instead).',
  db_lookups_total: 'Link lookups that reached PostgreSQL.',
  db_errors_total: 'PostgreSQL errors on the lookup path.',
  stale_served_total: 'Lookups answered with an expired cached link because PostgreSQL was unreachable.',
  unavailable_total: 'Requests answered 503 because PostgreSQL was unreachable and nothing was cached.',
  invalidations_total: 'link_changed notifications applied.',
  clicks_sent_total: 'Clicks appended to the Redis stream (captured).',
  clicks_buffered_total: 'Clicks queued in memory because Redis was unavailable.',
  clicks_dropped_total: 'Clicks lost because the in-memory buffer was full (overflow).',
  clicks_unreplicated_total: 'Clicks re-sent because their shard master did not confirm CLICK_STREAM_MIN_REPLICAS replicas in time.',
  errors_total: 'Requests that failed with an unexpected error (answered 503).',
} as const;

export type Counter = keyof typeof HELP;

/** The route templates the redirect answers: bounded labels whatever the path. */
export type Route = '/:code' | '/:code+' | '/:code/qr.svg' | '/:code/qr.png' | '/health/live' | '/health/ready' | '/metrics' | '/favicon.ico' | '/robots.txt' | '';

export class Metrics {
  readonly c: Record<Counter, number>;
  readonly registry: Registry;
  private readonly byStatus = new Map<number, number>();
  private readonly duration: client.Histogram<'method' | 'route' | 'status_code'>;
  private readonly children = new Map<string, client.Histogram.Internal<'method' | 'route' | 'status_code'>>();

  constructor(opts: { prefix?: string; registry?: Registry } = {}) {
    const prefix = opts.prefix ?? 'linkport_redirect_';
    const registry = (this.registry = opts.registry ?? createRegistry());
    const c = (this.c = Object.fromEntries(Object.keys(HELP).map((k) => [k, 0])) as Record<Counter, number>);
    for (const k of Object.keys(HELP) as Counter[]) {
      new client.Counter({
        name: prefix + k,
        help: HELP[k],
        registers: [registry],
        collect() {
          this.reset();
          this.inc(c[k]);
        },
      });
    }
    const byStatus = this.byStatus;
    new client.Counter({
      name: `${prefix}redirects_by_status_total`,
      help: 'Redirect responses sent, by status (301/302/307/308).',
      labelNames: ['status'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [status, n] of byStatus) this.inc({ status: String(status) }, n);
      },
    });
    this.duration = new client.Histogram({
      name: 'http_server_request_duration_seconds',
      help: 'Time to answer a request (until the response is handed to the socket), by method, route template and status.',
      labelNames: ['method', 'route', 'status_code'] as const,
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });
  }

  redirected(status: number): void {
    this.c.redirects_total++;
    this.byStatus.set(status, (this.byStatus.get(status) ?? 0) + 1);
  }

  observe(method: string | undefined, route: Route, status: number, seconds: number): void {
    const key = `${method}|${route}|${status}`;
    let child = this.children.get(key);
    if (!child) {
      child = this.duration.labels({ method: methodLabel(method), route, status_code: String(status) });
      // Bounded already (methods × routes × statuses); the cap is a guard, not a policy.
      if (this.children.size < 1_000) this.children.set(key, child);
    }
    child.observe(seconds);
  }

  /** A gauge read at scrape time (values owned elsewhere: buffer size, connection states). */
  gauge(name: string, help: string, read: () => number | Promise<number>, prefix = 'linkport_redirect_'): void {
    new client.Gauge({
      name: prefix + name,
      help,
      registers: [this.registry],
      async collect() {
        this.set(await read());
      },
    });
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}

/**
 * Prometheus text exposition (format 0.0.4) without a client library: the hot path only bumps
 * integers in a plain object, and gauges are read when /metrics is scraped.
 */
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
  clicks_sent_total: 'Clicks appended to the Redis stream.',
  clicks_buffered_total: 'Clicks queued in memory because Redis was unavailable.',
  clicks_dropped_total: 'Clicks lost because the in-memory buffer was full.',
  errors_total: 'Requests that failed with an unexpected error (answered 503).',
} as const;

export type Counter = keyof typeof HELP;

export class Metrics {
  readonly c: Record<Counter, number>;
  private readonly gauges = new Map<string, { help: string; read: () => number }>();

  constructor(private readonly prefix = 'linkport_redirect_') {
    this.c = Object.fromEntries(Object.keys(HELP).map((k) => [k, 0])) as Record<Counter, number>;
  }

  gauge(name: string, help: string, read: () => number): void {
    this.gauges.set(name, { help, read });
  }

  render(): string {
    let out = '';
    for (const [k, v] of Object.entries(this.c)) {
      out += `# HELP ${this.prefix}${k} ${HELP[k as Counter]}\n# TYPE ${this.prefix}${k} counter\n${this.prefix}${k} ${v}\n`;
    }
    for (const [k, g] of this.gauges) {
      out += `# HELP ${this.prefix}${k} ${g.help}\n# TYPE ${this.prefix}${k} gauge\n${this.prefix}${k} ${g.read()}\n`;
    }
    return out;
  }
}

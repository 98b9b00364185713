import client from 'prom-client';
import type { Logger, Pool, Registry } from '@linkport/common';

/**
 * Reconciliation (issue 16 §1): every interval, links.rollup_mismatches (migration
 * 1764900000500_links_analytics) compares the rollups with the raw clicks over the last `windowHours`
 * whole UTC hours up to the next hour boundary, and the count of differing buckets per rollup is
 * exported. Raw rows and rollups are written by one statement, so anything but 0 means a bug or a
 * manual edit — `links.rebuild_rollups(from, to)` repairs it. The check reads the PostgreSQL
 * snapshot once per interval, never at scrape time (a scrape must stay cheap).
 */
export class RollupReconciler {
  private readonly mismatches: client.Gauge;
  private readonly checked: client.Gauge;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly pool: Pool,
    registry: Registry,
    private readonly log: Logger,
    private readonly opts: { intervalMs: number; windowHours: number },
  ) {
    const registers = [registry];
    this.mismatches = new client.Gauge({
      name: 'linkport_rollup_mismatches',
      help: 'Rollup buckets whose clicks differ from the raw clicks at the last reconciliation (want 0), by rollup table.',
      labelNames: ['rollup'],
      registers,
    });
    this.checked = new client.Gauge({
      name: 'linkport_rollup_reconciled_timestamp_seconds',
      help: 'When the last reconciliation of rollups against raw clicks completed.',
      registers,
    });
  }

  start(): void {
    const tick = () => {
      this.running ??= this.check()
        .then(() => undefined)
        .catch((err: unknown) => this.log.warn({ err }, 'rollup reconciliation failed'))
        .finally(() => (this.running = undefined));
    };
    tick();
    this.timer = setInterval(tick, this.opts.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** Runs one check and returns the mismatched buckets per rollup (also set on the gauge). */
  async check(): Promise<Record<string, number>> {
    const { rows } = await this.pool.query<{ rollup: string; n: string }>(
      `SELECT r.rollup, count(m.rollup) AS n
         FROM unnest(ARRAY['hourly_stats', 'account_hourly_stats', 'account_daily_stats', 'daily_stats']) AS r(rollup)
         LEFT JOIN links.rollup_mismatches(date_trunc('hour', now()) - make_interval(hours => $1), date_trunc('hour', now()) + interval '1 hour') m
           ON m.rollup = r.rollup
        GROUP BY r.rollup`,
      [this.opts.windowHours],
    );
    const out: Record<string, number> = {};
    for (const r of rows) {
      out[r.rollup] = Number(r.n);
      this.mismatches.set({ rollup: r.rollup }, Number(r.n));
      if (Number(r.n) > 0) this.log.error({ rollup: r.rollup, buckets: Number(r.n) }, 'rollups differ from raw clicks; run links.rebuild_rollups');
    }
    this.checked.set(Date.now() / 1000);
    return out;
  }
}

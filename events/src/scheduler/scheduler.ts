import type { Logger, Pool, PoolClient } from '@linkport/common';
import type { Clock } from '../clock.ts';

export interface Job {
  name: string;
  everyMs: number;
  /** Idempotent: running it twice, or after a crash mid-way, leaves the same state. */
  run(now: Date): Promise<Record<string, unknown>>;
}

export interface JobOutcome {
  job: string;
  outcome: 'ok' | 'error';
  durationMs: number;
  result?: Record<string, unknown>;
  error?: string;
}

/** pg_advisory_lock key of the events scheduler (an arbitrary constant: 'lpevents' in ASCII). */
export const SCHEDULER_LOCK_KEY = 0x6c706576656e7473n;

/**
 * A single-leader scheduler inside the events process. Why not cron triggers: the jobs are SQL
 * against our own tables (no webhook hop to add a failure point), the engine's cron triggers are
 * being built separately, and real Hasura's cron triggers would call back into this same process.
 *
 * Leadership: a session-level pg_try_advisory_lock held on one dedicated connection — if the
 * leader dies (even kill -9) its connection closes and PostgreSQL releases the lock.
 * Each job slot is then claimed by a conditional UPDATE of `webhooks.job_runs.next_run_at`, so even
 * two leaders for a moment (a lock connection lost while its job still runs) run a slot once.
 */
export class Scheduler {
  private lockClient: PoolClient | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private prepared = false;

  constructor(
    private readonly pool: Pool,
    private readonly jobs: Job[],
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly opts: { runner: string; tickMs: number; onOutcome?: (o: JobOutcome) => void },
  ) {}

  get isLeader(): boolean {
    return this.lockClient !== undefined;
  }

  start(): void {
    const loop = () => {
      this.ticking = this.tick()
        .catch((err: unknown) => this.log.warn({ err }, 'scheduler tick failed'))
        .then(() => {
          if (this.timer !== undefined) this.timer = setTimeout(loop, this.opts.tickMs);
        });
    };
    this.timer = setTimeout(loop, 0);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.ticking;
    await this.resign();
  }

  /** One round: take or keep leadership, then run every due job. Returns what ran. */
  async tick(): Promise<JobOutcome[]> {
    if (!(await this.lead())) return [];
    if (!this.prepared) {
      await this.pool.query(`INSERT INTO webhooks.job_runs (job) SELECT unnest($1::text[]) ON CONFLICT (job) DO NOTHING`, [this.jobs.map((j) => j.name)]);
      this.prepared = true;
    }
    const out: JobOutcome[] = [];
    for (const job of this.jobs) {
      const now = this.clock.now();
      const claimed = await this.pool.query(
        `UPDATE webhooks.job_runs SET next_run_at = $2, last_started_at = $3, last_runner = $4
          WHERE job = $1 AND next_run_at <= $3`,
        [job.name, new Date(now.getTime() + job.everyMs), now, this.opts.runner],
      );
      if ((claimed.rowCount ?? 0) === 0) continue;
      const started = performance.now();
      let o: JobOutcome;
      try {
        const result = await job.run(now);
        o = { job: job.name, outcome: 'ok', durationMs: Math.round(performance.now() - started), result };
      } catch (err) {
        o = { job: job.name, outcome: 'error', durationMs: Math.round(performance.now() - started), error: (err as Error).message };
        this.log.error({ err, job: job.name }, 'scheduled job failed');
      }
      await this.pool.query(
        `UPDATE webhooks.job_runs SET runs = runs + 1, last_finished_at = $2, last_duration_ms = $3, last_outcome = $4,
                last_error = $5, last_result = $6 WHERE job = $1`,
        [job.name, this.clock.now(), o.durationMs, o.outcome, o.error ?? null, o.result ? JSON.stringify(o.result) : null],
      );
      this.opts.onOutcome?.(o);
      out.push(o);
    }
    return out;
  }

  private async lead(): Promise<boolean> {
    if (this.lockClient) {
      try {
        await this.lockClient.query('SELECT 1');
        return true;
      } catch {
        // The connection (and with it the lock) is gone: stand down and try again.
        await this.resign();
      }
    }
    const c = await this.pool.connect();
    try {
      const { rows } = await c.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [SCHEDULER_LOCK_KEY.toString()]);
      if (rows[0]?.ok) {
        this.lockClient = c;
        this.log.info({ runner: this.opts.runner }, 'scheduler leadership taken');
        return true;
      }
      c.release();
      return false;
    } catch (err) {
      c.release(err as Error);
      throw err;
    }
  }

  private async resign(): Promise<void> {
    const c = this.lockClient;
    this.lockClient = undefined;
    if (!c) return;
    // Unlock first: a destroyed connection releases the session lock only when its backend has
    // exited, which happens after the socket closes — a replica asking straight after a stop could
    // still find the lock held (a CI flake of events/test/scheduler.test.ts). Destroying the
    // connection after that releases it whatever state it is in, if the unlock could not run.
    try {
      await c.query('SELECT pg_advisory_unlock($1)', [SCHEDULER_LOCK_KEY.toString()]);
    } catch {
      // the connection is gone, and with it the lock
    }
    c.release(true);
  }
}

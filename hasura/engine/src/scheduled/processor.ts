/**
 * Cron triggers and one-off scheduled events, delivered as Hasura does (upstream
 * Eventing/ScheduledTrigger.hs; "Note [Scheduled event lifecycle]": scheduled → locked →
 * delivered | scheduled (retry) | error | dead):
 *
 * - Generation: a cron trigger with fewer than 100 upcoming events gets the next 100 after its
 *   latest one (or after now), inserted `ON CONFLICT (trigger_name, scheduled_time) WHERE status =
 *   'scheduled' DO NOTHING`, so replicas generating at once add each time once.
 * - Delivery: due events are taken with `UPDATE ... SET status = 'locked' WHERE id IN (SELECT ...
 *   FOR UPDATE SKIP LOCKED)`; an event later than tolerance_seconds past its time is `dead`, not
 *   sent; the webhook gets `{id, name?, scheduled_time, payload, comment?, created_at?}`; each try
 *   is an invocation log row and `tries + 1`; failures retry after Retry-After or
 *   retry_interval_seconds while tries < num_retries, else `error`.
 * - stop(): no new fetches; in-flight deliveries get the grace period, then their events go back to
 *   `scheduled` (`unlockScheduledEventsTx`).
 *
 * The tables live in the engine's database (Hasura keeps them in the metadata database; the two
 * are the same database in every Linkport deployment).
 */
import type pg from 'pg';
import type { FastifyBaseLogger } from 'fastify';
import type { Metadata } from '../contract.ts';
import { identifier, run, sql, value } from '../sql/sql.ts';
import { ConfigError, postWebhook, resolveHeaders, resolveWebhook, storedTransforms, type Env, type Transforms, type WebhookOutcome } from '../events/http.ts';
import type { EventMetrics } from '../events/metrics.ts';
import { retryDecision, withRetries, Slots, type EventsConfig } from '../events/processor.ts';
import type { HeaderConf } from '../events/model.ts';
import { cronTriggers, DEFAULT_ST_RETRY, nextTimes, type CronTrigger, type STRetryConf } from './model.ts';

/** Upstream keeps 100 cron events ahead of each trigger. */
const CRON_AHEAD = 100;

type Kind = 'cron' | 'one_off';

interface ScheduledRow {
  id: string;
  trigger_name?: string;
  scheduled_time: string;
  tries: number;
  created_at: string;
  /**
   * The times as Aeson prints a UTCTime, microseconds kept (PostgreSQL's JSON text of the UTC
   * timestamp + `Z`): upstream test_scheduled_events compares created_at with the row's to the
   * microsecond, which a JavaScript Date (milliseconds) cannot carry.
   */
  scheduled_utc?: string | null;
  created_utc?: string | null;
  webhook_conf?: unknown;
  retry_conf?: Partial<STRetryConf> | null;
  payload?: unknown;
  header_conf?: HeaderConf[] | null;
  comment?: string | null;
}

const table = (k: Kind) => identifier('hdb_catalog', k === 'cron' ? 'hdb_cron_events' : 'hdb_scheduled_events');
const logTable = (k: Kind) => identifier('hdb_catalog', k === 'cron' ? 'hdb_cron_event_invocation_logs' : 'hdb_scheduled_event_invocation_logs');

export const scheduledSql = {
  upcoming: (names: string[], now: Date) => sql`
    SELECT t.trigger_name, (extract(epoch FROM coalesce(q.max_scheduled_time, ${value(now)}::timestamptz)) * 1000)::float8 AS from_ms
      FROM (SELECT unnest(${value(names)}::text[]) AS trigger_name) AS t
      LEFT JOIN (SELECT trigger_name, count(1) AS upcoming_events_count, max(scheduled_time) AS max_scheduled_time
                   FROM hdb_catalog.hdb_cron_events WHERE tries = 0 AND status = 'scheduled' GROUP BY trigger_name) AS q
        ON t.trigger_name = q.trigger_name
     WHERE coalesce(q.upcoming_events_count, 0) < ${value(CRON_AHEAD)}`,
  insertCron: (names: string[], times: Date[]) => sql`
    INSERT INTO hdb_catalog.hdb_cron_events (trigger_name, scheduled_time)
    SELECT * FROM unnest(${value(names)}::text[], ${value(times)}::timestamptz[])
    ON CONFLICT (trigger_name, scheduled_time) WHERE status = 'scheduled' DO NOTHING`,
  /** Future, untried events of these cron triggers (`dropFutureCronEventsTx`): on replace and delete. */
  dropFuture: (names: string[]) => sql`
    DELETE FROM hdb_catalog.hdb_cron_events WHERE trigger_name = ANY(${value(names)}::text[]) AND status = 'scheduled' AND tries = 0`,
  fetch: (k: Kind, now: Date, names: string[]) => sql`
    WITH cte AS (
      UPDATE ${table(k)} SET status = 'locked'
       WHERE id IN (SELECT t.id FROM ${table(k)} t
                     WHERE t.status = 'scheduled'
                       AND ((t.next_retry_at IS NULL AND t.scheduled_time <= ${value(now)}::timestamptz)
                         OR (t.next_retry_at IS NOT NULL AND t.next_retry_at <= ${value(now)}::timestamptz))
                       ${k === 'cron' ? sql`AND t.trigger_name = ANY(${value(names)}::text[])` : sql``}
                     FOR UPDATE SKIP LOCKED)
      RETURNING *)
    SELECT row_to_json(t.*) AS row,
           to_json(timezone('utc', t.scheduled_time))#>>'{}' AS scheduled_utc,
           to_json(timezone('utc', t.created_at))#>>'{}' AS created_utc
      FROM cte AS t`,
  record: (k: Kind, id: string, o: WebhookOutcome, status: 'delivered' | 'error' | 'scheduled', retryAt: Date | null) => sql`
    WITH inv AS (
      INSERT INTO ${logTable(k)} (event_id, status, request, response)
      VALUES (${value(id)}, ${value(o.status ?? null)}, ${value(JSON.stringify(o.request))}::json, ${value(JSON.stringify(o.response))}::json))
    UPDATE ${table(k)} SET tries = tries + 1, status = ${value(status)}, next_retry_at = coalesce(${value(retryAt)}::timestamptz, next_retry_at)
     WHERE id = ${value(id)}`,
  dead: (k: Kind, id: string) => sql`UPDATE ${table(k)} SET status = 'dead' WHERE id = ${value(id)}`,
  unlock: (k: Kind, ids: string[]) => sql`UPDATE ${table(k)} SET status = 'scheduled' WHERE id = ANY(${value(ids)}::text[]) AND status = 'locked'`,
};

/** Aeson's UTCTime: ISO 8601 with `Z`, fractional seconds only when there are some. */
export function utcText(d: Date): string {
  return d.toISOString().replace('.000Z', 'Z');
}

export interface ScheduledDeps {
  pool: pg.Pool;
  metadata: () => Metadata;
  version: () => number;
  env: Env;
  log: FastifyBaseLogger;
  config: EventsConfig;
  slots: Slots;
  metrics?: EventMetrics | undefined;
  now?: () => Date;
}

export class ScheduledProcessor {
  private readonly deps: ScheduledDeps;
  private readonly now: () => Date;
  private crons = new Map<string, CronTrigger>();
  private seenVersion = -1;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private readonly inflight = new Map<string, { kind: Kind; done: Promise<void>; abort: AbortController }>();

  constructor(deps: ScheduledDeps) {
    this.deps = deps;
    this.now = deps.now ?? (() => new Date());
  }

  start(): void {
    if (!this.loop) this.loop = this.run();
  }

  private refresh(): void {
    const v = this.deps.version();
    if (v === this.seenVersion) return;
    this.seenVersion = v;
    this.crons = new Map(cronTriggers(this.deps.metadata()).map((c) => [c.name, c]));
  }

  /** Tops up each cron trigger's upcoming events. Returns how many times were inserted (attempted). */
  async generate(): Promise<number> {
    this.refresh();
    const names = [...this.crons.keys()];
    if (names.length === 0) return 0;
    const { rows } = await run<{ trigger_name: string; from_ms: number }>(this.deps.pool, scheduledSql.upcoming(names, this.now()));
    const outNames: string[] = [];
    const outTimes: Date[] = [];
    for (const r of rows) {
      const c = this.crons.get(r.trigger_name);
      if (!c) continue;
      for (const t of nextTimes(c.schedule, new Date(r.from_ms), CRON_AHEAD)) {
        outNames.push(c.name);
        outTimes.push(t);
      }
    }
    if (outNames.length) await run(this.deps.pool, scheduledSql.insertCron(outNames, outTimes));
    return outNames.length;
  }

  /** One round: generate, then take and dispatch what is due. Returns the events taken. */
  async tick(): Promise<number> {
    if (this.stopping) return 0;
    await this.generate();
    let taken = 0;
    for (const kind of ['cron', 'one_off'] as const) {
      const names = [...this.crons.keys()];
      if (kind === 'cron' && names.length === 0) continue;
      const { rows } = await run<{ row: ScheduledRow; scheduled_utc: string | null; created_utc: string | null }>(this.deps.pool, scheduledSql.fetch(kind, this.now(), names));
      for (const { row, scheduled_utc, created_utc } of rows) this.dispatch(kind, { ...row, scheduled_utc, created_utc });
      taken += rows.length;
    }
    return taken;
  }

  async idle(): Promise<void> {
    while (this.inflight.size) await Promise.all([...this.inflight.values()].map((x) => x.done));
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      try {
        await this.tick();
      } catch (err) {
        this.deps.log.warn({ err: (err as Error).message }, 'scheduled event fetch failed; retrying');
      }
      if (this.stopping) break;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.timer = setTimeout(resolve, this.deps.config.scheduledFetchIntervalMs);
      });
    }
  }

  private dispatch(kind: Kind, row: ScheduledRow): void {
    const abort = new AbortController();
    // Scheduled events are not bounded by the batch (upstream takes every due one); the shared
    // slots only count them, so event-trigger fetches leave room for them.
    this.deps.slots.take();
    this.deps.metrics?.httpWorkers.inc();
    const done = this.process(kind, row, abort.signal)
      .catch((err: unknown) => this.deps.log.error({ err: (err as Error).message, event_id: row.id }, 'scheduled event could not be recorded'))
      .finally(() => {
        this.deps.slots.give();
        this.deps.metrics?.httpWorkers.dec();
        this.inflight.delete(row.id);
      });
    this.inflight.set(row.id, { kind, done, abort });
  }

  private async process(kind: Kind, row: ScheduledRow, signal: AbortSignal): Promise<void> {
    const scheduled = new Date(row.scheduled_time);
    let target: { webhook: string; headers: HeaderConf[] | undefined; retry: STRetryConf; payload: unknown; comment: string | null | undefined; transforms?: Transforms | ConfigError };
    if (kind === 'cron') {
      const c = this.crons.get(row.trigger_name ?? '');
      if (!c) {
        // The trigger left the metadata after this event was taken: nothing to send it to.
        await run(this.deps.pool, scheduledSql.dead(kind, row.id));
        return;
      }
      target = { webhook: c.webhook, headers: c.headers, retry: { ...DEFAULT_ST_RETRY, ...c.retry_conf }, payload: c.payload ?? null, comment: c.comment, transforms: storedTransforms(c) };
    } else {
      target = {
        webhook: typeof row.webhook_conf === 'string' ? row.webhook_conf : '',
        headers: row.header_conf ?? undefined,
        retry: { ...DEFAULT_ST_RETRY, ...(row.retry_conf ?? {}) },
        payload: row.payload ?? null,
        comment: row.comment,
      };
    }
    const now = this.now();
    if ((now.getTime() - scheduled.getTime()) / 1000 > target.retry.tolerance_seconds) {
      await run(this.deps.pool, scheduledSql.dead(kind, row.id));
      this.deps.metrics?.scheduledProcessed.inc({ type: kind, status: 'dead' });
      return;
    }
    const payload: Record<string, unknown> = { id: row.id };
    if (kind === 'cron') payload.name = row.trigger_name;
    payload.scheduled_time = row.scheduled_utc ? `${row.scheduled_utc}Z` : utcText(scheduled);
    payload.payload = target.payload;
    if (typeof target.comment === 'string') payload.comment = target.comment;
    if (kind === 'one_off') payload.created_at = row.created_utc ? `${row.created_utc}Z` : utcText(new Date(row.created_at));
    let outcome: WebhookOutcome;
    try {
      const url = resolveWebhook({ webhook: target.webhook }, this.deps.env);
      const headers = resolveHeaders(target.headers, this.deps.env);
      if (target.transforms instanceof ConfigError) throw target.transforms;
      outcome = await postWebhook({ url, payload, headers, headerConf: target.headers, timeoutMs: target.retry.timeout_seconds * 1000, version: '1', signal, ...(target.transforms ? { transforms: target.transforms } : {}) });
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      outcome = { status: 500, ok: false, retryAfterSeconds: undefined, request: { payload, headers: [], version: '1' }, response: { type: 'client_error', data: { message: err.message }, version: '1' }, error: err.message };
    }
    if (signal.aborted) return;
    const retryAt = outcome.ok || outcome.transformFailed ? null : retryDecision(row.tries, target.retry.num_retries, target.retry.retry_interval_seconds, outcome.retryAfterSeconds, this.now());
    const status = outcome.ok ? 'delivered' : retryAt ? 'scheduled' : 'error';
    await withRetries(() => run(this.deps.pool, scheduledSql.record(kind, row.id, outcome, status, retryAt)));
    if (status !== 'scheduled') this.deps.metrics?.scheduledProcessed.inc({ type: kind, status: outcome.ok ? 'success' : 'failed' });
  }

  async stop(graceMs = this.deps.config.gracefulShutdownMs): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    this.wake?.();
    await this.loop?.catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      this.idle().then(() => true),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), graceMs);
      }),
    ]);
    clearTimeout(timer);
    if (finished) return;
    const byKind: Record<Kind, string[]> = { cron: [], one_off: [] };
    for (const [id, x] of this.inflight) {
      byKind[x.kind].push(id);
      x.abort.abort();
    }
    await Promise.all([...this.inflight.values()].map((x) => x.done));
    for (const kind of ['cron', 'one_off'] as const) {
      if (byKind[kind].length) await run(this.deps.pool, scheduledSql.unlock(kind, byKind[kind])).catch(() => undefined);
    }
  }
}

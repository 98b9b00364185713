/**
 * The event-trigger delivery processor, in the engine process as in Hasura (upstream
 * Eventing/EventTrigger.hs `processEventQueue`/`processEvent`, Backends/Postgres/DDL/
 * EventTrigger.hs for the SQL):
 *
 * - Every HASURA_GRAPHQL_EVENTS_FETCH_INTERVAL it locks up to HASURA_GRAPHQL_EVENTS_FETCH_BATCH_SIZE
 *   pending events of the triggers in the metadata with `UPDATE ... SET locked = NOW() WHERE id IN
 *   (SELECT ... FOR UPDATE SKIP LOCKED)`, so several engines on one database never take the same
 *   event; a full batch is followed by another fetch at once. At most
 *   HASURA_GRAPHQL_EVENTS_HTTP_POOL_SIZE deliveries run at a time.
 * - A lock older than 30 minutes (Hasura's `interval '30 minute'`; ENGINE_EVENTS_STALE_LOCK_SECONDS)
 *   counts as abandoned — the engine holding it died mid-delivery — so the event is fetched again:
 *   delivery is at least once.
 * - Each attempt is one invocation log row and `tries + 1`; 2xx marks the event delivered;
 *   otherwise `retryOrSetError`: while tries < num_retries, or whenever the webhook sent a
 *   positive integer `Retry-After` (Hasura retries then even past num_retries), it is retried after
 *   Retry-After or interval_sec; else it is marked error. The log row and the state change are one
 *   statement, so a crash never leaves one without the other.
 * - An event whose trigger is no longer in the metadata is put back for 60 s (as upstream does).
 * - stop(): no new fetches; in-flight deliveries get `graceMs` to finish
 *   (HASURA_GRAPHQL_GRACEFUL_SHUTDOWN_TIMEOUT), then are abandoned and their events unlocked
 *   (`unlockEventsTx`) for another engine to deliver.
 *
 * Time: `now()` decides next_retry_at and when a retry is due (one clock for both; tests control it).
 */
import type pg from 'pg';
import type { FastifyBaseLogger } from 'fastify';
import type { Metadata } from '../contract.ts';
import { run, sql, value } from '../sql/sql.ts';
import { ConfigError, postWebhook, resolveHeaders, resolveWebhook, storedTransforms, type Env, type Transforms, type WebhookOutcome } from './http.ts';
import { allTriggers, DEFAULT_RETRY, type EventTriggerConf } from './model.ts';
import type { EventMetrics } from './metrics.ts';
import { runCleanups, type CleanupResult } from './cleanup.ts';

/** How often the loop looks for due log cleanups (their schedules are cron, minute resolution). */
const CLEANUP_EVERY_MS = 60_000;

export interface EventsConfig {
  httpPoolSize: number;
  fetchIntervalMs: number;
  fetchBatchSize: number;
  staleLockSeconds: number;
  gracefulShutdownMs: number;
  /** One-off scheduled events and cron events are fetched this often. */
  scheduledFetchIntervalMs: number;
}

export const defaultEventsConfig: EventsConfig = {
  httpPoolSize: 100,
  fetchIntervalMs: 1000,
  fetchBatchSize: 100,
  staleLockSeconds: 30 * 60,
  gracefulShutdownMs: 3_000,
  scheduledFetchIntervalMs: 10_000,
};

interface EventRow {
  id: string;
  schema_name: string;
  table_name: string;
  trigger_name: string;
  payload: Record<string, unknown>;
  tries: number;
  created_at: string;
  created_ms: number;
  retry_ms: number | null;
}

/** Bounded concurrency shared by the event and scheduled processors (the HTTP pool). */
export class Slots {
  private used = 0;
  private waiters: Array<{ n: number; resolve: () => void }> = [];
  constructor(readonly size: number) {}
  get free(): number {
    return this.size - this.used;
  }
  take(): void {
    this.used++;
  }
  give(): void {
    this.used--;
    for (const w of this.waiters.filter((x) => this.free >= x.n)) {
      this.waiters.splice(this.waiters.indexOf(w), 1);
      w.resolve();
    }
  }
  /** Resolves when at least `n` slots are free (at once if they are). */
  whenFree(n: number): Promise<void> {
    if (this.free >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }
}

export interface ProcessorDeps {
  pool: pg.Pool;
  /** The live metadata; read again only when `version()` changes. */
  metadata: () => Metadata;
  version: () => number;
  env: Env;
  log: FastifyBaseLogger;
  config: EventsConfig;
  metrics?: EventMetrics | undefined;
  now?: () => Date;
  slots?: Slots;
}

const sqls = {
  /** fetchEvents, with next_retry_at compared to the processor's clock. */
  fetch: (names: string[], limit: number, now: Date, staleSeconds: number) => sql`
    UPDATE hdb_catalog.event_log SET locked = NOW()
     WHERE id IN (SELECT l.id FROM hdb_catalog.event_log l
                   WHERE l.delivered = 'f' AND l.error = 'f'
                     AND (l.locked IS NULL OR l.locked < NOW() - make_interval(secs => ${value(staleSeconds)}))
                     AND (l.next_retry_at IS NULL OR l.next_retry_at <= ${value(now)}::timestamptz)
                     AND l.archived = 'f'
                     AND l.trigger_name = ANY(${value(names)}::text[])
                   ORDER BY locked NULLS FIRST, next_retry_at NULLS FIRST, created_at
                   LIMIT ${value(limit)}
                   FOR UPDATE SKIP LOCKED)
    RETURNING id, schema_name, table_name, trigger_name, payload::json AS payload, tries,
      to_json(created_at)#>>'{}' AS created_at,
      (extract(epoch FROM created_at::timestamptz) * 1000)::float8 AS created_ms,
      (extract(epoch FROM next_retry_at::timestamptz) * 1000)::float8 AS retry_ms`,
  /**
   * insertInvocation + setSuccess/setRetry/setError for a batch of finished attempts, as one
   * statement (several deliveries finish while one round trip is under way).
   */
  record: (batch: Outcome[]) => sql`
    WITH input AS (
      SELECT * FROM unnest(${value(batch.map((b) => b.id))}::text[], ${value(batch.map((b) => b.trigger))}::text[], ${value(batch.map((b) => b.status))}::int[],
                           ${value(batch.map((b) => b.request))}::json[], ${value(batch.map((b) => b.response))}::json[], ${value(batch.map((b) => b.delivered))}::bool[],
                           ${value(batch.map((b) => b.error))}::bool[], ${value(batch.map((b) => b.retryAt))}::timestamptz[])
        AS x(id, trigger_name, status, request, response, delivered, error, retry_at)),
    inv AS (
      INSERT INTO hdb_catalog.event_invocation_logs (event_id, trigger_name, status, request, response)
      SELECT id, trigger_name, status, request, response FROM input)
    UPDATE hdb_catalog.event_log l
       SET tries = l.tries + 1, delivered = i.delivered, error = i.error, next_retry_at = i.retry_at, locked = NULL
      FROM input i WHERE l.id = i.id`,
  retryLater: (id: string, at: Date) => sql`UPDATE hdb_catalog.event_log SET next_retry_at = ${value(at)}::timestamptz, locked = NULL WHERE id = ${value(id)}`,
  unlock: (ids: string[]) => sql`UPDATE hdb_catalog.event_log SET locked = NULL WHERE id = ANY(${value(ids)}::text[]) AND locked IS NOT NULL`,
};

/** One finished attempt, as recorded. */
interface Outcome {
  id: string;
  trigger: string;
  status: number | null;
  request: string;
  response: string;
  delivered: boolean;
  error: boolean;
  retryAt: Date | null;
}

/**
 * Records finished attempts in batches: one statement at a time, taking every outcome queued
 * meanwhile; each caller's promise settles when its own row is written.
 */
class Recorder {
  private queue: Array<{ o: Outcome; done: (err?: unknown) => void }> = [];
  private flushing = false;
  constructor(private readonly pool: pg.Pool) {}

  record(o: Outcome): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ o, done: (err) => (err === undefined ? resolve() : reject(err)) });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    while (this.queue.length) {
      const batch = this.queue.splice(0, 500);
      try {
        await withRetries(() => run(this.pool, sqls.record(batch.map((x) => x.o))));
        for (const x of batch) x.done();
      } catch (err) {
        for (const x of batch) x.done(err);
      }
    }
    this.flushing = false;
  }
}

/** The decision `retryOrSetError` makes after a failed attempt. */
export function retryDecision(tries: number, numRetries: number, intervalSec: number, retryAfter: number | undefined, now: Date): Date | null {
  if (tries >= numRetries && retryAfter === undefined) return null;
  return new Date(now.getTime() + (retryAfter ?? intervalSec) * 1000);
}

/**
 * Recording an outcome survives a short database outage: a delivered event that cannot be marked
 * so would stay locked until the stale-lock timeout and be sent again. A few tries, then the caller
 * logs and leaves it to that timeout (at-least-once either way).
 */
export async function withRetries<T>(fn: () => Promise<T>, delaysMs: readonly number[] = [100, 500, 2000, 5000, 10_000]): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (err) {
      const delay = delaysMs[i];
      if (delay === undefined) throw err;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

export class EventProcessor {
  private readonly deps: ProcessorDeps;
  private readonly now: () => Date;
  private readonly slots: Slots;
  private triggers = new Map<string, EventTriggerConf>();
  private transforms = new Map<string, Transforms | ConfigError>();
  private seenVersion = -1;
  private lastCleanup = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private readonly inflight = new Map<string, { done: Promise<void>; abort: AbortController }>();
  private readonly recorder: Recorder;

  constructor(deps: ProcessorDeps) {
    this.deps = deps;
    this.recorder = new Recorder(deps.pool);
    this.now = deps.now ?? (() => new Date());
    this.slots = deps.slots ?? new Slots(deps.config.httpPoolSize);
  }

  start(): void {
    if (this.loop) return;
    this.loop = this.run();
  }

  /** Runs one fetch-and-dispatch round now (tests; `start` runs them on the interval). Returns the events taken. */
  async tick(): Promise<number> {
    return (await this.round()).taken;
  }

  private async round(): Promise<{ taken: number; asked: number }> {
    this.refreshTriggers();
    const names = [...this.triggers.keys()];
    const asked = Math.min(this.slots.free, this.deps.config.fetchBatchSize);
    if (names.length === 0 || asked <= 0 || this.stopping) return { taken: 0, asked };
    const { rows } = await run<EventRow>(this.deps.pool, sqls.fetch(names, asked, this.now(), this.deps.config.staleLockSeconds));
    for (const e of rows) this.dispatch(e);
    return { taken: rows.length, asked };
  }

  /** Resolves when every delivery started so far has been recorded. */
  async idle(): Promise<void> {
    while (this.inflight.size) await Promise.all([...this.inflight.values()].map((x) => x.done));
  }

  get inFlight(): number {
    return this.inflight.size;
  }

  private refreshTriggers(): void {
    const v = this.deps.version();
    if (v === this.seenVersion) return;
    this.seenVersion = v;
    const map = new Map<string, EventTriggerConf>();
    for (const t of allTriggers(this.deps.metadata())) map.set(t.conf.name, t.conf);
    this.triggers = map;
    this.transforms = new Map([...map].map(([name, conf]) => [name, storedTransforms(conf)]));
  }

  /** Due log cleanups (cleanup_config) run now; `run` does this once a minute. */
  async cleanup(): Promise<CleanupResult[]> {
    this.refreshTriggers();
    return runCleanups(this.deps.pool, [...this.triggers.values()], this.now());
  }

  private async run(): Promise<void> {
    // As processEventQueue: a full fetch means more are waiting, so the next fetch comes as soon
    // as delivery slots free up (half a batch, to keep fetches few); a short one means the queue
    // is drained and the loop sleeps HASURA_GRAPHQL_EVENTS_FETCH_INTERVAL.
    const refill = Math.max(1, Math.floor(Math.min(this.deps.config.fetchBatchSize, this.slots.size) / 2));
    while (!this.stopping) {
      let more = false;
      try {
        const { taken, asked } = await this.round();
        more = taken > 0 && taken === asked;
      } catch (err) {
        // The database is away: try again next interval (the fetch is idempotent).
        this.deps.log.warn({ err: (err as Error).message }, 'event trigger fetch failed; retrying');
      }
      if (this.stopping) break;
      if (Date.now() - this.lastCleanup >= CLEANUP_EVERY_MS) {
        this.lastCleanup = Date.now();
        await this.cleanup().catch((err: unknown) => this.deps.log.warn({ err: (err as Error).message }, 'event log cleanup failed; retrying next minute'));
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        if (more) void this.slots.whenFree(refill).then(resolve);
        else this.timer = setTimeout(resolve, this.deps.config.fetchIntervalMs);
      });
    }
  }

  private dispatch(e: EventRow): void {
    const abort = new AbortController();
    this.slots.take();
    this.deps.metrics?.httpWorkers.inc();
    const done = this.process(e, abort.signal)
      .catch((err: unknown) => {
        this.deps.log.error({ err: (err as Error).message, event_id: e.id }, 'event trigger delivery could not be recorded; the event stays locked until the stale-lock timeout');
      })
      .finally(() => {
        this.slots.give();
        this.deps.metrics?.httpWorkers.dec();
        this.inflight.delete(e.id);
      });
    this.inflight.set(e.id, { done, abort });
  }

  private async process(e: EventRow, signal: AbortSignal): Promise<void> {
    const conf = this.triggers.get(e.trigger_name);
    if (!conf) {
      this.deps.log.warn({ trigger: e.trigger_name, event_id: e.id }, 'event trigger not found in the metadata; retrying in 60 s');
      await run(this.deps.pool, sqls.retryLater(e.id, new Date(this.now().getTime() + 60_000)));
      return;
    }
    const retry = { ...DEFAULT_RETRY, ...conf.retry_conf };
    // EventPayload's fields in their declared order (genericToJSON): id, table, trigger, event,
    // delivery_info {current_retry, max_retries}, created_at (the row's LocalTime, no zone).
    const payload = {
      id: e.id,
      table: { schema: e.schema_name, name: e.table_name },
      trigger: { name: conf.name },
      event: e.payload,
      delivery_info: { current_retry: e.tries, max_retries: retry.num_retries },
      created_at: e.created_at,
    };
    const started = Date.now();
    let outcome: WebhookOutcome;
    try {
      const url = resolveWebhook(conf, this.deps.env);
      const headers = resolveHeaders(conf.headers, this.deps.env);
      const transforms = this.transforms.get(conf.name) ?? {};
      if (transforms instanceof ConfigError) throw transforms;
      // mkRequest: the session variables the templates see are the event's.
      const session = (e.payload as { session_variables?: Record<string, string> | null }).session_variables ?? undefined;
      outcome = await postWebhook({ url, payload, headers, headerConf: conf.headers, timeoutMs: retry.timeout_sec * 1000, version: '2', signal, transforms: { ...transforms, session } });
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      // HOther: recorded with status 500, as upstream does for a failure that is not HTTP.
      outcome = { status: 500, ok: false, retryAfterSeconds: undefined, request: { payload, headers: [], version: '2' }, response: { type: 'client_error', data: { message: err.message }, version: '2' }, error: err.message };
    }
    if (signal.aborted) return; // shutting down: stop() unlocks the event for another engine
    const now = this.now();
    // A failed request transform is an error at once (processEventQueue's TransformationError → PESetError).
    const retryAt = outcome.ok || outcome.transformFailed ? null : retryDecision(e.tries, retry.num_retries, retry.interval_sec, outcome.retryAfterSeconds, now);
    await this.recorder.record({
      id: e.id,
      trigger: e.trigger_name,
      status: outcome.status ?? null,
      request: JSON.stringify(outcome.request),
      response: JSON.stringify(outcome.response),
      delivered: outcome.ok,
      error: !outcome.ok && retryAt === null,
      retryAt,
    });
    const m = this.deps.metrics;
    if (m) {
      m.invocations.inc({ status: outcome.ok ? 'success' : 'failed', trigger_name: conf.name });
      m.webhookTime.observe({ trigger_name: conf.name }, (Date.now() - started) / 1000);
      if (outcome.ok || retryAt === null) {
        m.processed.inc({ status: outcome.ok ? 'success' : 'failed', trigger_name: conf.name });
      }
      if (outcome.ok) {
        // event_processing_time: from when the event was due (created or retry time) to delivered.
        const start = e.retry_ms ?? e.created_ms;
        m.processingTime.observe({ trigger_name: conf.name }, Math.max(0, now.getTime() - start) / 1000);
      }
    }
    if (!outcome.ok) this.deps.log.info({ trigger: conf.name, event_id: e.id, status: outcome.status, error: outcome.error, retry_at: retryAt?.toISOString() ?? null }, 'event delivery failed');
  }

  /** Stops fetching; waits up to graceMs for deliveries in flight, then unlocks the rest. */
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
    const ids = [...this.inflight.keys()];
    for (const x of this.inflight.values()) x.abort.abort();
    await Promise.all([...this.inflight.values()].map((x) => x.done));
    if (ids.length) {
      await run(this.deps.pool, sqls.unlock(ids)).catch((err: unknown) => {
        this.deps.log.warn({ err: (err as Error).message, events: ids.length }, 'could not unlock events at shutdown; the stale-lock timeout will free them');
      });
      this.deps.log.info({ events: ids.length }, 'unlocked events still in flight at shutdown');
    }
  }
}

import os from 'node:os';
import Fastify, { type FastifyInstance } from 'fastify';
import {
  createPool,
  createRegistry,
  loggerOptions,
  observePool,
  pingPool,
  registerErrorHandling,
  registerHealth,
  registerHttpMetrics,
  type Logger,
  type Pool,
} from '@linkport/common';
import { systemClock, type Clock } from './clock.ts';
import type { Config } from './config.ts';
import { WebhookSender } from './delivery/http.ts';
import { DeliveryRunner } from './delivery/runner.ts';
import { PageFetcher } from './previews/fetch.ts';
import { MediaClient } from './previews/image.ts';
import { PreviewRunner } from './previews/runner.ts';
import type { Resolver } from './delivery/ssrf.ts';
import { EventsMetrics } from './metrics.ts';
import { hasuraRoutes } from './routes.ts';
import { platformJobs } from './scheduler/jobs.ts';
import { Scheduler } from './scheduler/scheduler.ts';
import { EventStore } from './store.ts';

export interface EventsOptions {
  clock?: Clock;
  /** DNS for webhook hosts (tests map names to chosen addresses); the system resolver otherwise. */
  resolve?: Resolver;
  random?: () => number;
  /** This replica's name in leases and job runs. */
  worker?: string;
  logger?: Logger;
}

export interface EventsService {
  app: FastifyInstance;
  pool: Pool;
  store: EventStore;
  runner: DeliveryRunner;
  previews: PreviewRunner;
  scheduler: Scheduler;
  metrics: EventsMetrics;
  /** Starts the delivery loop and (when EVENTS_SCHEDULER) the scheduler; the app is not listened on here. */
  startWork(): void;
  /** Stops taking work, finishes what is in flight, closes the app and the pool. */
  close(): Promise<void>;
}

/** Builds the events process without listening (docs/style.md §1): tests and server.ts share it. */
export async function buildEvents(config: Config, opts: EventsOptions = {}): Promise<EventsService> {
  const clock = opts.clock ?? systemClock;
  const worker = opts.worker ?? `${os.hostname()}-${process.pid}`;
  // One logger per process: server.ts passes runProcess's; tests let Fastify build one from config.
  const app: FastifyInstance = opts.logger ? (Fastify({ loggerInstance: opts.logger }) as unknown as FastifyInstance) : Fastify({ logger: loggerOptions('events', config.LOG_LEVEL) });
  const log = app.log as Logger;
  const pool = createPool(config.DATABASE_URL, { max: Math.max(4, Math.min(config.EVENTS_DELIVERY_CONCURRENCY + 2, 20)), applicationName: 'events', log });
  const store = new EventStore(pool);
  const registry = createRegistry();
  // Also serves GET /metrics (common/src/telemetry/metrics.ts).
  registerHttpMetrics(app, registry);
  observePool(registry, 'events', pool);
  const metrics = new EventsMetrics(registry, () => store.dueCount(clock.now()));
  registerErrorHandling(app);
  registerHealth(app, [{ name: 'postgres', check: () => pingPool(pool) }]);

  const sender = new WebhookSender({
    allowLoopback: config.EVENTS_ALLOW_LOOPBACK,
    timeoutMs: config.EVENTS_DELIVERY_TIMEOUT_MS,
    maxResponseBytes: config.EVENTS_RESPONSE_MAX_BYTES,
    resolve: opts.resolve,
  });
  const runner = new DeliveryRunner(store, sender, clock, log, {
    worker,
    batch: config.EVENTS_DELIVERY_BATCH,
    concurrency: config.EVENTS_DELIVERY_CONCURRENCY,
    pollMs: config.EVENTS_DELIVERY_POLL_MS,
    leaseMs: config.EVENTS_DELIVERY_LEASE_MS,
    clickBatchMs: config.EVENTS_CLICK_BATCH_MS,
    backoff: { baseMs: config.EVENTS_RETRY_BASE_MS, factor: config.EVENTS_RETRY_FACTOR, capMs: config.EVENTS_RETRY_CAP_MS, maxAttempts: config.EVENTS_MAX_ATTEMPTS },
    disableAfterMs: config.EVENTS_DISABLE_AFTER_MS,
    disableMinFailures: config.EVENTS_DISABLE_MIN_FAILURES,
    random: opts.random,
    onResult: (outcome, ms, error) => {
      metrics.deliveries.inc({ outcome, error: error ?? '' });
      metrics.deliveryDuration.observe(ms / 1000);
    },
  });
  const scheduler = new Scheduler(
    pool,
    platformJobs(pool, store, { refreshTokenGraceDays: 7, auditRetentionDays: config.EVENTS_AUDIT_RETENTION_DAYS, uploadSessionGraceDays: 1, webhookLogRetentionDays: config.EVENTS_LOG_RETENTION_DAYS, clickWindowMs: config.EVENTS_CLICK_BATCH_MS, onDrift: (d) => metrics.drift.set(d) }),
    clock,
    log,
    { runner: worker, tickMs: config.EVENTS_SCHEDULER_TICK_MS, onOutcome: (o) => metrics.job(o) },
  );
  const fetcher = new PageFetcher({ allowLoopback: config.EVENTS_ALLOW_LOOPBACK, timeoutMs: config.EVENTS_PREVIEW_TIMEOUT_MS, maxBytes: config.EVENTS_PREVIEW_MAX_BYTES, resolve: opts.resolve });
  const media = config.EVENTS_MEDIA_URL && config.EVENTS_MEDIA_SECRET ? new MediaClient({ url: config.EVENTS_MEDIA_URL, secret: config.EVENTS_MEDIA_SECRET, timeoutMs: config.EVENTS_PREVIEW_TIMEOUT_MS }) : undefined;
  const previews = new PreviewRunner(store, fetcher, clock, log, {
    media,
    imageMaxBytes: config.EVENTS_PREVIEW_IMAGE_MAX_BYTES,
    pollMs: config.EVENTS_DELIVERY_POLL_MS,
    batch: 4,
    leaseMs: config.EVENTS_PREVIEW_TIMEOUT_MS * 4,
    maxAttempts: config.EVENTS_PREVIEW_MAX_ATTEMPTS,
    retryMs: config.EVENTS_PREVIEW_RETRY_MS,
    onResult: (outcome) => metrics.previews.inc({ outcome }),
  });
  hasuraRoutes(app, {
    secret: config.EVENTS_HASURA_SECRET, store, clock, metrics, log,
    onIngest: () => {
      runner.nudge();
      previews.nudge();
    },
  });

  let started = false;
  return {
    app,
    pool,
    store,
    runner,
    previews,
    scheduler,
    metrics,
    startWork() {
      started = true;
      runner.start();
      if (config.EVENTS_PREVIEWS) previews.start();
      if (config.EVENTS_SCHEDULER) scheduler.start();
    },
    async close() {
      // Always: a test may have ticked the scheduler by hand, and its lock connection must go back
      // before pool.end() (which waits for every checked-out client).
      await Promise.all([started ? runner.stop() : undefined, started ? previews.stop() : undefined, scheduler.stop()]);
      await app.close();
      await sender.close();
      await fetcher.close();
      await media?.close();
      await pool.end();
    },
  };
}

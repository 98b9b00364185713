/**
 * The click worker process: Redis stream → PostgreSQL, in the shared lifecycle
 * (common/src/runtime.ts). It has no public port; `/health/*` answer on WORKER_PORT (private).
 */
import os from 'node:os';
import { z } from 'zod';
import type { Redis } from 'ioredis';
import { createPool, createRedisClient, envPort, loadConfig, observePool, observeRedisCommands, pingPool, pingRedis, runProcess, serveProbes } from '@linkport/common';
import { loadRedirectConfig } from './config.ts';
import { ClickSink } from './worker/click-sink.ts';
import { RollupReconciler } from './worker/reconcile.ts';
import { ShardedClickConsumer } from './worker/consumer.ts';
import { consumedStreams } from './clicks/streams.ts';
import { startClickHouseConsumer } from './worker/sinks/clickhouse-consumer.ts';
import { WorkerMetrics } from './worker/metrics.ts';
import { maintainPartitions } from './worker/partitions.ts';

const probeEnv = z.object({
  WORKER_PORT: envPort.default(3005),
  // 'batch' aggregates in memory (the default); 'statement' (the first issue-16 path, also the
  // replay path of 'batch') and 'legacy' (pre-issue 16) stay selectable as bench:redirect's
  // same-run baselines (click-sink.ts).
  WORKER_SINK: z.enum(['batch', 'statement', 'legacy']).default('batch'),
  WORKER_RECONCILE_INTERVAL_MS: z.coerce.number().int().min(1_000).default(300_000),
  WORKER_RECONCILE_WINDOW_HOURS: z.coerce.number().int().min(1).max(24 * 31).default(25),
});

await runProcess({
  name: 'click-worker',
  config: () => ({ ...loadRedirectConfig(), ...loadConfig(probeEnv) }),
  logLevel: (c) => c.LOG_LEVEL,
  async start(config, log) {
    const pool = createPool(config.DATABASE_URL, { max: 4, applicationName: 'click-worker', log });
    // Blocking reads and retries are the worker's job: unlike the redirect server it queues commands
    // while Redis reconnects.
    const redis = createRedisClient(config.REDIS_URL, { log, maxRetriesPerRequest: null, enableAutoPipelining: false });

    // Read at scrape time only, after `consumer` exists.
    const metrics = new WorkerMetrics({ redis, streams: consumedStreams(config.CLICK_STREAM, config.CLICK_STREAM_SHARDS), deadStream: config.CLICK_DEAD_STREAM, group: config.CLICK_GROUP, stats: () => consumer.stats });
    observePool(metrics.registry, 'click-worker', pool);
    observeRedisCommands(metrics.registry, 'click-worker', redis as Redis);
    const consumer = new ShardedClickConsumer(redis, new ClickSink(pool, config.WORKER_SINK), log, {
      stream: config.CLICK_STREAM,
      shards: config.CLICK_STREAM_SHARDS,
      deadStream: config.CLICK_DEAD_STREAM,
      group: config.CLICK_GROUP,
      consumer: config.WORKER_NAME ?? `${os.hostname()}-${process.pid}`,
      batch: config.WORKER_BATCH,
      blockMs: config.WORKER_BLOCK_MS,
      claimIdleMs: config.WORKER_CLAIM_IDLE_MS,
      maxDeliveries: config.WORKER_MAX_DELIVERIES,
      onBatch: (size, commitS, oldest) => metrics.batch(size, commitS, oldest),
    });

    const partitions = () => maintainPartitions(pool, config.CLICK_RETENTION_MONTHS, log).catch((err: unknown) => log.error({ err }, 'partition maintenance failed'));
    await partitions();
    const timer = setInterval(() => void partitions(), config.WORKER_PARTITION_INTERVAL_MS);
    await consumer.start();
    // CLICKHOUSE_URL: raw clicks to ClickHouse too, through their own consumer group (sinks/).
    const clickhouse = config.CLICKHOUSE_URL ? await startClickHouseConsumer(config, redis, pool, log) : undefined;
    const reconciler = new RollupReconciler(pool, metrics.registry, log, { intervalMs: config.WORKER_RECONCILE_INTERVAL_MS, windowHours: config.WORKER_RECONCILE_WINDOW_HOURS });
    if (config.WORKER_SINK !== 'legacy') reconciler.start();
    const probes = await serveProbes({
      host: config.HOST,
      port: config.WORKER_PORT,
      checks: [
        { name: 'postgres', check: () => pingPool(pool) },
        { name: 'redis', check: () => pingRedis(redis) },
      ],
      metrics: () => metrics.render(),
    });
    log.info({ stream: config.CLICK_STREAM, group: config.CLICK_GROUP, probes: probes.url }, 'click worker started');

    return {
      async close() {
        probes.draining();
        clearInterval(timer);
        await reconciler.stop();
        await consumer.stop();
        await clickhouse?.stop();
        log.info(consumer.stats, 'click worker stopped');
        redis.disconnect();
        await pool.end();
        await probes.close();
      },
    };
  },
});

import os from 'node:os';
import { Redis } from 'ioredis';
import { createLogger, createPool, onShutdown } from '@linkport/common';
import { loadRedirectConfig } from './config.ts';
import { ClickSink } from './worker/click-sink.ts';
import { ClickConsumer } from './worker/consumer.ts';
import { maintainPartitions } from './worker/partitions.ts';

const config = loadRedirectConfig();
const log = createLogger('click-worker', config.LOG_LEVEL);
const pool = createPool(config.DATABASE_URL, { max: 4, applicationName: 'click-worker' });
// Blocking reads and retries are the worker's job: unlike the redirect server it queues commands
// while Redis reconnects.
const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null, retryStrategy: (n) => Math.min(100 * n, 2_000) });
redis.on('error', (err: Error) => log.debug({ err: err.message }, 'redis error'));

const consumer = new ClickConsumer(redis, new ClickSink(pool), log, {
  stream: config.CLICK_STREAM,
  deadStream: config.CLICK_DEAD_STREAM,
  group: config.CLICK_GROUP,
  consumer: config.WORKER_NAME ?? `${os.hostname()}-${process.pid}`,
  batch: config.WORKER_BATCH,
  blockMs: config.WORKER_BLOCK_MS,
  claimIdleMs: config.WORKER_CLAIM_IDLE_MS,
  maxDeliveries: config.WORKER_MAX_DELIVERIES,
});

const partitions = () => maintainPartitions(pool, config.CLICK_RETENTION_MONTHS, log).catch((err: unknown) => log.error({ err }, 'partition maintenance failed'));
await partitions();
const timer = setInterval(() => void partitions(), config.WORKER_PARTITION_INTERVAL_MS);
await consumer.start();
log.info({ stream: config.CLICK_STREAM, group: config.CLICK_GROUP }, 'click worker started');

onShutdown(async () => {
  clearInterval(timer);
  await consumer.stop();
  log.info(consumer.stats, 'click worker stopped');
  redis.disconnect();
  await pool.end();
}, log);

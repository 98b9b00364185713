/**
 * The worker's ClickHouse hook: when CLICKHOUSE_URL is set, a second consumer group
 * (CLICKHOUSE_GROUP) reads every click stream shard into ClickHouseSink. Its own group, not a second
 * write inside the PostgreSQL batch: each store acks on its own progress, so ClickHouse down (or
 * slow) leaves its entries pending in Redis — delivered once it is back, reclaimed by another worker
 * if this one dies — while PostgreSQL keeps counting, and the reverse. Entries trimmed by MAXLEN
 * before ClickHouse read them are lost to it only; CLICK_STREAM_MAXLEN bounds how long an outage
 * can last without loss (1M entries by default).
 */
import os from 'node:os';
import type { AnyRedis, Logger, Pool } from '@linkport/common';
import type { Config } from '../../config.ts';
import { ShardedClickConsumer } from '../consumer.ts';
import { ClickHouseSink, createClickHouse, ensureClickHouseSchema } from './clickhouse.ts';

export interface ClickHouseConsumer {
  consumer: ShardedClickConsumer;
  stop(): Promise<void>;
}

export async function startClickHouseConsumer(config: Config, redis: AnyRedis, pool: Pool, log: Logger): Promise<ClickHouseConsumer> {
  if (!config.CLICKHOUSE_URL) throw new Error('CLICKHOUSE_URL is not set');
  const ch = createClickHouse({ url: config.CLICKHOUSE_URL, database: config.CLICKHOUSE_DATABASE });
  const chLog = log.child({ sink: 'clickhouse' });
  // A start-up without ClickHouse still starts the worker (PostgreSQL must not wait for it): the
  // schema is retried in the background and the consumer starts once it exists.
  let stopped = false;
  const consumer = new ShardedClickConsumer(redis, new ClickHouseSink(ch, pool, config.CLICKHOUSE_DATABASE, chLog), chLog, {
    stream: config.CLICK_STREAM,
    shards: config.CLICK_STREAM_SHARDS,
    deadStream: config.CLICK_DEAD_STREAM,
    group: config.CLICKHOUSE_GROUP,
    consumer: config.WORKER_NAME ?? `${os.hostname()}-${process.pid}`,
    batch: config.WORKER_BATCH,
    blockMs: config.WORKER_BLOCK_MS,
    claimIdleMs: config.WORKER_CLAIM_IDLE_MS,
    maxDeliveries: config.WORKER_MAX_DELIVERIES,
  });
  const started = (async () => {
    for (let delay = 200; !stopped; delay = Math.min(delay * 2, 5_000)) {
      try {
        await ensureClickHouseSchema(ch, config.CLICKHOUSE_DATABASE);
        if (stopped) return false;
        await consumer.start();
        chLog.info({ streams: consumer.streams, group: config.CLICKHOUSE_GROUP }, 'clickhouse sink started');
        return true;
      } catch (err) {
        chLog.warn({ err }, 'clickhouse sink not started yet; retrying');
        await new Promise((r) => setTimeout(r, delay));
      }
    }
    return false;
  })();
  return {
    consumer,
    async stop() {
      stopped = true;
      if (await started) await consumer.stop();
      await ch.close();
    },
  };
}

import { Redis, type RedisOptions } from 'ioredis';
import { DependencyHealth } from './db.ts';
import type { Logger } from './logger.ts';

export type { Redis };

export interface CreateRedisOptions extends RedisOptions {
  /** Transitions (lost / back) are logged here. */
  log?: Logger;
  /** Name in logs and health ("redis" by default). */
  name?: string;
}

const healthOf = new WeakMap<Redis, DependencyHealth>();

/**
 * Reconnect delay: 50 ms doubling to `capMs`, forever. ioredis's default (min(n*50, 2000)) is also
 * forever; the cap matters because a long outage must not grow the delay past what readiness
 * promises, and returning null (give up) would leave the process up but permanently disconnected.
 */
export function redisBackoff(capMs = 2_000): (times: number) => number {
  return (times) => Math.min(50 * 2 ** Math.min(times - 1, 10), capMs);
}

/**
 * An ioredis client that survives any outage: 'error' always has a listener (without one ioredis
 * prints "Unhandled error event" per reconnect attempt), reconnects with capped backoff forever, and
 * its state is observable through redisHealth() — down on 'error'/'reconnecting', up on 'ready'.
 * Callers choose the failure mode per client: the defaults fail a command after one retry
 * (request paths); workers pass `maxRetriesPerRequest: null` to queue until Redis is back.
 */
export function createRedis(url: string, opts: CreateRedisOptions = {}): Redis {
  const { log, name, ...redisOpts } = opts;
  const redis = new Redis(url, {
    lazyConnect: false,
    enableAutoPipelining: true,
    maxRetriesPerRequest: 1,
    retryStrategy: redisBackoff(),
    ...redisOpts,
  });
  observeRedis(redis, name ?? 'redis', log);
  return redis;
}

/** Attaches the error listener and health tracking to a client created elsewhere (e.g. duplicate()). */
export function observeRedis(redis: Redis, name = 'redis', log?: Logger): DependencyHealth {
  const existing = healthOf.get(redis);
  if (existing) return existing;
  const health = new DependencyHealth(name, log);
  healthOf.set(redis, health);
  redis.on('error', (err: Error) => health.fail(err));
  // 'reconnecting' rather than 'close': a deliberate quit()/disconnect() closes without reconnecting.
  redis.on('reconnecting', () => health.fail(new Error('connection lost')));
  redis.on('ready', () => health.ok());
  return health;
}

export function redisHealth(redis: Redis): DependencyHealth {
  return healthOf.get(redis) ?? observeRedis(redis);
}

/** Readiness probe: connected and answering PING within `timeoutMs`. */
export async function pingRedis(redis: Redis, timeoutMs = 1_000): Promise<void> {
  if (redis.status !== 'ready') throw new Error(`redis ${redis.status}`);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      redis.ping(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

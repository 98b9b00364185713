import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { DependencyHealth } from './db.ts';
import type { Logger } from './logger.ts';

export type { Redis, Cluster };
/** A single node or a cluster: what code that works with either takes. */
export type AnyRedis = Redis | Cluster;

export interface CreateRedisOptions extends RedisOptions {
  /** Transitions (lost / back) are logged here. */
  log?: Logger;
  /** Name in logs and health ("redis" by default). */
  name?: string;
}

const healthOf = new WeakMap<AnyRedis, DependencyHealth>();

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
export function observeRedis(redis: AnyRedis, name = 'redis', log?: Logger): DependencyHealth {
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

export function redisHealth(redis: AnyRedis): DependencyHealth {
  return healthOf.get(redis) ?? observeRedis(redis);
}

/** Readiness probe: connected and answering PING within `timeoutMs`. */
export async function pingRedis(redis: AnyRedis, timeoutMs = 1_000): Promise<void> {
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

/**
 * Cluster mode: `redis+cluster://host1:port1,host2:port2/` names some nodes of a Redis Cluster (the
 * client discovers the rest with CLUSTER SLOTS). A URL scheme rather than a second variable, so every
 * service's REDIS_URL switches to a cluster without new settings. Username/password apply to every node.
 */
export function isClusterUrl(url: string): boolean {
  return url.startsWith('redis+cluster://') || url.startsWith('rediss+cluster://');
}

export function clusterNodesOf(url: string): { nodes: Array<{ host: string; port: number }>; username?: string; password?: string; tls: boolean } {
  const m = /^(rediss?)\+cluster:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/?#]+)/.exec(url);
  if (!m) throw new Error('a cluster URL is redis+cluster://host:port[,host:port…]');
  const nodes = (m[4] as string).split(',').map((hp) => {
    const i = hp.lastIndexOf(':');
    const host = i === -1 ? hp : hp.slice(0, i).replace(/^\[|\]$/g, '');
    const port = i === -1 ? 6379 : Number(hp.slice(i + 1));
    if (!host || !Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`bad cluster node "${hp}"`);
    return { host, port };
  });
  const out: ReturnType<typeof clusterNodesOf> = { nodes, tls: m[1] === 'rediss' };
  if (m[2]) out.username = decodeURIComponent(m[2]);
  if (m[3]) out.password = decodeURIComponent(m[3]);
  return out;
}

export interface CreateClusterOptions extends CreateRedisOptions {
  cluster?: ClusterOptions;
}

/**
 * An ioredis Cluster with the same survival rules as createRedis: an 'error' listener, health via
 * redisHealth(), per-node reconnects with the capped backoff. Commands follow MOVED/ASK redirections;
 * after a master fails its replica is promoted (cluster-node-timeout) and the client re-reads the
 * slot map (CLUSTERDOWN / connection errors trigger a refresh, retried up to `maxRedirections`). Keys a
 * script or MULTI touches together must share a hash tag (`{…}`), or Redis answers CROSSSLOT.
 */
export function createRedisCluster(url: string, opts: CreateClusterOptions = {}): Cluster {
  const { log, name, cluster, ...redisOpts } = opts;
  const { nodes, username, password, tls } = clusterNodesOf(url);
  const c = new Cluster(nodes, {
    enableAutoPipelining: true,
    clusterRetryStrategy: redisBackoff(),
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
    retryDelayOnTryAgain: 100,
    slotsRefreshTimeout: 2_000,
    enableOfflineQueue: redisOpts.enableOfflineQueue ?? true,
    ...cluster,
    redisOptions: {
      maxRetriesPerRequest: 1,
      retryStrategy: redisBackoff(),
      ...(username ? { username } : {}),
      ...(password ? { password } : {}),
      ...(tls ? { tls: {} } : {}),
      ...redisOpts,
      ...cluster?.redisOptions,
    },
  });
  observeRedis(c, name ?? 'redis', log);
  return c;
}

/** REDIS_URL → a single-node client, or a Cluster for a redis+cluster:// URL. */
export function createRedisClient(url: string, opts: CreateClusterOptions = {}): AnyRedis {
  if (isClusterUrl(url)) return createRedisCluster(url, opts);
  const { cluster: _ignored, ...rest } = opts;
  return createRedis(url, rest);
}

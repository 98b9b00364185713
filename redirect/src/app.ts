import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import { createLogger, createPool, createRedisClient, observePool, observeRedisCommands, pingPool, pingRedis, poolHealth, redisBackoff, traceHttpServer, withTimeout, type Logger, type Pool } from '@linkport/common';
import type { Config } from './config.ts';
import { ClickProducer } from './clicks/click-producer.ts';
import { createHandler, routeOf } from './http/handler.ts';
import { PasswordLimiter } from './http/password-limiter.ts';
import { TrustedProxies } from './http/proxies.ts';
import { QrRenderer } from './http/qr.ts';
import { InvalidationListener } from './links/invalidation.ts';
import { LinkStore } from './links/link-store.ts';
import { ReadRouting } from './links/read-replica.ts';
import { LinksRepository } from './links/links.repository.ts';
import { Metrics } from './metrics.ts';
import { PasswordCookies, VisitorHasher } from './visitor.ts';

export interface RedirectApp {
  server: http.Server;
  /** The request listener, for mounting elsewhere (bench/fastify-server.ts compares Fastify). */
  handler: (req: http.IncomingMessage, res: http.ServerResponse) => void;
  metrics: Metrics;
  store: LinkStore;
  producer: ClickProducer;
  listen(): Promise<{ port: number; url: string }>;
  close(): Promise<void>;
}

/**
 * The redirect service on bare node:http rather than Fastify (CONTRIBUTING's usual buildApp):
 * measured with bench/redirect.ts, Fastify's routing and request/reply objects cost a measurable
 * share of the hot path's budget (see redirect/README.md for the numbers). Like buildApp it never
 * listens by itself; server.ts does.
 */
export async function buildRedirectApp(config: Config, opts: { log?: Logger } = {}): Promise<RedirectApp> {
  const log = opts.log ?? createLogger('redirect', config.LOG_LEVEL);
  const metrics = new Metrics();
  const pool: Pool = createPool(config.DATABASE_URL, { max: 10, applicationName: 'redirect', log });
  // Redis is optional for serving: with the offline queue off a command fails at once while Redis
  // is away, so lookups fall through to PostgreSQL and clicks go to the in-memory buffer instead of
  // piling up behind the reconnect. A redis+cluster:// URL gives a Cluster (sharded click streams).
  const redis = createRedisClient(config.REDIS_URL, {
    log,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    commandTimeout: config.REDIS_COMMAND_TIMEOUT_MS,
    retryStrategy: redisBackoff(1_000),
  });
  observePool(metrics.registry, 'redirect', pool);
  // sendCommand is wrapped the same way on a Cluster
  observeRedisCommands(metrics.registry, 'redirect', redis as Redis);
  // the link cache may live elsewhere (a cluster): same fail-fast options, lookups fall through to PostgreSQL
  const cacheRedis = config.REDIRECT_CACHE_REDIS_URL
    ? createRedisClient(config.REDIRECT_CACHE_REDIS_URL, {
        log,
        name: 'redis-cache',
        enableOfflineQueue: false,
        autoResendUnfulfilledCommands: false,
        maxRetriesPerRequest: 0,
        commandTimeout: config.REDIS_COMMAND_TIMEOUT_MS,
        retryStrategy: redisBackoff(1_000),
      })
    : redis;
  const readPool = config.REDIRECT_DATABASE_READ_URL ? createPool(config.REDIRECT_DATABASE_READ_URL, { max: 10, applicationName: 'redirect-read', log }) : undefined;
  const routing = readPool ? new ReadRouting(pool, readPool) : undefined;
  const repo = new LinksRepository(pool, routing);
  const store = new LinkStore(repo, cacheRedis, metrics, log, {
    localTtlMs: config.LINK_CACHE_TTL_MS,
    localMax: config.LINK_CACHE_MAX,
    negativeTtlMs: config.NEGATIVE_CACHE_TTL_MS,
    redisTtlS: config.REDIS_LINK_TTL_S,
    staleIfErrorMs: config.STALE_IF_ERROR_MS,
  });
  const listener = new InvalidationListener(config.DATABASE_URL, store, log, routing);
  await listener.start();
  const producer = new ClickProducer(redis, metrics, log, {
    stream: config.CLICK_STREAM,
    shards: config.CLICK_STREAM_SHARDS,
    minReplicas: config.CLICK_STREAM_MIN_REPLICAS,
    waitMs: config.CLICK_STREAM_WAIT_MS,
    maxlen: config.CLICK_STREAM_MAXLEN,
    bufferSize: config.CLICK_BUFFER_SIZE,
    lingerMs: config.CLICK_LINGER_MS,
  });
  metrics.gauge('click_buffer_size', 'Clicks waiting in memory for Redis.', () => producer.buffered);
  metrics.gauge('click_buffer_capacity', 'Capacity of the in-memory click buffer.', () => config.CLICK_BUFFER_SIZE);
  metrics.gauge('link_cache_entries', 'Entries in the in-process link cache.', () => store.size);
  metrics.gauge('redis_up', '1 while the Redis connection is ready.', () => (redis.status === 'ready' ? 1 : 0));
  metrics.gauge('postgres_up', '1 unless the last PostgreSQL connection attempt or probe failed.', () => (poolHealth(pool).up ? 1 : 0));
  metrics.gauge('invalidation_listener_up', '1 while LISTEN link_changed is connected.', () => (listener.connected ? 1 : 0));

  let closing = false;
  const ready = async () => {
    const checks: Record<string, string> = {};
    const probe = async (name: string, f: () => Promise<unknown>) => {
      checks[name] = await f().then(
        () => 'ok',
        () => 'failing',
      );
    };
    await Promise.all([probe('postgres', () => pingPool(pool, 1_000)), probe('redis', () => pingRedis(redis, 1_000))]);
    const up = Object.values(checks).filter((c) => c === 'ok').length;
    // READINESS=all (default): any dependency down → 503, like every other service. `any`: either
    // store can serve redirects (Redis down → PostgreSQL; PostgreSQL down → cached links).
    const ok = !closing && (config.READINESS === 'all' ? up === 2 : up > 0);
    return { ok, checks };
  };
  const handler = createHandler({
    config,
    store,
    repo,
    producer,
    metrics,
    log,
    hasher: new VisitorHasher(config.REDIRECT_SECRET),
    cookies: new PasswordCookies(config.REDIRECT_SECRET, config.PASSWORD_COOKIE_TTL_S),
    qr: new QrRenderer(),
    proxies: new TrustedProxies(config.TRUSTED_PROXIES),
    limiter: new PasswordLimiter(
      redis,
      {
        perClient: config.PASSWORD_ATTEMPTS_PER_CLIENT,
        perLink: config.PASSWORD_ATTEMPTS_PER_LINK,
        windowMs: config.PASSWORD_WINDOW_S * 1000,
        lockoutMs: config.PASSWORD_LOCKOUT_S * 1000,
      },
      metrics,
      log,
    ),
    ready,
  });
  const server = http.createServer({ keepAliveTimeout: 65_000 });
  // Spans only for sampled requests, named by route template (common/src/telemetry/tracing.ts).
  traceHttpServer(server, handler, routeOf);

  return {
    server,
    handler,
    metrics,
    store,
    producer,
    listen: () =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.PORT, config.HOST, () => {
          const { port } = server.address() as AddressInfo;
          resolve({ port, url: `http://${config.HOST}:${port}` });
        });
      }),
    async close() {
      closing = true;
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      await withTimeout(closed, 5_000).catch(() => server.closeAllConnections());
      await producer.drain(5_000);
      if (producer.buffered > 0) log.error({ lost: producer.buffered }, 'shutting down with clicks still buffered (Redis unavailable)');
      await listener.stop();
      redis.disconnect();
      if (cacheRedis !== redis) cacheRedis.disconnect();
      await pool.end();
      await readPool?.end();
    },
  };
}

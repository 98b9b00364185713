import { z } from 'zod';
import { clusterNodesOf, envPort, isClusterUrl, loadConfig, logLevel } from '@linkport/common';
import { parseTrustedProxies } from './http/proxies.ts';

const int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);
const DEV_SECRET = 'linkport-redirect-dev-secret-change-me';

/** A redis:// URL or a Redis Cluster's redis+cluster://host:port,… (common/src/redis.ts). */
const redisUrl = z.string().refine((u) => {
  if (!isClusterUrl(u)) return URL.canParse(u);
  try {
    clusterNodesOf(u);
    return true;
  } catch {
    return false;
  }
}, 'must be a redis:// URL or redis+cluster://host:port[,host:port…]');

/**
 * One schema for the redirect server and the click worker (they share the stream and the secret).
 * Names follow CONTRIBUTING.md (HOST, PORT, DATABASE_URL, REDIS_URL, COUNTRY_HEADER); the rest are
 * ours, each with a default tuned for one node.
 */
export const configSchema = z
  .object({
    NODE_ENV: z.string().default('development'),
    HOST: z.string().default('127.0.0.1'),
    PORT: envPort.default(3004),
    LOG_LEVEL: logLevel,
    DATABASE_URL: z.string().url(),
    // A Redis Cluster too (redis+cluster://…): the click streams are then sharded by hash tag
    // (CLICK_STREAM_SHARDS, clicks/streams.ts).
    REDIS_URL: redisUrl,
    // A streaming replica for link lookups; invalidation still LISTENs on DATABASE_URL and codes
    // just changed are read from the primary until the replica replays past them (links/read-replica.ts).
    REDIRECT_DATABASE_READ_URL: z.string().url().optional(),
    // The link cache's Redis when it is not REDIS_URL's — e.g. a Redis Cluster
    // (redis+cluster://host:port,…, common/src/redis.ts); click streams and limits stay on REDIS_URL.
    REDIRECT_CACHE_REDIS_URL: redisUrl.optional(),
    // A header set by a trusted edge (Cloudflare's cf-ipcountry, Traefik plugins); empty = no geo.
    // Believed only from a TRUSTED_PROXIES peer.
    COUNTRY_HEADER: z.string().toLowerCase().default(''),
    // Peers whose X-Forwarded-For and COUNTRY_HEADER are believed: IPs, CIDRs, `loopback`,
    // `uniquelocal`, `linklocal`, comma-separated. Empty (default): the TCP peer is the client.
    TRUSTED_PROXIES: z
      .string()
      .default('')
      .transform((s, ctx) => {
        try {
          return parseTrustedProxies(s);
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: (err as Error).message });
          return z.NEVER;
        }
      }),
    // `all`: /health/ready is 503 while PostgreSQL or Redis is down (one readiness meaning across
    // services). `any`: 503 only when neither is up — this node still serves cached links with
    // PostgreSQL down and every link with Redis down, so a balancer need not drain it.
    READINESS: z.enum(['all', 'any']).default('all'),
    // Signs password cookies and salts visitor hashes. Optional only outside production.
    REDIRECT_SECRET: z.string().min(16).optional(),
    // Base of the short URL encoded in QR codes; defaults to http://<Host header>.
    SHORT_BASE_URL: z.string().url().optional(),
    // Where media serves public assets (media's MEDIA_PUBLIC_BASE_URL): the /{code}+ preview page shows a
    // link's stored preview image from there (issue 15 §4). Unset: the page shows no image.
    MEDIA_PUBLIC_BASE_URL: z.string().url().optional(),

    LINK_CACHE_TTL_MS: int(5_000),
    LINK_CACHE_MAX: int(100_000, 1),
    NEGATIVE_CACHE_TTL_MS: int(3_000),
    REDIS_LINK_TTL_S: int(300),
    REDIS_COMMAND_TIMEOUT_MS: int(500, 1),
    PERMANENT_MAX_AGE_S: int(60),
    PASSWORD_COOKIE_TTL_S: int(3_600, 60),
    // A link's last good copy is served this long past its cache TTL while PostgreSQL is unreachable
    // (RFC 5861 stale-if-error); 0 turns it off.
    STALE_IF_ERROR_MS: int(300_000),

    // Password guessing (POST /:code): failed attempts per client address (IPv6: per /64) across
    // all links, and per link across all clients, within PASSWORD_WINDOW_S; the attempt past a limit
    // is refused (429 + Retry-After) and locks that client or link for PASSWORD_LOCKOUT_S.
    PASSWORD_ATTEMPTS_PER_CLIENT: int(10, 1),
    PASSWORD_ATTEMPTS_PER_LINK: int(100, 1),
    PASSWORD_WINDOW_S: int(900, 1),
    PASSWORD_LOCKOUT_S: int(900, 1),

    CLICK_STREAM: z.string().min(1).default('clicks'),
    CLICK_DEAD_STREAM: z.string().min(1).default('clicks:dead'),
    // N > 1: N streams {CLICK_STREAM:0}…{CLICK_STREAM:N-1}, one hash slot each, spread over a Redis
    // Cluster's masters (clicks/streams.ts, also for changing N). Producers and workers must agree,
    // except while draining dropped shards. The cap keeps a worker's per-shard connections bounded.
    CLICK_STREAM_SHARDS: z.coerce.number().int().min(1).max(64).default(1),
    // > 0: a batch counts as sent only once this many replicas of its shard's master have it
    // (WAIT after the XADD, same connection); otherwise it is re-sent to the next shard, and the
    // sinks' click-id dedup drops the copy. Closes the window where a master dies after
    // acknowledging entries it had not replicated (Redis replication is asynchronous). Needs replicas:
    // with none, every batch would wait CLICK_STREAM_WAIT_MS and be re-sent.
    CLICK_STREAM_MIN_REPLICAS: z.coerce.number().int().min(0).max(5).default(0),
    CLICK_STREAM_WAIT_MS: int(200, 1),
    CLICK_STREAM_MAXLEN: int(1_000_000, 1_000),
    CLICK_BUFFER_SIZE: int(100_000, 1),
    CLICK_LINGER_MS: int(2, 0),

    CLICK_GROUP: z.string().min(1).default('click-workers'),
    WORKER_NAME: z.string().optional(),
    WORKER_BATCH: int(500, 1),
    WORKER_BLOCK_MS: int(1_000, 1),
    WORKER_CLAIM_IDLE_MS: int(30_000, 100),
    WORKER_MAX_DELIVERIES: int(5, 1),
    WORKER_PARTITION_INTERVAL_MS: int(3_600_000, 1_000),
    // 0 keeps every month; otherwise monthly partitions older than this many months are dropped.
    CLICK_RETENTION_MONTHS: int(0),

    // Raw clicks also go to ClickHouse (worker/sinks/clickhouse.ts) when set: its HTTP interface,
    // e.g. http://user:password@clickhouse:8123. A consumer group of its own, so a ClickHouse
    // outage never holds up PostgreSQL (nor the reverse).
    CLICKHOUSE_URL: z.string().url().optional(),
    CLICKHOUSE_DATABASE: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'a plain identifier').default('linkport'),
    CLICKHOUSE_GROUP: z.string().min(1).default('click-workers-clickhouse'),
  })
  .transform((c, ctx) => {
    const secret = c.REDIRECT_SECRET ?? (c.NODE_ENV === 'production' ? undefined : DEV_SECRET);
    if (!secret) {
      ctx.addIssue({ code: 'custom', path: ['REDIRECT_SECRET'], message: 'required when NODE_ENV=production' });
      return z.NEVER;
    }
    return { ...c, REDIRECT_SECRET: secret };
  });

export type Config = z.infer<typeof configSchema>;

export function loadRedirectConfig(env: Record<string, string | undefined> = process.env): Config {
  return loadConfig(configSchema, env);
}

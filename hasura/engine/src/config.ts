/**
 * The engine's configuration: one zod schema over Hasura's own environment variables
 * (docs/docs/deployment/graphql-engine-flags/reference.mdx), so the same env runs real Hasura.
 * Nothing below server.ts reads process.env.
 */
import { z } from 'zod';
import { envBool, envPort, loadConfig, logLevel } from '@linkport/common';
import { parseJwtConfig, type JwtConfig } from './auth/jwt.config.ts';
import type { EventsConfig } from './events/processor.ts';

const schema = z
  .object({
    HOST: z.string().default('127.0.0.1'),
    PORT: envPort.default(3003),
    LOG_LEVEL: logLevel,
    HASURA_GRAPHQL_DATABASE_URL: z.string().url(),
    /** Hasura's separate metadata database; defaults to the source database. */
    HASURA_GRAPHQL_METADATA_DATABASE_URL: z.string().url().optional(),
    HASURA_GRAPHQL_ADMIN_SECRET: z.string().min(1).optional(),
    HASURA_GRAPHQL_JWT_SECRET: z.string().min(1).optional(),
    HASURA_GRAPHQL_AUTH_HOOK: z.string().url().optional(),
    HASURA_GRAPHQL_AUTH_HOOK_MODE: z.enum(['GET', 'POST']).default('GET'),
    HASURA_GRAPHQL_UNAUTHORIZED_ROLE: z.string().min(1).optional(),
    HASURA_GRAPHQL_METADATA_DIR: z.string().min(1).optional(),
    /** `replace` (default): the directory is applied at every boot, as the cli-migrations image does;
     * `if-empty`: only when the store holds no metadata yet. */
    HASURA_GRAPHQL_METADATA_BOOTSTRAP: z.enum(['replace', 'if-empty']).default('replace'),
    HASURA_GRAPHQL_STRINGIFY_NUMERIC_TYPES: envBool.default(true),
    /** Query functions open to every role that may select their table (Hasura's default), or only to roles given a function permission. */
    HASURA_GRAPHQL_INFER_FUNCTION_PERMISSIONS: envBool.default(true),
    /**
     * Answer database-only queries with PostgreSQL's JSON text (execute/passthrough.ts): compact
     * (also 1/true), verbatim (PostgreSQL's spaces, as Hasura sends them), off (also 0/false: parse
     * and stringify, the bench baseline).
     */
    ENGINE_JSON_PASSTHROUGH: z
      .enum(['off', 'compact', 'verbatim', '0', '1', 'false', 'true'])
      .default('compact')
      .transform((v) => (v === '0' || v === 'false' ? 'off' : v === '1' || v === 'true' ? 'compact' : v)),
    HASURA_GRAPHQL_PRESERVE_401_ERRORS: envBool.default(false),
    HASURA_GRAPHQL_ENABLE_CONSOLE: envBool.default(true),
    HASURA_GRAPHQL_WEBSOCKET_KEEPALIVE: z.coerce.number().int().positive().default(5),
    HASURA_GRAPHQL_WEBSOCKET_CONNECTION_INIT_TIMEOUT: z.coerce.number().int().positive().default(3),
    /** Field nesting limit (0 = none). On by default: a depth bomb is refused before any work. */
    HASURA_GRAPHQL_MAX_DEPTH: z.coerce.number().int().min(0).default(32),
    /** Hasura's (deprecated) pool-size flag: connections for HTTP queries and mutations. */
    HASURA_GRAPHQL_PG_CONNECTIONS: z.coerce.number().int().positive().default(16),
    // Limits Hasura CE has no flag for (issue 11); 0 turns one off. Hasura's api_limits metadata
    // can tighten them per role, never loosen them.
    /** Fields after fragment expansion, counted without expanding (limits/measure.ts). */
    ENGINE_MAX_NODES: z.coerce.number().int().min(0).default(10_000),
    ENGINE_MAX_ALIASES: z.coerce.number().int().min(0).default(1_000),
    /** Operations in one batched POST (a JSON array). */
    ENGINE_MAX_BATCH: z.coerce.number().int().min(0).default(50),
    /** Request body (HTTP) and message (WebSocket) size. */
    ENGINE_BODY_LIMIT_BYTES: z.coerce.number().int().positive().default(2 * 1024 * 1024),
    ENGINE_MAX_VARIABLES_BYTES: z.coerce.number().int().min(0).default(1024 * 1024),
    /** Per-statement time limit, enforced by PostgreSQL (statement_timeout), which cancels it. */
    ENGINE_QUERY_TIMEOUT_MS: z.coerce.number().int().min(0).default(10_000),
    /** Connections of the live-query pool, apart from the HTTP one so subscriptions never starve queries. */
    ENGINE_LIVE_PG_CONNECTIONS: z.coerce.number().int().positive().default(4),
    ENGINE_WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: z.coerce.number().int().positive().default(100),
    ENGINE_WS_MAX_SUBSCRIPTIONS_PER_USER: z.coerce.number().int().positive().default(300),
    ENGINE_WS_MAX_SUBSCRIPTIONS: z.coerce.number().int().positive().default(10_000),
    /** Live-query polling interval in milliseconds (docs/research/hasura-v2.md §C.5). */
    HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_REFETCH_INTERVAL: z.coerce.number().int().positive().default(1000),
    /** Cohorts served by one multiplexed statement (Hasura's default 100; subscriptions/multiplexer.ts). */
    HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_BATCH_SIZE: z.coerce.number().int().positive().default(100),
    /** `off`: every subscription polls on its own (the pre-multiplexing behaviour, for comparison in bench:subscriptions). */
    ENGINE_LIVE_QUERIES_MULTIPLEXING: z.enum(['on', 'off']).default('on'),
    /** Streaming subscriptions' polling interval and cohorts per statement (Hasura's defaults; subscriptions/streaming.ts). */
    HASURA_GRAPHQL_STREAMING_QUERIES_MULTIPLEXED_REFETCH_INTERVAL: z.coerce.number().int().positive().default(1000),
    HASURA_GRAPHQL_STREAMING_QUERIES_MULTIPLEXED_BATCH_SIZE: z.coerce.number().int().positive().default(100),
    /** `off`: no LISTEN for core's revocations (subscriptions/revocation.ts). */
    ENGINE_REVOCATION_LISTEN: z.enum(['on', 'off']).default('on'),
    /** Core's verify endpoint, to re-verify open WebSockets when revocation events may have been missed. */
    ENGINE_REVOCATION_VERIFY_URL: z.url().optional(),
    // Event and scheduled trigger delivery (events/processor.ts), Hasura's flags and defaults.
    /** Webhook calls in flight at most (event and scheduled triggers together). */
    HASURA_GRAPHQL_EVENTS_HTTP_POOL_SIZE: z.coerce.number().int().positive().default(100),
    /** Milliseconds between two fetches of pending events. */
    HASURA_GRAPHQL_EVENTS_FETCH_INTERVAL: z.coerce.number().int().positive().default(1000),
    HASURA_GRAPHQL_EVENTS_FETCH_BATCH_SIZE: z.coerce.number().int().positive().default(100),
    /**
     * Seconds in-flight deliveries get to finish at shutdown before their events are unlocked for
     * another engine. Hasura's default is 60; ours fits the process lifecycle (the launcher sends
     * SIGKILL 5 s after SIGTERM, runProcess gives a drain 10 s), and an unlocked event is not lost.
     */
    HASURA_GRAPHQL_GRACEFUL_SHUTDOWN_TIMEOUT: z.coerce.number().int().min(0).default(3),
    /** A lock older than this is an engine that died mid-delivery (Hasura: 30 minutes, fixed). */
    ENGINE_EVENTS_STALE_LOCK_SECONDS: z.coerce.number().int().positive().default(1800),
    /** Milliseconds between two fetches of due cron and one-off scheduled events. */
    ENGINE_SCHEDULED_EVENTS_FETCH_INTERVAL: z.coerce.number().int().positive().default(10_000),
    /** `off`: this engine delivers nothing (another replica, or real Hasura, does). */
    ENGINE_EVENTS_PROCESSOR: z.enum(['on', 'off']).default('on'),
    /** Hasura's allow-list (allowlist/allowlist.ts): only operations in allow-listed query collections run for non-admin roles. */
    HASURA_GRAPHQL_ENABLE_ALLOWLIST: envBool.default(false),
    /** `global`: Hasura CE (role-scoped entries ignored); `full`: EE/Cloud (global ∪ the role's entries). */
    ENGINE_ALLOWLIST_MODE: z.enum(['global', 'full']).default('global'),
    /** Redis for @cached query results (cache/); unset = @cached is accepted and nothing is cached, as Hasura CE. */
    REDIS_URL: z.string().url().optional(),
    /** Hasura EE's name for the same; wins over REDIS_URL. */
    HASURA_GRAPHQL_REDIS_URL: z.string().url().optional(),
    /** Hasura EE's HASURA_GRAPHQL_CACHE_MAX_ENTRY_TTL: the largest @cached ttl honoured (seconds). */
    HASURA_GRAPHQL_CACHE_MAX_ENTRY_TTL: z.coerce.number().int().positive().default(3600),
  })
  .superRefine((env, ctx) => {
    // Startup rules of Hasura's setupAuthMode (Server/Auth.hs): JWT and webhook need an admin
    // secret, cannot be combined, and an unauthorized role is meaningless with a webhook.
    if (env.HASURA_GRAPHQL_JWT_SECRET && env.HASURA_GRAPHQL_AUTH_HOOK) {
      ctx.addIssue({ code: 'custom', path: ['HASURA_GRAPHQL_JWT_SECRET'], message: 'JWT and webhook auth cannot both be set' });
    }
    if ((env.HASURA_GRAPHQL_JWT_SECRET || env.HASURA_GRAPHQL_AUTH_HOOK) && !env.HASURA_GRAPHQL_ADMIN_SECRET) {
      ctx.addIssue({ code: 'custom', path: ['HASURA_GRAPHQL_ADMIN_SECRET'], message: 'required when JWT or webhook auth is set' });
    }
    if (env.HASURA_GRAPHQL_UNAUTHORIZED_ROLE && env.HASURA_GRAPHQL_AUTH_HOOK) {
      ctx.addIssue({ code: 'custom', path: ['HASURA_GRAPHQL_UNAUTHORIZED_ROLE'], message: 'cannot be used with webhook auth' });
    }
    if (env.HASURA_GRAPHQL_JWT_SECRET) {
      try {
        parseJwtConfig(env.HASURA_GRAPHQL_JWT_SECRET);
      } catch (err) {
        ctx.addIssue({ code: 'custom', path: ['HASURA_GRAPHQL_JWT_SECRET'], message: (err as Error).message });
      }
    }
  });

export interface EngineConfig {
  host: string;
  port: number;
  logLevel: string;
  databaseUrl: string;
  metadataDatabaseUrl: string;
  adminSecret?: string | undefined;
  jwt?: JwtConfig | undefined;
  authHook?: { url: string; mode: 'GET' | 'POST' } | undefined;
  unauthorizedRole?: string | undefined;
  metadataDir?: string | undefined;
  metadataBootstrap: 'replace' | 'if-empty';
  stringifyNumericTypes: boolean;
  inferFunctionPermissions: boolean;
  jsonPassthrough: 'off' | 'compact' | 'verbatim';
  preserve401: boolean;
  enableConsole: boolean;
  wsKeepAliveSeconds: number;
  wsInitTimeoutSeconds: number;
  maxDepth: number;
  liveQueryRefetchIntervalMs: number;
  liveQueryBatchSize: number;
  liveQueryMultiplexing: boolean;
  streaming: StreamingConfig;
  revocation: RevocationConfig;
  limits: RequestLimits;
  pgConnections: number;
  livePgConnections: number;
  subscriptions: SubscriptionCaps;
  events: EventsConfig & { enabled: boolean };
  /** The environment webhook_from_env / value_from_env read (Hasura reads its process environment). */
  webhookEnv: Record<string, string | undefined>;
  allowlist: 'off' | 'global' | 'full';
  redisUrl?: string | undefined;
  cacheMaxTtlSeconds: number;
}

/** Request-level limits applied to every role (0 = off); api_limits metadata may tighten them. */
export interface RequestLimits {
  maxDepth: number;
  maxNodes: number;
  maxAliases: number;
  maxBatch: number;
  bodyLimitBytes: number;
  maxVariablesBytes: number;
  queryTimeoutMs: number;
}

export interface StreamingConfig {
  refetchIntervalMs: number;
  batchSize: number;
}

export interface RevocationConfig {
  listen: boolean;
  verifyUrl: string | undefined;
}

export interface SubscriptionCaps {
  perConnection: number;
  perUser: number;
  total: number;
}

export function loadEngineConfig(env: Record<string, string | undefined> = process.env): EngineConfig {
  const e = loadConfig(schema, env);
  return {
    host: e.HOST,
    port: e.PORT,
    logLevel: e.LOG_LEVEL,
    databaseUrl: e.HASURA_GRAPHQL_DATABASE_URL,
    metadataDatabaseUrl: e.HASURA_GRAPHQL_METADATA_DATABASE_URL ?? e.HASURA_GRAPHQL_DATABASE_URL,
    adminSecret: e.HASURA_GRAPHQL_ADMIN_SECRET,
    jwt: e.HASURA_GRAPHQL_JWT_SECRET ? parseJwtConfig(e.HASURA_GRAPHQL_JWT_SECRET) : undefined,
    authHook: e.HASURA_GRAPHQL_AUTH_HOOK ? { url: e.HASURA_GRAPHQL_AUTH_HOOK, mode: e.HASURA_GRAPHQL_AUTH_HOOK_MODE } : undefined,
    unauthorizedRole: e.HASURA_GRAPHQL_UNAUTHORIZED_ROLE,
    metadataDir: e.HASURA_GRAPHQL_METADATA_DIR,
    metadataBootstrap: e.HASURA_GRAPHQL_METADATA_BOOTSTRAP,
    stringifyNumericTypes: e.HASURA_GRAPHQL_STRINGIFY_NUMERIC_TYPES,
    inferFunctionPermissions: e.HASURA_GRAPHQL_INFER_FUNCTION_PERMISSIONS,
    jsonPassthrough: e.ENGINE_JSON_PASSTHROUGH,
    preserve401: e.HASURA_GRAPHQL_PRESERVE_401_ERRORS,
    enableConsole: e.HASURA_GRAPHQL_ENABLE_CONSOLE,
    wsKeepAliveSeconds: e.HASURA_GRAPHQL_WEBSOCKET_KEEPALIVE,
    wsInitTimeoutSeconds: e.HASURA_GRAPHQL_WEBSOCKET_CONNECTION_INIT_TIMEOUT,
    maxDepth: e.HASURA_GRAPHQL_MAX_DEPTH,
    liveQueryRefetchIntervalMs: e.HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_REFETCH_INTERVAL,
    liveQueryBatchSize: e.HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_BATCH_SIZE,
    liveQueryMultiplexing: e.ENGINE_LIVE_QUERIES_MULTIPLEXING === 'on',
    streaming: { refetchIntervalMs: e.HASURA_GRAPHQL_STREAMING_QUERIES_MULTIPLEXED_REFETCH_INTERVAL, batchSize: e.HASURA_GRAPHQL_STREAMING_QUERIES_MULTIPLEXED_BATCH_SIZE },
    revocation: { listen: e.ENGINE_REVOCATION_LISTEN === 'on', verifyUrl: e.ENGINE_REVOCATION_VERIFY_URL },
    limits: {
      maxDepth: e.HASURA_GRAPHQL_MAX_DEPTH,
      maxNodes: e.ENGINE_MAX_NODES,
      maxAliases: e.ENGINE_MAX_ALIASES,
      maxBatch: e.ENGINE_MAX_BATCH,
      bodyLimitBytes: e.ENGINE_BODY_LIMIT_BYTES,
      maxVariablesBytes: e.ENGINE_MAX_VARIABLES_BYTES,
      queryTimeoutMs: e.ENGINE_QUERY_TIMEOUT_MS,
    },
    pgConnections: e.HASURA_GRAPHQL_PG_CONNECTIONS,
    livePgConnections: e.ENGINE_LIVE_PG_CONNECTIONS,
    events: {
      enabled: e.ENGINE_EVENTS_PROCESSOR === 'on',
      httpPoolSize: e.HASURA_GRAPHQL_EVENTS_HTTP_POOL_SIZE,
      fetchIntervalMs: e.HASURA_GRAPHQL_EVENTS_FETCH_INTERVAL,
      fetchBatchSize: e.HASURA_GRAPHQL_EVENTS_FETCH_BATCH_SIZE,
      staleLockSeconds: e.ENGINE_EVENTS_STALE_LOCK_SECONDS,
      gracefulShutdownMs: e.HASURA_GRAPHQL_GRACEFUL_SHUTDOWN_TIMEOUT * 1000,
      scheduledFetchIntervalMs: e.ENGINE_SCHEDULED_EVENTS_FETCH_INTERVAL,
    },
    webhookEnv: { ...env },
    allowlist: e.HASURA_GRAPHQL_ENABLE_ALLOWLIST ? e.ENGINE_ALLOWLIST_MODE : 'off',
    redisUrl: e.HASURA_GRAPHQL_REDIS_URL ?? e.REDIS_URL,
    cacheMaxTtlSeconds: e.HASURA_GRAPHQL_CACHE_MAX_ENTRY_TTL,
    subscriptions: {
      perConnection: e.ENGINE_WS_MAX_SUBSCRIPTIONS_PER_CONNECTION,
      perUser: e.ENGINE_WS_MAX_SUBSCRIPTIONS_PER_USER,
      total: e.ENGINE_WS_MAX_SUBSCRIPTIONS,
    },
  };
}

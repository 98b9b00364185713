/**
 * The engine's HTTP app: GraphQL (HTTP + WebSocket), the admin APIs, health and version, and the
 * console page. `buildApp(config)` never listens (server.ts does). The query half comes from
 * `createEngine` (contract.ts); tests may pass their own.
 */
import { randomUUID } from 'node:crypto';
import { consolePage } from '@linkport/graphql-console';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type pg from 'pg';
import { loggerOptions } from '@linkport/common';
import { createEnginePool, databaseReachable } from './db/pools.ts';
import type { CreateEngine, GraphQLEngine, Metadata } from './contract.ts';
import { createEngine as defaultCreateEngine } from './engine.ts';
import type { EngineConfig } from './config.ts';
import { Authenticator } from './auth/session.ts';
import type { JwksCacheOptions } from './auth/jwks.ts';
import { loadMetadataDir } from './metadata/files.ts';
import { emptyMetadata, normalizeMetadata } from './metadata/model.ts';
import { openMetadataStore } from './metadata/store.ts';
import { checkConsistency } from './admin/consistency.ts';
import { MetadataService } from './admin/service.ts';
import { registerGraphQLRoutes } from './http/graphql.routes.ts';
import { registerAdminRoutes } from './http/admin.routes.ts';
import { registerRestRoutes } from './rest/routes.ts';
import { QueryCache } from './cache/cache.ts';
import { registerCacheRoutes } from './cache/routes.ts';
import { createRedis } from '@linkport/common';
import { attachWebSocket } from './http/ws.ts';
import { RevocationListener } from './subscriptions/revocation.ts';
import { registerSubscriptionMetrics, type PollObservation } from './subscriptions/metrics.ts';
import { registerEngineMetrics } from './http/metrics.ts';
import { notFoundBody } from './errors.ts';
import { startEvents } from './events/start.ts';

/**
 * What `GET /v1/version` reports: the Hasura v2 release production runs on the same metadata
 * (docker-compose.yml pins graphql-engine v2.44.0), whose behaviour we follow.
 */
export const HASURA_VERSION = 'v2.44.0';

export interface AppDeps {
  createEngine?: CreateEngine;
  jwks?: JwksCacheOptions;
  /** The clock of event retries and scheduled events (tests); the system clock otherwise. */
  eventsClock?: () => Date;
}

declare module 'fastify' {
  interface FastifyInstance {
    metadataService: MetadataService;
    authenticator: Authenticator;
  }
}


async function initialMetadata(config: EngineConfig, stored: Metadata | undefined): Promise<{ metadata: Metadata; fromDir: boolean }> {
  if (config.metadataDir && (config.metadataBootstrap === 'replace' || !stored)) {
    return { metadata: normalizeMetadata(loadMetadataDir(config.metadataDir)), fromDir: true };
  }
  return { metadata: stored ?? emptyMetadata(), fromDir: false };
}

export async function buildApp(config: EngineConfig, deps: AppDeps = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: { ...loggerOptions('hasura-engine', config.logLevel) },
    // Per-request access logs cost throughput on the GraphQL hot path; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.limits.bodyLimitBytes,
    genReqId: (req) => (typeof req.headers['x-request-id'] === 'string' ? req.headers['x-request-id'] : randomUUID()),
  });
  // Three pools (issue 11): HTTP queries, live queries and admin/metadata work never wait on each
  // other's connections. Only the query pools carry the statement time limit; run_sql and
  // metadata changes are the operator's and run as long as they need.
  const onClientError = (err: Error) => app.log.warn({ err: err.message }, 'database connection lost; the pool reconnects');
  const timeout = config.limits.queryTimeoutMs;
  const queryPool = createEnginePool(config.databaseUrl, { max: config.pgConnections, applicationName: 'hasura-engine', statementTimeoutMs: timeout, onClientError });
  const livePool = createEnginePool(config.databaseUrl, { max: config.livePgConnections, applicationName: 'hasura-engine-live', statementTimeoutMs: timeout, onClientError });
  const pool = createEnginePool(config.databaseUrl, { max: 4, applicationName: 'hasura-engine-admin', onClientError });
  const metaPool: pg.Pool =
    config.metadataDatabaseUrl === config.databaseUrl ? pool : createEnginePool(config.metadataDatabaseUrl, { max: 2, applicationName: 'hasura-engine-metadata', onClientError });
  const endPools = async () => {
    for (const p of new Set([queryPool, livePool, pool, metaPool])) await p.end().catch(() => undefined);
  };
  try {
    const { store, warning } = await openMetadataStore(metaPool);
    if (warning) app.log.warn(warning);
    const stored = await store.load();
    const { metadata, fromDir } = await initialMetadata(config, stored?.metadata);
    const { effective, inconsistent } = await checkConsistency(pool, metadata);
    for (const o of inconsistent) app.log.warn({ object: o.name }, o.reason);
    const create = deps.createEngine ?? defaultCreateEngine;
    const engine: GraphQLEngine = await create(queryPool, effective, {
      stringifyNumericTypes: config.stringifyNumericTypes,
      inferFunctionPermissions: config.inferFunctionPermissions,
      jsonPassthrough: config.jsonPassthrough,
      maxDepth: config.limits.maxDepth,
      maxNodes: config.limits.maxNodes,
      maxAliases: config.limits.maxAliases,
      maxBatch: config.limits.maxBatch,
      maxVariablesBytes: config.limits.maxVariablesBytes,
      queryTimeoutMs: timeout,
      livePool,
      allowlist: config.allowlist,
    });
    let resourceVersion = stored?.resourceVersion ?? 0;
    if (!stored || (fromDir && JSON.stringify(stored.metadata) !== JSON.stringify(metadata))) {
      resourceVersion = await store.save(metadata);
    }
    const service = new MetadataService({ pool, store, engine, metadata, resourceVersion });
    await service.reload();
    const auth = new Authenticator(config, deps.jwks);
    app.decorate('metadataService', service);
    app.decorate('authenticator', auth);

    // Hasura reads every body as JSON whatever its content type; parsing is the routes' job so
    // that a bad body gets Hasura's error, not Fastify's.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
    app.addHook('onSend', async (req, reply) => {
      reply.header('x-request-id', req.id);
    });

    const metrics = registerEngineMetrics(app, { query: queryPool, live: livePool, admin: pool, ...(metaPool === pool ? {} : { metadata: metaPool }) });
    const graphql = () => metrics.observe(service.graphql);
    // @cached (cache/cache.ts): with Redis as Hasura EE; without, the directive is accepted and nothing cached (CE).
    // Request path: a command fails at once while Redis is down (no offline queue) or after 250 ms.
    const redis = config.redisUrl ? createRedis(config.redisUrl, { name: 'query-cache', log: app.log as import('@linkport/common').Logger, enableOfflineQueue: false, commandTimeout: 250 }) : undefined;
    if (redis) app.addHook('onClose', async () => { redis.disconnect(); });
    const cache = new QueryCache({ redis, maxTtlSeconds: config.cacheMaxTtlSeconds, serving: () => service.graphql.serving?.(), registry: metrics.registry,
      onUnavailable: (err) => app.log.warn({ err: err.message }, 'query cache unavailable: @cached queries run uncached until Redis answers') });
    registerCacheRoutes(app, { auth, cache });
    registerGraphQLRoutes(app, { auth, engine: graphql, preserve401: config.preserve401, cache });
    registerAdminRoutes(app, { auth, service, log: app.log });
    registerRestRoutes(app, { auth, engine: graphql, serving: () => service.graphql.serving?.(), run: (engine, req, session, clientIp) => cache.run(engine, req, session, { clientIp }) });

    // GET /healthz (App.hs): "OK", "WARN: inconsistent objects in schema", "ERROR" when the
    // database is unreachable; ?strict=true turns the warning into a 500. Hasura answers the
    // unreachable case with 500; we answer 503 (issue 11), the status orchestrators and the
    // gateway read as "temporarily out, retry", and it turns back to 200 by itself.
    const health = async (req: { query: unknown }, reply: import('fastify').FastifyReply) => {
      reply.header('content-type', 'text/plain; charset=utf-8');
      if (!(await databaseReachable(queryPool))) return reply.code(503).send('ERROR');
      if (service.inconsistent.length === 0) return reply.code(200).send('OK');
      const strict = (req.query as { strict?: string }).strict === 'true';
      return strict ? reply.code(500).send('ERROR: inconsistent objects in schema') : reply.code(200).send('WARN: inconsistent objects in schema');
    };
    app.get('/healthz', health);
    app.get('/hasura/healthz', health);
    // Readiness as every Linkport service spells it: 503 while the database is unreachable.
    // Inconsistent metadata is reported (as /healthz warns) but does not take the engine out:
    // Hasura serves the consistent part of the schema.
    app.get('/health/ready', async (_req, reply) => {
      const ok = await databaseReachable(queryPool);
      const bad = service.inconsistent.length;
      const metadata = bad === 0 ? 'consistent' : `inconsistent (${bad} object${bad === 1 ? '' : 's'}: see get_inconsistent_metadata)`;
      return reply.code(ok ? 200 : 503).header('content-type', 'application/json; charset=utf-8').send(JSON.stringify({ status: ok ? 'ok' : 'unavailable', checks: { database: ok ? 'ok' : 'unreachable', metadata } }));
    });
    app.get('/health/live', async (_req, reply) => reply.header('content-type', 'application/json; charset=utf-8').send('{"status":"ok"}'));
    app.get('/v1/version', async (_req, reply) =>
      reply.header('content-type', 'application/json; charset=utf-8').send(JSON.stringify({ version: HASURA_VERSION, server_type: 'ce' })),
    );
    if (config.enableConsole) {
      app.get('/', async (_req, reply) => reply.redirect('/console'));
      // The same self-contained page core publishes (@linkport/graphql-console), as Hasura's /console.
      app.get('/console', async (req, reply) => {
        const page = consolePage();
        reply.header('content-type', 'text/html; charset=utf-8').header('etag', page.etag).header('vary', 'accept-encoding');
        if (/\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) return reply.header('content-encoding', 'gzip').send(page.gzip);
        return reply.send(page.html);
      });
    }

    app.setNotFoundHandler((_req, reply) => reply.code(404).header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(notFoundBody)));
    app.setErrorHandler((err, req, reply) => {
      const status = (err as { statusCode?: number }).statusCode ?? 500;
      if (status >= 500) req.log.error({ err }, 'request failed');
      const body =
        status === 413
          ? { path: '$', error: 'request body too large', code: 'bad-request' }
          : status < 500
            ? { path: '$', error: (err as Error).message, code: 'bad-request' }
            : { path: '$', error: 'an unexpected error occurred', code: 'unexpected' };
      return reply.code(status).header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(body));
    });

    let observePoll: ((p: PollObservation) => void) | undefined;
    const ws = attachWebSocket(app.server, {
      auth,
      engine: graphql,
      keepAliveMs: config.wsKeepAliveSeconds * 1000,
      initTimeoutMs: config.wsInitTimeoutSeconds * 1000,
      refetchIntervalMs: config.liveQueryRefetchIntervalMs,
      batchSize: config.liveQueryBatchSize,
      multiplexing: config.liveQueryMultiplexing,
      caps: config.subscriptions,
      // First executions run at most this many at once, fairly across users (ws.ts StartQueue):
      // one pool connection each, so a flood of starts queues instead of failing to get one.
      startConcurrency: config.livePgConnections,
      maxPayloadBytes: config.limits.bodyLimitBytes,
      streamRefetchIntervalMs: config.streaming.refetchIntervalMs,
      streamBatchSize: config.streaming.batchSize,
      revocationVerifyUrl: config.revocation.verifyUrl,
      onPoll: (p) => observePoll?.(p),
      cache,
    });
    metrics.liveSubscriptions(() => ws.openSubscriptions());
    observePoll = registerSubscriptionMetrics(metrics.registry, () => ws.stats());
    // Core's revocations close the WebSockets they concern within the 5 s bound (issue 11).
    const revocations = config.revocation.listen
      ? new RevocationListener({
          databaseUrl: config.databaseUrl,
          onRevoked: (e) => {
            const n = ws.revoke(e);
            if (n > 0) app.log.info({ revocation: e.kind, closed: n }, 'closed WebSockets of a revoked credential');
          },
          onResync: () => void ws.reverify().catch(() => undefined),
          onError: (err) => app.log.warn({ err: (err as Error).message }, 'revocation listener lost its connection; reconnecting'),
        })
      : undefined;
    revocations?.start();
    app.addHook('preClose', async () => {
      await revocations?.close();
    });
    // Event and scheduled triggers: catalog, SQL triggers, delivery (events/start.ts).
    const events = await startEvents({ config, pool, service, metadata: effective, registry: metrics.registry, log: app.log, now: deps.eventsClock });
    app.addHook('preClose', () => events.stop());
    app.addHook('preClose', async () => {
      await ws.close();
    });
    app.addHook('onClose', endPools);
    return app;
  } catch (err) {
    await endPools();
    throw err;
  }
}

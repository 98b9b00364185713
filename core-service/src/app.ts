import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import cookie from '@fastify/cookie';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { countResponses, createRegistry, loggerOptions, observePool, observeRedisCommands, registerErrorHandling, registerHealth, registerHttpMetrics } from '@linkport/common';
import type { Config } from './config.ts';
import { systemClock, type Clock } from './lib/clock.ts';
import { PasswordHasher, type HashParams } from './lib/passwords.ts';
import { apiKeysRoutes } from './modules/api-keys/api-keys.routes.ts';
import { ApiKeysService } from './modules/api-keys/api-keys.service.ts';
import { consoleRoutes } from './modules/console/console.routes.ts';
import { authRoutes } from './modules/auth/auth.routes.ts';
import { AuthService } from './modules/auth/auth.service.ts';
import { LoginThrottle } from './modules/auth/throttle.ts';
import { keysRoutes } from './modules/keys/keys.routes.ts';
import { KeyStore } from './modules/keys/keys.service.ts';
import { meRoutes } from './modules/me/me.routes.ts';
import { MeService } from './modules/me/me.service.ts';
import { transferRoutes } from './modules/transfer/transfer.routes.ts';
import { TransferService } from './modules/transfer/transfer.service.ts';
import { TransferStorage } from './modules/transfer/transfer.storage.ts';
import { TransferWorker } from './modules/transfer/transfer.worker.ts';
import { verifyRoutes } from './modules/verify/verify.routes.ts';
import { CredentialVerifier } from './modules/verify/verify.service.ts';
import { dbPlugin } from './plugins/db.ts';
import { redisPlugin } from './plugins/redis.ts';
import { swaggerPlugin } from './plugins/swagger.ts';

export const PREFIX = '/v1/core';
export const BODY_LIMIT = 64 * 1024;

export interface AppOptions {
  /** Tests move time with this; everything time-based in core reads it. */
  clock?: Clock;
  /** In-process API key / user-role cache; see CredentialVerifier. */
  cacheTtlMs?: number;
  hashParams?: HashParams;
  /** false: do not load signing keys (building the OpenAPI document needs no database). */
  initKeys?: boolean;
  /** false: no transfer worker in this app even when configured (tests drive their own). */
  transferWorker?: boolean;
}

/** Accepted as the request id when the gateway sends one; anything else gets a fresh UUID. */
const requestIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;

export async function buildApp(config: Config, opts: AppOptions = {}): Promise<FastifyInstance> {
  const clock = opts.clock ?? systemClock;
  const base = Fastify({
    logger: loggerOptions('core-service', config.LOG_LEVEL),
    bodyLimit: BODY_LIMIT,
    trustProxy: config.TRUST_PROXY,
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && requestIdPattern.test(given) ? given : randomUUID();
    },
  });
  registerErrorHandling(base);
  base.setValidatorCompiler(validatorCompiler);
  base.setSerializerCompiler(serializerCompiler);
  // JSON only: a text/plain body is answered 415, not parsed into a string that fails later.
  base.removeContentTypeParser('text/plain');
  base.addHook('onRequest', async (req, reply) => {
    void reply.header('x-request-id', req.id);
  });
  const app = base.withTypeProvider<ZodTypeProvider>();

  const pool = dbPlugin(app, config);
  const redis = redisPlugin(app, config);
  const keys = new KeyStore({
    pool,
    clock,
    log: app.log,
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    privateKeys: config.JWT_PRIVATE_KEYS,
  });
  if (opts.initKeys !== false) app.addHook('onReady', () => keys.init());
  app.addHook('onClose', async () => keys.close());
  keyStores.set(base, keys);

  await app.register(cookie);
  await swaggerPlugin(app);

  const checks = [
    { name: 'postgres', check: () => pool.query('SELECT 1') },
    { name: 'redis', check: () => redis.ping() },
  ];
  registerHealth(app, checks);
  registerHealth(app, checks, PREFIX);

  // Prometheus on the service's own port (`/metrics`; the gateway keeps it private): RED per route,
  // pool and Redis saturation, and login outcomes as the login route answered them.
  const metrics = createRegistry();
  registerHttpMetrics(base, metrics);
  observePool(metrics, 'core', pool);
  observeRedisCommands(metrics, 'core', redis);
  const loginOutcomes: Record<number, string> = { 200: 'success', 401: 'failed', 429: 'throttled' };
  countResponses(base, metrics, {
    name: 'linkport_core_logins_total',
    help: 'Password logins by outcome: success, failed (wrong credentials), throttled (429 LOGIN_THROTTLED), rejected (malformed).',
    labelNames: ['outcome'] as const,
    pick: (route, method, status) => (method === 'POST' && route === `${PREFIX}/auth/login` ? { outcome: loginOutcomes[status] ?? 'rejected' } : undefined),
  });

  const hasher = new PasswordHasher(opts.hashParams);
  const throttle = new LoginThrottle(
    redis,
    {
      perAccount: config.LOGIN_MAX_FAILURES_PER_ACCOUNT,
      perIp: config.LOGIN_MAX_FAILURES_PER_IP,
      windowSeconds: config.LOGIN_THROTTLE_WINDOW_SECONDS,
    },
    app.log,
  );
  const verifier = new CredentialVerifier({ pool, keys, clock, log: app.log, cacheTtlMs: opts.cacheTtlMs ?? 5_000 });
  const auth = new AuthService({ pool, keys, clock, hasher, throttle, verifier, refreshTtlSeconds: config.REFRESH_TOKEN_TTL_DAYS * 86_400 });
  const me = new MeService({ pool, hasher, throttle, auth, verifier, clock });
  const apiKeys = new ApiKeysService({ pool, clock, verifier });
  const secureCookies = new URL(config.PUBLIC_BASE_URL).protocol === 'https:';

  await app.register(authRoutes, { prefix: PREFIX, auth, verifier, secureCookies });
  await app.register(verifyRoutes, { prefix: PREFIX, verifier });
  await app.register(keysRoutes, { prefix: PREFIX, keys });
  await app.register(meRoutes, { prefix: PREFIX, me, verifier, secureCookies });
  await app.register(apiKeysRoutes, { prefix: PREFIX, apiKeys, verifier });
  await app.register(consoleRoutes, { prefix: PREFIX });

  // Import/export jobs (modules/transfer/README.md): a worker in this process unless turned off.
  const storage = TransferStorage.fromConfig(config);
  const worker =
    storage && config.TRANSFER_WORKER && opts.transferWorker !== false
      ? new TransferWorker({
          pool,
          storage,
          log: app.log,
          pollMs: config.TRANSFER_POLL_MS,
          leaseSeconds: config.TRANSFER_LEASE_SECONDS,
          maxAttempts: config.TRANSFER_MAX_ATTEMPTS,
          maxImportRows: config.TRANSFER_MAX_IMPORT_ROWS,
          retentionHours: config.TRANSFER_RETENTION_HOURS,
        })
      : undefined;
  if (worker) {
    app.addHook('onReady', async () => worker.start());
    // preClose: the running job is handed back before the pool closes.
    app.addHook('preClose', async () => worker.stop());
  }
  if (storage) app.addHook('onClose', async () => storage.close());
  const transfer = new TransferService({ pool, storage, worker, maxImportBytes: config.TRANSFER_MAX_IMPORT_BYTES, downloadTtlSeconds: config.TRANSFER_DOWNLOAD_URL_TTL_SECONDS, now: clock });
  await app.register(transferRoutes, { prefix: PREFIX, transfer, verifier, maxImportBytes: config.TRANSFER_MAX_IMPORT_BYTES });
  return app;
}

/** Not a Fastify decoration: augmenting FastifyInstance would leak into other workspaces' types. */
const keyStores = new WeakMap<FastifyInstance, KeyStore>();

/** The app's signing/verification key set (the rotation CLI's effect is visible after `reload()`). */
export function keyStoreOf(app: FastifyInstance): KeyStore {
  const k = keyStores.get(app);
  if (!k) throw new Error('not an app built by buildApp');
  return k;
}

import Fastify, { type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { JWTVerifyGetKey } from 'jose';
import { countResponses, createRegistry, loggerOptions, observePool, registerErrorHandling, registerHealth, registerHttpMetrics } from '@linkport/common';
import type { Config } from './config.ts';
import { createAuth } from './plugins/auth.ts';
import { dbPlugin } from './plugins/db.ts';
import { s3Plugin } from './plugins/s3.ts';
import { swaggerPlugin } from './plugins/swagger.ts';
import { assetsRoutes } from './modules/assets/assets.routes.ts';
import { runExpiry, scheduleExpiry, type ExpiryResult } from './modules/assets/expiry.ts';
import { runVerifier, scheduleVerifier, type VerifyResult } from './modules/assets/integrity.ts';
import type { MediaDeps } from './modules/deps.ts';
import { uploadsRoutes } from './modules/uploads/uploads.routes.ts';
import { previewImagesRoutes } from './modules/previews/preview-images.routes.ts';

export interface MediaHandle extends MediaDeps {
  /** One pass of the expiry job (the timer runs it every MEDIA_EXPIRY_INTERVAL_SECONDS). */
  expireUploads(): Promise<ExpiryResult>;
  /** One pass of the integrity verifier (the timer runs it every MEDIA_VERIFY_INTERVAL_SECONDS). */
  verifyStored(opts?: { limit?: number; staleSeconds?: number }): Promise<VerifyResult>;
}

// A WeakMap, not a Fastify decorator: no global type augmentation in the one-program typecheck.
const handles = new WeakMap<FastifyInstance, MediaHandle>();

/** The media internals of an app built by buildApp (tests, the launcher's maintenance calls). */
export function mediaOf(app: FastifyInstance): MediaHandle {
  const handle = handles.get(app);
  if (!handle) throw new Error('mediaOf: not a media-service app');
  return handle;
}

export interface BuildOptions {
  /** Overrides the remote JWKS (tests may pass a local key set). */
  jwks?: JWTVerifyGetKey;
  logger?: boolean;
  /** Where pino writes (tests capture the log lines). */
  logStream?: NodeJS.WritableStream;
}

/** Builds the media service; never listens (docs/style.md §1 "App vs server"). */
export async function buildApp(config: Config, opts: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger:
      opts.logger === false
        ? false
        : { ...loggerOptions('media-service', config.LOG_LEVEL), ...(opts.logStream ? { stream: opts.logStream } : {}) },
    // The gateway propagates request ids (docs/architecture.md "Observability").
    requestIdHeader: 'x-request-id',
    bodyLimit: 64 * 1024,
    return503OnClosing: true,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandling(app);

  const deps: MediaDeps = { db: dbPlugin(app, config), storage: s3Plugin(app, config), config };
  handles.set(app, { ...deps, expireUploads: () => runExpiry(deps, app.log), verifyStored: (o) => runVerifier(deps, app.log, o) });

  await swaggerPlugin(app);
  const auth = createAuth(config, opts.jwks);
  const checks = [
    { name: 'database', check: () => deps.db.query('SELECT 1') },
    { name: 'storage', check: () => deps.storage.ping() },
  ];
  // Bare for orchestrators on the private port; prefixed for the gateway's public health route
  // (gateway/dynamic/media.yml forwards /v1/media/health/* unchanged).
  registerHealth(app, checks);
  registerHealth(app, checks, '/v1/media');
  // Prometheus on the private port (/metrics; the gateway answers it 404): RED per route, the pool,
  // and presigned URLs issued, counted from the routes that hand them out.
  const metrics = createRegistry();
  registerHttpMetrics(app, metrics);
  observePool(metrics, 'media', deps.db);
  const presigning: Record<string, string> = {
    'POST /v1/media/uploads': 'upload',
    'POST /v1/media/uploads/:id/parts': 'part',
    'GET /v1/media/assets/:id/download': 'download',
  };
  countResponses(app, metrics, {
    name: 'linkport_media_presigns_total',
    help: 'Presigned URLs handed out (answers of the routes that issue them), by kind: upload, part, download.',
    labelNames: ['kind'] as const,
    pick: (route, method, status) => {
      const kind = presigning[`${method} ${route}`];
      return kind && status >= 200 && status < 400 ? { kind } : undefined;
    },
  });
  await app.register(async (scope) => {
    await uploadsRoutes(scope, deps, auth);
    await assetsRoutes(scope, deps, auth);
    if (config.MEDIA_INTERNAL_SECRET) await previewImagesRoutes(scope, deps, config.MEDIA_INTERNAL_SECRET);
  });
  scheduleExpiry(app, deps);
  scheduleVerifier(app, deps);
  return app;
}

import Fastify, { type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { JWTVerifyGetKey } from 'jose';
import { loggerOptions, registerErrorHandling, registerHealth } from '@linkport/common';
import type { Config } from './config.ts';
import { authPlugin } from './plugins/auth.ts';
import { dbPlugin } from './plugins/db.ts';
import { s3Plugin } from './plugins/s3.ts';
import { swaggerPlugin } from './plugins/swagger.ts';
import { assetsRoutes } from './modules/assets/assets.routes.ts';
import { runExpiry, scheduleExpiry, type ExpiryResult } from './modules/assets/expiry.ts';
import type { MediaDeps } from './modules/deps.ts';
import { uploadsRoutes } from './modules/uploads/uploads.routes.ts';

declare module 'fastify' {
  interface FastifyInstance {
    media: MediaDeps & { expireUploads(): Promise<ExpiryResult> };
  }
}

export interface BuildOptions {
  /** Overrides the remote JWKS (tests may pass a local key set). */
  jwks?: JWTVerifyGetKey;
  logger?: boolean;
  /** Where pino writes (tests capture the log lines). */
  logStream?: NodeJS.WritableStream;
}

/** Builds the media service; never listens (STYLE.md "App vs server"). */
export async function buildApp(config: Config, opts: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger:
      opts.logger === false
        ? false
        : { ...loggerOptions('media-service', config.LOG_LEVEL), ...(opts.logStream ? { stream: opts.logStream } : {}) },
    // The gateway propagates request ids (DESIGN.md "Observability").
    requestIdHeader: 'x-request-id',
    bodyLimit: 64 * 1024,
    return503OnClosing: true,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandling(app);

  const deps: MediaDeps = { db: dbPlugin(app, config), storage: s3Plugin(app, config), config };
  app.decorate('media', { ...deps, expireUploads: () => runExpiry(deps, app.log) });

  await swaggerPlugin(app);
  await authPlugin(app, config, opts.jwks);
  registerHealth(app, [
    { name: 'database', check: () => deps.db.query('SELECT 1') },
    { name: 'storage', check: () => deps.storage.ping() },
  ]);
  await app.register(async (scope) => {
    await uploadsRoutes(scope, deps);
    await assetsRoutes(scope, deps);
  });
  scheduleExpiry(app, deps);
  return app;
}

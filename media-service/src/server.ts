/** media-service process: the shared lifecycle (common/src/runtime.ts) around buildApp. */
import { runProcess } from '@linkport/common';
import { buildApp } from './app.ts';
import { loadMediaConfig } from './config.ts';
import { s3Settings } from './plugins/s3.ts';
import { emulatorCompat } from './storage/client.ts';
import { setupBucket } from './storage/cors.ts';

await runProcess({
  name: 'media-service',
  config: () => loadMediaConfig(),
  logLevel: (c) => c.LOG_LEVEL,
  async start(config, log) {
    const settings = s3Settings(config);
    const setup = config.S3_SETUP_BUCKET === 'auto' ? emulatorCompat(settings) : config.S3_SETUP_BUCKET === 'true';
    if (setup) {
      try {
        const { cors } = await setupBucket({ ...settings, bucket: config.S3_BUCKET, corsOrigins: config.CORS_ORIGINS });
        if (cors === 'applied') log.info({ bucket: config.S3_BUCKET, origins: config.CORS_ORIGINS }, 'bucket and CORS applied');
        else log.warn({ bucket: config.S3_BUCKET }, 'bucket ready; this store has no bucket CORS API (MinIO: set MINIO_API_CORS_ALLOW_ORIGIN)');
      } catch (err) {
        // Explicitly requested: a misconfigured bucket must stop boot. Automatic: readiness will say
        // whether the bucket is reachable; browser uploads may lack CORS until fixed.
        if (config.S3_SETUP_BUCKET === 'true') throw err;
        log.error({ err, bucket: config.S3_BUCKET }, 'bucket setup failed');
      }
    }
    const app = await buildApp(config);
    await app.listen({ host: config.HOST, port: config.PORT });
    return { close: () => app.close() };
  },
});

/**
 * Creates the media bucket when missing and applies CORS_ORIGINS to it, from the media env
 * (`npm run setup-bucket -w @linkport/media-service`). For compose (MinIO) and local runs; on R2 the
 * API token may lack bucket-admin rights, so set CORS there once with the same rules (corsRules()).
 */
import { loadMediaConfig } from '../src/config.ts';
import { s3Settings } from '../src/plugins/s3.ts';
import { setupBucket } from '../src/storage/cors.ts';

const config = loadMediaConfig();
const { cors } = await setupBucket({ ...s3Settings(config), bucket: config.S3_BUCKET, corsOrigins: config.CORS_ORIGINS });
console.log(
  cors === 'applied'
    ? `bucket ${config.S3_BUCKET}: CORS for ${config.CORS_ORIGINS.join(', ') || '(none: removed)'}`
    : `bucket ${config.S3_BUCKET}: ready; no bucket CORS API on this store (MinIO: MINIO_API_CORS_ALLOW_ORIGIN)`,
);

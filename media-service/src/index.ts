export { buildApp, mediaOf, type BuildOptions, type MediaHandle } from './app.ts';
export { configSchema, loadMediaConfig, type Config } from './config.ts';
export { createS3Client, stripBucketTrailingSlash, type S3Settings } from './storage/client.ts';
export { applyBucketCors, corsRules, ensureBucket, setupBucket } from './storage/cors.ts';
export { runExpiry } from './modules/assets/expiry.ts';

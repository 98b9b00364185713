/**
 * Writes media-service/openapi.json from the routes' zod schemas (`npm run openapi -w
 * @linkport/media-service`). The app is built with placeholder settings: building connects to
 * nothing (the pool, S3 client and JWKS are lazy).
 */
import fs from 'node:fs';
import path from 'node:path';
// The `swagger` decorator's type comes with the plugin's module augmentation.
import type {} from '@fastify/swagger';
import { buildApp } from '../src/app.ts';
import { loadMediaConfig } from '../src/config.ts';

export const openapiFile = path.resolve(import.meta.dirname, '..', 'openapi.json');

export const placeholderEnv = {
  DATABASE_URL: 'postgres://media_service:x@127.0.0.1:1/linkport',
  S3_ENDPOINT: 'http://127.0.0.1:1',
  S3_ACCESS_KEY_ID: 'x',
  S3_SECRET_ACCESS_KEY: 'x',
  S3_BUCKET: 'linkport-media',
  MEDIA_PUBLIC_BASE_URL: 'http://127.0.0.1:1/media',
  JWKS_URL: 'http://127.0.0.1:1/jwks.json',
  MEDIA_EXPIRY_INTERVAL_SECONDS: '0',
};

/** The document as committed: stable key order from the route order, trailing newline. */
export async function renderOpenapi(): Promise<string> {
  const app = await buildApp(loadMediaConfig(placeholderEnv), { logger: false });
  try {
    await app.ready();
    return `${JSON.stringify(app.swagger(), null, 2)}\n`;
  } finally {
    await app.close();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  fs.writeFileSync(openapiFile, await renderOpenapi());
  console.log(`wrote ${path.relative(process.cwd(), openapiFile)}`);
}

import fs from 'node:fs';
import path from 'node:path';
import { buildApp } from './app.ts';
import { configSchema } from './config.ts';

export const OPENAPI_FILE = path.resolve(import.meta.dirname, '..', 'openapi.json');

/**
 * The OpenAPI document, built from the routes alone: placeholder URLs (never connected) and no
 * signing keys, so generating it needs no database, Redis or environment.
 */
export async function openApiDocument(): Promise<string> {
  const config = configSchema.parse({
    DATABASE_URL: 'postgres://openapi@127.0.0.1:1/openapi',
    REDIS_URL: 'redis://127.0.0.1:1',
    LOG_LEVEL: 'silent',
  });
  const app = await buildApp(config, { initKeys: false });
  try {
    await app.ready();
    return `${JSON.stringify(app.swagger(), null, 2)}\n`;
  } finally {
    await app.close();
  }
}

export async function writeOpenApi(file = OPENAPI_FILE): Promise<void> {
  fs.writeFileSync(file, await openApiDocument());
}

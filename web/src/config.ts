import path from 'node:path';
import { z } from 'zod';
import { envPort, loadConfig, logLevel } from '@linkport/common';

/** The folder of this workspace (web/), whatever the current directory. */
export const WEB_ROOT = path.resolve(import.meta.dirname, '..');

/**
 * The dashboard's static server (used by `npm start`; production serves the same files with nginx,
 * web/docker/nginx.conf). WEB_BUILD=auto builds web/dist at start when it is missing or older than
 * its sources (src/build.ts); `never` serves what is there (a read-only checkout, CI images).
 */
export const configSchema = z.object({
  HOST: z.string().default('127.0.0.1'),
  PORT: envPort.default(3007),
  LOG_LEVEL: logLevel,
  WEB_DIST_DIR: z.string().default(path.join(WEB_ROOT, 'dist', 'app')),
  WEB_BUILD: z.enum(['auto', 'never']).default('auto'),
});

export type WebConfig = z.infer<typeof configSchema>;

export function loadWebConfig(env: Record<string, string | undefined> = process.env): WebConfig {
  return loadConfig(configSchema, env);
}

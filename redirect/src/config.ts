import { z } from 'zod';
import { envBool, envPort, loadConfig, logLevel } from '@linkport/common';

const int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);
const DEV_SECRET = 'linkport-redirect-dev-secret-change-me';

/**
 * One schema for the redirect server and the click worker (they share the stream and the secret).
 * Names follow CONTRIBUTING.md (HOST, PORT, DATABASE_URL, REDIS_URL, COUNTRY_HEADER); the rest are
 * ours, each with a default tuned for one node.
 */
export const configSchema = z
  .object({
    NODE_ENV: z.string().default('development'),
    HOST: z.string().default('127.0.0.1'),
    PORT: envPort.default(3004),
    LOG_LEVEL: logLevel,
    DATABASE_URL: z.string().url(),
    REDIS_URL: z.string().url(),
    // A header set by a trusted edge (Cloudflare's cf-ipcountry, Traefik plugins); empty = no geo.
    COUNTRY_HEADER: z.string().toLowerCase().default(''),
    // The gateway is the only public port (DESIGN.md), so X-Forwarded-For's last hop is the client.
    TRUST_PROXY: envBool.default(true),
    // Signs password cookies and salts visitor hashes. Optional only outside production.
    REDIRECT_SECRET: z.string().min(16).optional(),
    // Base of the short URL encoded in QR codes; defaults to http://<Host header>.
    SHORT_BASE_URL: z.string().url().optional(),

    LINK_CACHE_TTL_MS: int(5_000),
    LINK_CACHE_MAX: int(100_000, 1),
    NEGATIVE_CACHE_TTL_MS: int(3_000),
    REDIS_LINK_TTL_S: int(300),
    REDIS_COMMAND_TIMEOUT_MS: int(500, 1),
    PERMANENT_MAX_AGE_S: int(60),
    PASSWORD_COOKIE_TTL_S: int(3_600, 60),

    CLICK_STREAM: z.string().min(1).default('clicks'),
    CLICK_DEAD_STREAM: z.string().min(1).default('clicks:dead'),
    CLICK_STREAM_MAXLEN: int(1_000_000, 1_000),
    CLICK_BUFFER_SIZE: int(100_000, 1),
    CLICK_LINGER_MS: int(2, 0),

    CLICK_GROUP: z.string().min(1).default('click-workers'),
    WORKER_NAME: z.string().optional(),
    WORKER_BATCH: int(500, 1),
    WORKER_BLOCK_MS: int(1_000, 1),
    WORKER_CLAIM_IDLE_MS: int(30_000, 100),
    WORKER_MAX_DELIVERIES: int(5, 1),
    WORKER_PARTITION_INTERVAL_MS: int(3_600_000, 1_000),
    // 0 keeps every month; otherwise monthly partitions older than this many months are dropped.
    CLICK_RETENTION_MONTHS: int(0),
  })
  .transform((c, ctx) => {
    const secret = c.REDIRECT_SECRET ?? (c.NODE_ENV === 'production' ? undefined : DEV_SECRET);
    if (!secret) {
      ctx.addIssue({ code: 'custom', path: ['REDIRECT_SECRET'], message: 'required when NODE_ENV=production' });
      return z.NEVER;
    }
    return { ...c, REDIRECT_SECRET: secret };
  });

export type Config = z.infer<typeof configSchema>;

export function loadRedirectConfig(env: Record<string, string | undefined> = process.env): Config {
  return loadConfig(configSchema, env);
}

import { z } from 'zod';
import { envBool, envPort, logLevel, loadConfig as load } from '@linkport/common';

/** A private JWK as JWT_PRIVATE_KEYS carries it (RFC 7517 §4; RSA members per RFC 7518 §6.3). */
const privateJwk = z.looseObject({
  kty: z.literal('RSA'),
  n: z.string().min(1),
  e: z.string().min(1),
  d: z.string().min(1),
  kid: z.string().min(1).optional(),
  alg: z.literal('RS256').optional(),
});
export type PrivateJwk = z.infer<typeof privateJwk>;

const jsonKeys = z
  .string()
  .transform((s, ctx) => {
    try {
      return JSON.parse(s) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON array of private JWKs' });
      return z.NEVER;
    }
  })
  .pipe(z.array(privateJwk).min(1));

const positiveInt = z.coerce.number().int().positive();

/** Every setting of core-service (CONTRIBUTING.md "Environment"); nothing below server.ts reads env. */
export const configSchema = z.object({
  HOST: z.string().default('127.0.0.1'),
  PORT: envPort.default(3001),
  LOG_LEVEL: logLevel,
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }),
  REDIS_URL: z.url({ protocol: /^rediss?$/ }),
  PUBLIC_BASE_URL: z.url({ protocol: /^https?$/ }).default('http://localhost:8080'),
  JWT_ISSUER: z.string().min(1).default('linkport'),
  JWT_AUDIENCE: z.string().min(1).default('linkport'),
  JWT_PRIVATE_KEYS: jsonKeys.optional(),
  // Proxies whose X-Forwarded-For is believed (proxy-addr names or CIDRs): per-IP login throttling
  // must see the client behind the gateway, not the gateway.
  TRUST_PROXY: z.string().default('loopback,uniquelocal'),
  LOGIN_MAX_FAILURES_PER_ACCOUNT: positiveInt.default(10),
  LOGIN_MAX_FAILURES_PER_IP: positiveInt.default(50),
  LOGIN_THROTTLE_WINDOW_SECONDS: positiveInt.default(900),
  REFRESH_TOKEN_TTL_DAYS: positiveInt.default(30),
  // Import/export jobs (modules/transfer/README.md). Object storage as media-service names it
  // (CONTRIBUTING.md "Environment"); with no S3_BUCKET the transfer routes answer 503.
  S3_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  S3_REGION: z.string().min(1).default('auto'),
  S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  S3_BUCKET: z.string().min(3).max(63).optional(),
  S3_FORCE_PATH_STYLE: envBool.default(true),
  /** Run the job worker in this process (a dedicated instance may take all jobs instead). */
  TRANSFER_WORKER: envBool.default(true),
  TRANSFER_POLL_MS: positiveInt.default(1000),
  /** A job whose worker stopped renewing its lease for this long is taken again (crash → resume). */
  TRANSFER_LEASE_SECONDS: positiveInt.default(30),
  TRANSFER_MAX_ATTEMPTS: positiveInt.default(3),
  TRANSFER_MAX_IMPORT_BYTES: positiveInt.default(50 * 1024 * 1024),
  TRANSFER_MAX_IMPORT_ROWS: positiveInt.default(200_000),
  /** Presigned download URLs live this long (R2 allows 1 s to 7 days: docs/research/storage.md §3). */
  TRANSFER_DOWNLOAD_URL_TTL_SECONDS: positiveInt.max(604_800).default(900),
  /** Export files are deleted (downloads answer 410) this long after the job finished. */
  TRANSFER_RETENTION_HOURS: positiveInt.default(168),
}).superRefine((c, ctx) => {
  if (c.S3_BUCKET && (!c.S3_ACCESS_KEY_ID || !c.S3_SECRET_ACCESS_KEY)) {
    ctx.addIssue({ code: 'custom', path: ['S3_ACCESS_KEY_ID'], message: 'S3_BUCKET needs S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY' });
  }
});

export type Config = z.infer<typeof configSchema>;

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  return load(configSchema, env);
}

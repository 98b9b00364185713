import { z } from 'zod';
import { envBool, envList, envPort, logLevel, loadConfig } from '@linkport/common';
import { parseTypeLimits, parseBytes, defaultTypeLimits } from './modules/assets/policy.ts';

/** Presigned upload URLs live at most 10 minutes (issue spec); R2 allows 1 s–7 days (docs/research/storage.md §3). */
export const MAX_UPLOAD_URL_TTL_SECONDS = 600;

const bytes = z.string().transform((s, ctx) => {
  const n = parseBytes(s);
  if (n === undefined) {
    ctx.addIssue({ code: 'custom', message: `not a size: ${s} (e.g. 1048576, 10MiB, 1GiB)` });
    return z.NEVER;
  }
  return n;
});

const typeLimits = z.string().transform((s, ctx) => {
  try {
    return parseTypeLimits(s);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

/** Environment of media-service (CONTRIBUTING.md "Environment"); nothing below server.ts reads process.env. */
export const configSchema = z.object({
  HOST: z.string().default('127.0.0.1'),
  PORT: envPort.default(3002),
  LOG_LEVEL: logLevel,
  DATABASE_URL: z.string().url(),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
  S3_ENDPOINT: z.string().url().optional(),
  S3_REGION: z.string().min(1).default('auto'),
  S3_ACCESS_KEY_ID: z.string().min(1),
  S3_SECRET_ACCESS_KEY: z.string().min(1),
  S3_BUCKET: z.string().min(3).max(63),
  S3_FORCE_PATH_STYLE: envBool.default(true),
  /**
   * Workarounds for the local @20minutes/s3rver (docs/research/storage.md §4.2; see storage/client.ts): `auto` turns
   * them on for loopback endpoints only; `true`/`false` force them.
   */
  S3_EMULATOR_COMPAT: z.enum(['auto', 'true', 'false']).default('auto'),
  /**
   * At boot: create the bucket when missing and apply CORS_ORIGINS with corsRules(). `auto`: only
   * with the local emulator (same test as S3_EMULATOR_COMPAT), whose bucket the launcher creates with
   * a generic CORS list; R2 API tokens often lack bucket-admin rights, so elsewhere it is opt-in.
   */
  S3_SETUP_BUCKET: z.enum(['auto', 'true', 'false']).default('auto'),
  MEDIA_PUBLIC_BASE_URL: z.string().url(),
  /** Shared with the events process for POST /internal/preview-images (link previews); unset: the route does not exist. */
  MEDIA_INTERNAL_SECRET: z.string().min(16, 'at least 16 characters').optional(),
  JWKS_URL: z.string().url(),
  JWT_ISSUER: z.string().min(1).default('linkport'),
  JWT_AUDIENCE: z.string().min(1).default('linkport'),
  CORS_ORIGINS: envList.default([]),
  MEDIA_UPLOAD_URL_TTL_SECONDS: z.coerce.number().int().min(1).max(MAX_UPLOAD_URL_TTL_SECONDS).default(MAX_UPLOAD_URL_TTL_SECONDS),
  MEDIA_DOWNLOAD_URL_TTL_SECONDS: z.coerce.number().int().min(1).max(604_800).default(300),
  /** How long an upload may stay pending (multipart part URLs can be re-requested meanwhile). */
  MEDIA_PENDING_TTL_SECONDS: z.coerce.number().int().min(1).default(3600),
  /** Expiry job period; 0 disables the timer (tests call the job directly). */
  MEDIA_EXPIRY_INTERVAL_SECONDS: z.coerce.number().int().min(0).default(300),
  /**
   * Integrity verifier period (0 disables the timer): each pass re-checks, with one HeadObject each,
   * up to MEDIA_VERIFY_BATCH ready assets not verified for this long (modules/assets/integrity.ts).
   */
  MEDIA_VERIFY_INTERVAL_SECONDS: z.coerce.number().int().min(0).default(3600),
  MEDIA_VERIFY_BATCH: z.coerce.number().int().min(1).max(10_000).default(200),
  /** Tombstones (deleted) and failed rows are purged after this long. */
  MEDIA_TOMBSTONE_TTL_SECONDS: z.coerce.number().int().min(0).default(7 * 86_400),
  MEDIA_USER_QUOTA_BYTES: bytes.default(1024 ** 3),
  /** `type=size` pairs, e.g. `image/png=10MiB,application/pdf=25MiB`; replaces the defaults. */
  MEDIA_TYPE_LIMITS: typeLimits.default(defaultTypeLimits),
  /** Uploads at least this large use multipart unless the client chooses. */
  MEDIA_MULTIPART_THRESHOLD_BYTES: bytes.default(100 * 1024 ** 2),
  /** S3/R2 parts are 5 MiB–5 GiB, all non-trailing parts equal on R2 (docs/research/storage.md §3). */
  MEDIA_MULTIPART_PART_SIZE_BYTES: bytes
    .pipe(z.number().min(5 * 1024 ** 2).max(5 * 1024 ** 3 - 5 * 1024 ** 2))
    .default(16 * 1024 ** 2),
});

export type Config = z.infer<typeof configSchema>;

export function loadMediaConfig(env: Record<string, string | undefined> = process.env): Config {
  return loadConfig(configSchema, env);
}

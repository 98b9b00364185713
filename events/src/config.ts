import { z } from 'zod';
import { envBool, envPort, loadConfig, logLevel } from '@linkport/common';

const int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);

/**
 * The events process (events/README.md): Hasura event-trigger receiver, webhook delivery, scheduler.
 * CONTRIBUTING.md names HOST, PORT (here EVENTS_PORT, as the launcher passes it), LOG_LEVEL and
 * DATABASE_URL; the rest are ours, each with a default for one node.
 */
export const configSchema = z.object({
  HOST: z.string().default('127.0.0.1'),
  EVENTS_PORT: envPort.default(3006),
  LOG_LEVEL: logLevel,
  // Role links_admin: the role Hasura connects as, which owns the webhooks schema Hasura serves
  // (events/README.md "Database role").
  DATABASE_URL: z.string().url(),
  // Shared with the event-trigger definitions (header X-Linkport-Events-Secret, value_from_env).
  EVENTS_HASURA_SECRET: z.string().min(16, 'at least 16 characters'),
  // Loopback receivers for local development and tests only: never set it in production.
  EVENTS_ALLOW_LOOPBACK: envBool.default(false),
  EVENTS_DELIVERY_CONCURRENCY: int(16, 1),
  EVENTS_DELIVERY_BATCH: int(50, 1),
  EVENTS_DELIVERY_POLL_MS: int(1000, 10),
  EVENTS_DELIVERY_TIMEOUT_MS: int(10_000, 100),
  EVENTS_DELIVERY_LEASE_MS: int(60_000, 1000),
  EVENTS_RESPONSE_MAX_BYTES: int(64 * 1024, 0),
  // Backoff: base * factor^(attempt-1), capped, "equal jitter" (half fixed, half random).
  EVENTS_RETRY_BASE_MS: int(30_000, 1),
  EVENTS_RETRY_FACTOR: z.coerce.number().min(1).default(3),
  EVENTS_RETRY_CAP_MS: int(6 * 3600_000, 1),
  EVENTS_MAX_ATTEMPTS: int(10, 1),
  // An endpoint failing this long, with at least this many consecutive failures, is disabled.
  EVENTS_DISABLE_AFTER_MS: int(24 * 3600_000, 0),
  EVENTS_DISABLE_MIN_FAILURES: int(20, 1),
  EVENTS_CLICK_BATCH_MS: int(60_000, 100),
  EVENTS_SCHEDULER: envBool.default(true),
  EVENTS_AUDIT_RETENTION_DAYS: int(90, 1),
  EVENTS_LOG_RETENTION_DAYS: int(30, 1),
  EVENTS_SCHEDULER_TICK_MS: int(5_000, 10),
  // Link previews (events/README.md "Link previews"): fetch bounds, attempts, on/off.
  EVENTS_PREVIEWS: envBool.default(true),
  EVENTS_PREVIEW_TIMEOUT_MS: int(8_000, 100),
  EVENTS_PREVIEW_MAX_BYTES: int(512 * 1024, 1024),
  EVENTS_PREVIEW_MAX_ATTEMPTS: int(3, 1),
  EVENTS_PREVIEW_RETRY_MS: int(5 * 60_000, 10),
  // Preview images are stored by media-service (POST /internal/preview-images, shared secret =
  // its MEDIA_INTERNAL_SECRET); without both, og:image is ignored.
  EVENTS_MEDIA_URL: z.string().url().optional(),
  EVENTS_MEDIA_SECRET: z.string().min(16, 'at least 16 characters').optional(),
  EVENTS_PREVIEW_IMAGE_MAX_BYTES: int(5 * 1024 * 1024, 1024),
});

export type Config = z.infer<typeof configSchema>;

export function loadEventsConfig(env: Record<string, string | undefined> = process.env): Config {
  return loadConfig(configSchema, env);
}

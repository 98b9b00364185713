import { defaultPorts } from '@linkport/common';

/**
 * The `npm start` stack's fixed local addresses and development-only secrets. Every one of them is
 * overridable by env; production (docker compose) sets them all explicitly.
 */
const env = (e: Record<string, string | undefined>, k: string, d: string) => e[k] ?? d;

export const localDefaults = {
  pgPort: 54329,
  redisPort: 6390,
  s3Port: 4569,
  ports: defaultPorts,
  databaseUrl: 'postgres://postgres:postgres@127.0.0.1:54329/linkport',
  redisUrl: 'redis://127.0.0.1:6390',
  s3Endpoint: 'http://127.0.0.1:4569',
  s3AccessKeyId: 'S3RVER',
  s3SecretAccessKey: 'S3RVER',
  buckets: { media: 'linkport-media' },
  rolePasswords(e: Record<string, string | undefined> = {}) {
    return {
      core_service: env(e, 'CORE_DB_PASSWORD', 'core_service_local'),
      media_service: env(e, 'MEDIA_DB_PASSWORD', 'media_service_local'),
      redirect_service: env(e, 'REDIRECT_DB_PASSWORD', 'redirect_service_local'),
      links_admin: env(e, 'LINKS_DB_PASSWORD', 'links_admin_local'),
    };
  },
} as const;

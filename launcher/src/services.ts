import { localDefaults } from '@linkport/devstack';
import type { Readiness } from './children.ts';

/**
 * The processes `npm start` runs, in one table (CONTRIBUTING.md "Ports and processes" and
 * "Environment"): adding a service is one entry here. A service whose entry file does not exist yet
 * is skipped, so the stack comes up with whatever has been written so far.
 */

/** What the launcher knows when it builds a service's environment. */
export interface EnvContext {
  /** The address each service listens on, by service name (the engine's may be an external Hasura). */
  url(name: string): string;
  port(name: string): number;
  /** The private probe port of a service that has one (ServiceDef.probePort). */
  probePort(name: string): number;
  /** A login URL for the service's own database role (migrations/src/runner.ts roleUrl). */
  roleUrl(role: 'core_service' | 'media_service' | 'redirect_service' | 'links_admin'): string;
  redisUrl: string;
  s3: { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string; bucket: string; publicBaseUrl: string };
  publicBaseUrl: string;
  corsOrigins: string;
  jwksUrl: string;
  jwtIssuer: string;
  jwtAudience: string;
  secrets: { hasuraAdminSecret: string; redirectSecret: string; eventsHasuraSecret: string; mediaInternalSecret: string };
  /** Absolute path inside the checkout. */
  repoPath(rel: string): string;
  /** Launcher's own env (overrides the operator set), for optional pass-throughs. */
  env: Record<string, string | undefined>;
}

export interface ServiceDef {
  name: string;
  /** Entry file relative to the repo root, run as `node --import tsx <entry>`. */
  entry: string;
  /** Listening port: default and the env variable that overrides it. */
  port?: { env: string; default: number };
  /** A second, private port for health probes (the gateway: its public port must not answer them). */
  probePort?: { env: string; default: number };
  readiness: Readiness;
  /** Started only once these are ready (when they exist): they fetch core's JWKS at boot. */
  after: string[];
  /**
   * Paths through the gateway that `--check` reads anonymously to prove the service is up and routed;
   * without one (media: every public path is behind forwardAuth) its own readiness path is read.
   */
  publicHealth?: string[];
  /** Rows it adds to the URL table: label → path on the gateway. */
  publicUrls?: Array<[label: string, path: string]>;
  /** Its OpenAPI UI, on its own port: through the gateway `/v1/<svc>/*` asks for a credential. */
  docs?: string;
  /** True when an operator's override replaces this process (HASURA_URL). */
  replacedBy?: string;
  env(c: EnvContext): Record<string, string | undefined>;
}

const http = (...paths: string[]): Readiness => ({ kind: 'http', paths });

/**
 * Health paths are tried in order; `common/src/health.ts` mounts them under an optional prefix, so
 * both the bare and the public-prefixed forms are accepted.
 */
export const services: ServiceDef[] = [
  {
    name: 'core',
    entry: 'core-service/src/server.ts',
    port: { env: 'CORE_PORT', default: localDefaults.ports.core },
    readiness: http('/health/ready', '/v1/core/health/ready'),
    after: [],
    publicHealth: ['/v1/core/.well-known/jwks.json'],
    publicUrls: [['JWKS', '/v1/core/.well-known/jwks.json']],
    docs: '/v1/core/docs',
    env: (c) => ({
      DATABASE_URL: c.roleUrl('core_service'),
      REDIS_URL: c.redisUrl,
      PUBLIC_BASE_URL: c.publicBaseUrl,
      JWT_ISSUER: c.jwtIssuer,
      JWT_AUDIENCE: c.jwtAudience,
      JWT_PRIVATE_KEYS: c.env.JWT_PRIVATE_KEYS,
      // Import/export jobs write to the same bucket as media, under transfer/ (modules/transfer).
      S3_ENDPOINT: c.s3.endpoint,
      S3_REGION: c.s3.region,
      S3_ACCESS_KEY_ID: c.s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: c.s3.secretAccessKey,
      S3_BUCKET: c.s3.bucket,
    }),
  },
  {
    name: 'media',
    entry: 'media-service/src/server.ts',
    port: { env: 'MEDIA_PORT', default: localDefaults.ports.media },
    readiness: http('/health/ready', '/v1/media/health/ready'),
    after: ['core'],
    docs: '/v1/media/docs',
    env: (c) => ({
      DATABASE_URL: c.roleUrl('media_service'),
      S3_ENDPOINT: c.s3.endpoint,
      S3_REGION: c.s3.region,
      S3_ACCESS_KEY_ID: c.s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: c.s3.secretAccessKey,
      S3_BUCKET: c.s3.bucket,
      MEDIA_PUBLIC_BASE_URL: c.s3.publicBaseUrl,
      JWKS_URL: c.jwksUrl,
      JWT_ISSUER: c.jwtIssuer,
      JWT_AUDIENCE: c.jwtAudience,
      CORS_ORIGINS: c.corsOrigins,
      // Link preview images from the events process (POST /internal/preview-images, events/README.md).
      MEDIA_INTERNAL_SECRET: c.secrets.mediaInternalSecret,
    }),
  },
  {
    name: 'engine',
    entry: 'hasura/engine/src/server.ts',
    port: { env: 'HASURA_PORT', default: localDefaults.ports.hasura },
    readiness: http('/healthz'),
    after: ['core'],
    publicHealth: ['/v1/links/healthz'],
    publicUrls: [
      ['GraphQL', '/v1/links/graphql'],
      ['GraphQL console', '/v1/links/console'],
      ['GraphQL health', '/v1/links/healthz'],
    ],
    replacedBy: 'HASURA_URL',
    env: (c) => ({
      HASURA_GRAPHQL_DATABASE_URL: c.roleUrl('links_admin'),
      HASURA_GRAPHQL_ADMIN_SECRET: c.secrets.hasuraAdminSecret,
      HASURA_GRAPHQL_JWT_SECRET: JSON.stringify({ jwk_url: c.jwksUrl, issuer: c.jwtIssuer, audience: c.jwtAudience }),
      HASURA_GRAPHQL_UNAUTHORIZED_ROLE: 'anonymous',
      HASURA_GRAPHQL_METADATA_DIR: c.repoPath('hasura/metadata'),
      // Open WebSockets re-verified here after missed revocations (hasura/engine/src/subscriptions/revocation.ts).
      ENGINE_REVOCATION_VERIFY_URL: `${c.url('core')}/v1/core/auth/verify`,
      // @cached query results (hasura/engine/src/cache/cache.ts; Hasura EE's feature).
      REDIS_URL: c.redisUrl,
      // Event triggers in the metadata post to `{{EVENTS_WEBHOOK_URL}}/internal/hasura/events` with
      // this secret (hasura/metadata links_links.yaml, events/README.md).
      EVENTS_WEBHOOK_URL: c.url('events'),
      EVENTS_HASURA_SECRET: c.secrets.eventsHasuraSecret,
    }),
  },
  {
    name: 'redirect',
    entry: 'redirect/src/server.ts',
    port: { env: 'REDIRECT_PORT', default: localDefaults.ports.redirect },
    readiness: http('/health/ready'),
    after: [],
    env: (c) => ({
      DATABASE_URL: c.roleUrl('redirect_service'),
      REDIS_URL: c.redisUrl,
      // Nothing in front of the local gateway sets a country header, so by default none is read
      // (a client-sent CF-IPCountry must not steer geo targeting); behind Cloudflare set
      // COUNTRY_HEADER=cf-ipcountry. The gateway on loopback is the one trusted proxy.
      COUNTRY_HEADER: c.env.COUNTRY_HEADER ?? '',
      TRUSTED_PROXIES: c.env.TRUSTED_PROXIES ?? 'loopback',
      REDIRECT_SECRET: c.secrets.redirectSecret,
      // Base of the short URLs its QR codes encode: the gateway, where `/{code}` is routed.
      SHORT_BASE_URL: c.publicBaseUrl,
      // The /{code}+ preview page shows a link's stored preview image from media's public base.
      MEDIA_PUBLIC_BASE_URL: c.s3.publicBaseUrl,
    }),
  },
  {
    name: 'worker',
    entry: 'redirect/src/worker.ts',
    // No public port: the worker's health probes only (private).
    port: { env: 'WORKER_PORT', default: 3005 },
    readiness: http('/health/ready'),
    after: [],
    env: (c) => ({
      WORKER_PORT: String(c.port('worker')),
      DATABASE_URL: c.roleUrl('redirect_service'),
      REDIS_URL: c.redisUrl,
      REDIRECT_SECRET: c.secrets.redirectSecret,
    }),
  },
  {
    // Hasura event-trigger receiver, webhook delivery and scheduled jobs (events/README.md); private.
    name: 'events',
    entry: 'events/src/server.ts',
    port: { env: 'EVENTS_PORT', default: 3006 },
    readiness: http('/health/ready'),
    after: [],
    env: (c) => ({
      EVENTS_PORT: String(c.port('events')),
      DATABASE_URL: c.roleUrl('links_admin'),
      EVENTS_HASURA_SECRET: c.secrets.eventsHasuraSecret,
      // Local development delivers to receivers on this machine; production never sets it.
      EVENTS_ALLOW_LOOPBACK: c.env.EVENTS_ALLOW_LOOPBACK ?? '1',
      // Link preview images are stored through media (events/src/previews/image.ts).
      EVENTS_MEDIA_URL: c.url('media'),
      EVENTS_MEDIA_SECRET: c.secrets.mediaInternalSecret,
    }),
  },
  {
    // The dashboard's static files (web/README.md); builds web/dist first when it is stale.
    // Port 0: any free one (stack.ts), since only the gateway talks to it.
    name: 'web',
    entry: 'web/src/server.ts',
    port: { env: 'WEB_PORT', default: 0 },
    readiness: http('/health/ready'),
    after: [],
    publicHealth: ['/app/'],
    publicUrls: [['Dashboard', '/app/']],
    env: (c) => ({ WEB_BUILD: c.env.WEB_BUILD }),
  },
  {
    name: 'gateway',
    entry: 'gateway/src/server.ts',
    port: { env: 'GATEWAY_PORT', default: localDefaults.ports.gateway },
    probePort: { env: 'GATEWAY_PROBE_PORT', default: 8082 },
    readiness: http('/ping'),
    // Upstreams are resolved per request, so only forwardAuth's core is waited for: the gateway
    // boots alongside media and the engine, and the table is printed once all are ready.
    after: ['core'],
    env: (c) => ({
      CORE_URL: c.url('core'),
      MEDIA_URL: c.url('media'),
      HASURA_URL: c.url('engine'),
      REDIRECT_URL: c.url('redirect'),
      WEB_URL: c.url('web'),
      CORS_ORIGINS: c.corsOrigins,
      SHORT_LINK_HOST: c.env.SHORT_LINK_HOST,
      GATEWAY_DYNAMIC_DIR: c.repoPath('gateway/dynamic'),
      PUBLIC_BASE_URL: c.publicBaseUrl,
      // Loopback by default; GATEWAY_HOST=0.0.0.0 opens the platform to the network.
      HOST: c.env.GATEWAY_HOST,
      GATEWAY_PROBE_PORT: String(c.probePort('gateway')),
    }),
  },
];

/** The gateway is the public face: the URL table and `--check` go through it when it runs. */
export const GATEWAY = 'gateway';

/**
 * Every port variable a stack reads: PostgreSQL, Redis and S3, then each service's port and probe
 * port from the table. Tests that start whole stacks side by side give each of these a free port,
 * so a service added to the table can never make two stacks collide on its default port (the
 * events service's 3006 did, in CI, once it joined the table).
 */
export function stackPortVariables(): string[] {
  const vars = ['PG_PORT', 'REDIS_PORT', 'S3_PORT'];
  for (const s of services) {
    if (s.port) vars.push(s.port.env);
    if (s.probePort) vars.push(s.probePort.env);
  }
  return [...new Set(vars)];
}

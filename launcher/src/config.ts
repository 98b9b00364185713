import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { localDefaults } from '@linkport/devstack';
import type { Readiness } from './children.ts';
import { LauncherError } from './errors.ts';
import { services, type ServiceDef } from './services.ts';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface StackOptions {
  /** Where overrides are read from; defaults to process.env. */
  env?: Record<string, string | undefined>;
  repoRoot?: string;
  /** Defaults to LINKPORT_DATA_DIR, else `<repo>/.data`. */
  dataDir?: string;
  /** Copy every child's log lines to `log`, prefixed with its name. */
  verbose?: boolean;
  log?: (line: string) => void;
  /** Aborting it during startup stops what was started and rejects. */
  signal?: AbortSignal;
  /** Per service (LINKPORT_READY_TIMEOUT_MS, default 60 s). */
  readyTimeoutMs?: number;
  /** SIGTERM → SIGKILL grace per child (LINKPORT_STOP_TIMEOUT_MS, default 5 s). */
  stopTimeoutMs?: number;
  /** Install redis-server with apt-get when missing (as root); LINKPORT_NO_INSTALL=1 turns it off. */
  autoInstallRedis?: boolean;
  /** Start Debian's prometheus scraping the stack (`npm start -- --prometheus`; prometheus.ts). */
  prometheus?: boolean;
}

export interface LauncherConfig {
  repoRoot: string;
  dataDir: string;
  logsDir: string;
  env: Record<string, string | undefined>;
  host: string;
  ports: { pg: number; redis: number; s3: number };
  /** Services to run, each with its resolved port. */
  selected: Array<{ def: ServiceDef; port: number | undefined; probePort: number | undefined }>;
  hasuraUrl: string | undefined;
  /** Restarts allowed within `restartWindowMs` before the stack gives up (a crash loop). */
  maxRestarts: number;
  restartWindowMs: number;
  /** First restart delay; doubles per restart within the window, capped at 30 s. */
  restartBackoffMs: number;
  publicBaseUrl: string;
  corsOrigins: string;
  jwtIssuer: string;
  jwtAudience: string;
  readyTimeoutMs: number;
  stopTimeoutMs: number;
  autoInstallRedis: boolean;
  verbose: boolean;
  /** `--prometheus`: on loopback at `port` (PROMETHEUS_PORT, 9090); `bin` = PROMETHEUS_BIN. */
  prometheus: { enabled: boolean; port: number; bin: string | undefined };
}

function port(env: Record<string, string | undefined>, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new LauncherError(`${name}=${raw} is not a port number (1-65535).`);
  return n;
}

function positive(raw: string | undefined, fallback: number): number {
  const n = Number(raw);
  return raw && Number.isFinite(n) && n > 0 ? n : fallback;
}

/**
 * Extra services from LINKPORT_EXTRA_SERVICES (JSON array), appended to the table: how tests run
 * stand-in processes (a healthy fake, one that crashes) through the real launcher, and how a
 * developer tries a new process before giving it an entry in services.ts.
 *   [{"name": "fake", "entry": "/abs/fake.mjs", "port": 4100, "readiness": "/health", "after": [], "env": {}}]
 * `readiness`: an HTTP path, "tcp", or "started" (the default without a port).
 */
function extraServices(raw: string | undefined): ServiceDef[] {
  if (!raw) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new LauncherError('LINKPORT_EXTRA_SERVICES is not valid JSON.');
  }
  if (!Array.isArray(parsed)) throw new LauncherError('LINKPORT_EXTRA_SERVICES must be a JSON array.');
  return parsed.map((item: unknown, i): ServiceDef => {
    const o = (item ?? {}) as Record<string, unknown>;
    if (typeof o.name !== 'string' || typeof o.entry !== 'string') {
      throw new LauncherError(`LINKPORT_EXTRA_SERVICES[${i}] needs "name" and "entry" strings.`);
    }
    const p = typeof o.port === 'number' ? o.port : undefined;
    const r = typeof o.readiness === 'string' ? o.readiness : p ? 'tcp' : 'started';
    const readiness: Readiness = r === 'tcp' ? { kind: 'tcp' } : r === 'started' ? { kind: 'started' } : { kind: 'http', paths: [r] };
    const extraEnv = (o.env ?? {}) as Record<string, string>;
    return {
      name: o.name,
      entry: o.entry,
      ...(p ? { port: { env: `${o.name.toUpperCase().replace(/\W/g, '_')}_PORT`, default: p } } : {}),
      readiness,
      after: Array.isArray(o.after) ? o.after.map(String) : [],
      env: (c) => ({ REDIS_URL: c.redisUrl, ...extraEnv }),
    };
  });
}

export function resolveConfig(opts: StackOptions = {}): LauncherConfig {
  const env = opts.env ?? process.env;
  const root = opts.repoRoot ?? repoRoot;
  const dataDir = path.resolve(opts.dataDir ?? env.LINKPORT_DATA_DIR ?? path.join(root, '.data'));
  const hasuraUrl = env.HASURA_URL ? env.HASURA_URL.replace(/\/$/, '') : undefined;

  // LINKPORT_SERVICES=core,gateway runs only those; "none" runs the infrastructure alone.
  const only = env.LINKPORT_SERVICES?.split(',').map((s) => s.trim()).filter(Boolean);
  if (only) {
    const unknown = only.filter((n) => n !== 'none' && !services.some((s) => s.name === n));
    if (unknown.length) throw new LauncherError(`LINKPORT_SERVICES names unknown services: ${unknown.join(', ')} (known: ${services.map((s) => s.name).join(', ')}).`);
  }
  const builtins = services.filter(
    (s) =>
      (!only || only.includes(s.name)) &&
      !(s.replacedBy && env[s.replacedBy]) &&
      fs.existsSync(path.join(root, s.entry)),
  );
  const all = [...builtins, ...extraServices(env.LINKPORT_EXTRA_SERVICES)];
  const selected = all.map((def) => ({
    def,
    port: def.port ? port(env, def.port.env, def.port.default) : undefined,
    probePort: def.probePort ? port(env, def.probePort.env, def.probePort.default) : undefined,
  }));

  const gatewayPort = port(env, 'GATEWAY_PORT', localDefaults.ports.gateway);
  const publicBaseUrl = (env.PUBLIC_BASE_URL ?? `http://localhost:${gatewayPort}`).replace(/\/$/, '');
  return {
    repoRoot: root,
    dataDir,
    logsDir: path.join(dataDir, 'logs'),
    env,
    host: '127.0.0.1',
    ports: {
      pg: port(env, 'PG_PORT', localDefaults.pgPort),
      redis: port(env, 'REDIS_PORT', localDefaults.redisPort),
      s3: port(env, 'S3_PORT', localDefaults.s3Port),
    },
    selected,
    hasuraUrl,
    publicBaseUrl,
    corsOrigins: env.CORS_ORIGINS ?? publicBaseUrl,
    jwtIssuer: env.JWT_ISSUER ?? 'linkport',
    jwtAudience: env.JWT_AUDIENCE ?? 'linkport',
    readyTimeoutMs: opts.readyTimeoutMs ?? positive(env.LINKPORT_READY_TIMEOUT_MS, 60_000),
    stopTimeoutMs: opts.stopTimeoutMs ?? positive(env.LINKPORT_STOP_TIMEOUT_MS, 5_000),
    // Crash-loop limit, as systemd's StartLimitBurst/StartLimitIntervalSec: 5 restarts in 60 s.
    maxRestarts: positive(env.LINKPORT_MAX_RESTARTS, 5),
    restartWindowMs: positive(env.LINKPORT_RESTART_WINDOW_MS, 60_000),
    restartBackoffMs: positive(env.LINKPORT_RESTART_BACKOFF_MS, 500),
    autoInstallRedis: opts.autoInstallRedis ?? !['1', 'true', 'yes'].includes(env.LINKPORT_NO_INSTALL ?? ''),
    verbose: opts.verbose ?? false,
    prometheus: { enabled: opts.prometheus ?? false, port: port(env, 'PROMETHEUS_PORT', 9090), bin: env.PROMETHEUS_BIN || undefined },
  };
}

/**
 * Variables the launcher sets per service (or that name the operator's own servers): a child must
 * not inherit them from the launcher's environment, where DATABASE_URL is the superuser's URL.
 */
export const launcherOnlyEnv = [
  'DATABASE_URL', 'HASURA_GRAPHQL_DATABASE_URL', 'REDIS_URL', 'S3_ENDPOINT', 'S3_REGION', 'S3_ACCESS_KEY_ID',
  'S3_SECRET_ACCESS_KEY', 'S3_BUCKET', 'HASURA_URL', 'CORE_URL', 'MEDIA_URL', 'REDIRECT_URL', 'JWKS_URL', 'HOST', 'PORT',
  'LINKPORT_EXTRA_SERVICES', 'LINKPORT_SERVICES',
];

import fs from 'node:fs';
import path from 'node:path';
import { createPool, pgErrorCode } from '@linkport/common';
import { localDefaults } from '@linkport/devstack';
import {
  ProvisionError,
  ensureRedisServer as provisionRedis,
  reachableDataDir,
  startEmbeddedPostgres,
  startRedisServer,
  startS3Server,
} from '@linkport/devstack';
import { MigrationError, migrate, roleUrl, setRolePasswords } from '@linkport/migrations';
import { LauncherError } from './errors.ts';

/**
 * PostgreSQL, Redis and S3: embedded by default, replaced by a real server when its env override is
 * set (docs/architecture.md "Two ways to run"). Each `start*` returns what the services need plus a `stop`.
 */

export interface Part {
  /** The process the launcher started, when it started one (not for an override). */
  pid?: number;
  stop(): Promise<void>;
}

export type InfraLog = (line: string) => void;

/** A stop that cannot hang the shutdown: `fallback` (a hard kill) runs when `stop` overruns. */
async function bounded(stop: () => Promise<void>, ms: number, fallback: () => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), ms)));
  const result = await Promise.race([stop().then(() => 'ok' as const, () => 'failed' as const), timedOut]);
  clearTimeout(timer);
  if (result !== 'ok') fallback();
}

export interface PostgresPart extends Part {
  /** Superuser URL of the `linkport` database: the one migrations run with. */
  adminUrl: string;
  embedded: boolean;
  /** Where the embedded cluster keeps its data (outside the checkout when `postgres` cannot enter it). */
  dataDir?: string;
}

export async function startPostgres(opts: {
  dataDir: string;
  port: number;
  overrideUrl?: string;
  logFile: string;
  log?: InfraLog;
}): Promise<PostgresPart> {
  if (opts.overrideUrl) return { adminUrl: opts.overrideUrl, embedded: false, stop: async () => {} };
  const wanted = path.join(opts.dataDir, 'pg');
  // As root, PostgreSQL runs as `postgres`, which cannot enter a checkout in a mode-700 home: the
  // data then lives in a fixed place outside it (devstack/src/embedded/pg-binaries.ts).
  const dataDir = reachableDataDir(wanted);
  if (dataDir !== wanted) opts.log?.(`PostgreSQL data in ${dataDir} (the \`postgres\` user cannot enter ${wanted})`);
  const log = fs.createWriteStream(opts.logFile, { flags: 'a' });
  const pg = await startEmbeddedPostgres({
    dataDir,
    port: opts.port,
    password: 'postgres',
    persistent: true,
    onLog: (m) => log.write(m),
  });
  const url = new URL(pg.url);
  url.pathname = '/linkport';
  return {
    adminUrl: url.toString(),
    embedded: true,
    pid: pg.pid,
    dataDir,
    stop: async () => {
      await pg.stop(15_000);
      log.end();
    },
  };
}

/** Creates the database named in `adminUrl` when missing (a fresh cluster has only `postgres`). */
export async function ensureDatabase(adminUrl: string): Promise<boolean> {
  const probe = createPool(adminUrl, { max: 1 });
  try {
    await probe.query('SELECT 1');
    return false;
  } catch (err) {
    if (pgErrorCode(err) !== '3D000') {
      const u = new URL(adminUrl);
      u.password = u.password ? '***' : '';
      throw new LauncherError(`cannot use PostgreSQL at ${u.toString()}: ${err instanceof Error ? err.message : String(err)}`);
    }
  } finally {
    await probe.end();
  }
  const url = new URL(adminUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  url.pathname = '/postgres';
  const pool = createPool(url.toString(), { max: 1 });
  try {
    const client = await pool.connect();
    try {
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
    } finally {
      client.release();
    }
  } finally {
    await pool.end();
  }
  return true;
}

export type Role = 'core_service' | 'media_service' | 'redirect_service' | 'links_admin';

/** Applies migrations and sets the service roles' passwords; returns the per-role URL builder. */
export async function migrateDatabase(adminUrl: string, env: Record<string, string | undefined>, log: InfraLog): Promise<(role: Role) => string> {
  const pool = createPool(adminUrl, { max: 2, applicationName: 'linkport-launcher' });
  const passwords = localDefaults.rolePasswords(env);
  try {
    try {
      const { applied } = await migrate(pool, { log: (l) => log(`  ${l}`) });
      log(applied.length ? `migrations: ${applied.length} applied` : 'migrations: up to date');
    } catch (err) {
      // MigrationError messages already say what to do (a dirty version, a newer database).
      if (err instanceof MigrationError) throw new LauncherError(`migrations: ${err.message}`);
      throw err;
    }
    await setRolePasswords(pool, passwords);
  } finally {
    await pool.end();
  }
  return (role) => roleUrl(adminUrl, role, passwords[role]);
}

export interface RedisPart extends Part {
  url: string;
  embedded: boolean;
}

/** redis-server, installed when missing and we may (devstack/src/provision.ts). */
export function ensureRedisServer(opts: { bin: string | undefined; autoInstall: boolean; log: InfraLog }): string {
  try {
    return provisionRedis({ redisBin: opts.bin, autoInstall: opts.autoInstall, log: opts.log });
  } catch (err) {
    if (err instanceof ProvisionError) throw new LauncherError(err.message);
    throw err;
  }
}

export async function startRedis(opts: {
  dataDir: string;
  port: number;
  overrideUrl?: string;
  /** From ensureRedisServer. */
  bin: string | undefined;
  logFile: string;
}): Promise<RedisPart> {
  if (opts.overrideUrl || !opts.bin) return { url: opts.overrideUrl ?? '', embedded: false, stop: async () => {} };
  const redis = await startRedisServer({ dir: path.join(opts.dataDir, 'redis'), port: opts.port, appendonly: true, bin: opts.bin });
  const log = fs.createWriteStream(opts.logFile, { flags: 'a' });
  redis.process.stdout?.on('data', (d: Buffer) => log.write(d));
  redis.process.stderr?.on('data', (d: Buffer) => log.write(d));
  const pid = redis.process.pid;
  return {
    url: redis.url,
    embedded: true,
    pid,
    // SIGTERM: redis-server fsyncs the AOF before exiting.
    stop: async () => {
      await bounded(redis.stop, 10_000, () => void redis.kill());
      log.end();
    },
  };
}

export interface S3Part extends Part {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  bucket: string;
  publicBaseUrl: string;
  embedded: boolean;
}

export async function startS3(opts: {
  dataDir: string;
  port: number;
  env: Record<string, string | undefined>;
  corsOrigins: string[];
}): Promise<S3Part> {
  const { env } = opts;
  const bucket = env.S3_BUCKET ?? localDefaults.buckets.media;
  const region = env.S3_REGION ?? 'auto';
  if (env.S3_ENDPOINT) {
    const missing = ['S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY'].filter((k) => !env[k]);
    if (missing.length) throw new LauncherError(`S3_ENDPOINT is set but ${missing.join(' and ')} not: set them too (or unset S3_ENDPOINT for the local S3 server).`);
    return {
      endpoint: env.S3_ENDPOINT,
      region,
      accessKeyId: env.S3_ACCESS_KEY_ID ?? '',
      secretAccessKey: env.S3_SECRET_ACCESS_KEY ?? '',
      bucket,
      publicBaseUrl: env.MEDIA_PUBLIC_BASE_URL ?? `${env.S3_ENDPOINT.replace(/\/$/, '')}/${bucket}`,
      embedded: false,
      stop: async () => {},
    };
  }
  const s3 = await startS3Server({ dir: path.join(opts.dataDir, 's3'), port: opts.port, buckets: [bucket], corsOrigins: opts.corsOrigins });
  return {
    endpoint: s3.endpoint,
    region,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    bucket,
    // Browsers reach the bucket on the host name they know, not the loopback address.
    publicBaseUrl: env.MEDIA_PUBLIC_BASE_URL ?? `http://localhost:${s3.port}/${bucket}`,
    embedded: true,
    stop: () => bounded(s3.stop, 5000, () => {}),
  };
}

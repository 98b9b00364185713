import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { findRedisServer, redisMissingMessage } from './embedded/redis.ts';

/**
 * What npm cannot install but `npm start` and `npm test` need: today only `redis-server` (Debian's
 * package). Both commands call this once, before anything starts, so a fresh machine behaves the
 * same under either: as root with apt-get, `apt-get update` then `apt-get install` (a fresh
 * machine's package lists are empty, so install-then-update would fail first); otherwise one
 * sentence saying what to run.
 */
export class ProvisionError extends Error {
  override name = 'ProvisionError';
}

export interface ProvisionOptions {
  /** A custom REDIS_SERVER_BIN: apt would not put a binary there, so installing cannot help. */
  redisBin?: string | undefined;
  /** LINKPORT_NO_INSTALL=1 turns installing off. */
  autoInstall?: boolean;
  log?: (line: string) => void;
}

export function ensureRedisServer(opts: ProvisionOptions = {}): string {
  const found = findRedisServer(opts.redisBin ?? 'redis-server');
  if (found) return found;
  const isRoot = process.getuid?.() === 0;
  const hasApt = spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status === 0;
  if (opts.autoInstall === false || opts.redisBin || !isRoot || !hasApt) throw new ProvisionError(redisMissingMessage);
  const log = opts.log ?? ((l: string) => console.log(l));
  log('redis-server not found: installing Debian\'s package (apt-get update && apt-get install -y redis-server)…');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // stdout to stderr: `npm test`'s own output stays the test report.
  const opt = { stdio: ['ignore', 2, 2] as ['ignore', number, number], env };
  const update = spawnSync('apt-get', ['update', '-q'], opt);
  if (update.status !== 0) log('apt-get update failed; trying the install with the lists there are…');
  spawnSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', 'redis-server'], opt);
  const after = findRedisServer('redis-server');
  if (!after) throw new ProvisionError(`installing redis-server failed — ${redisMissingMessage}`);
  return after;
}

/**
 * Debian packages some test classes use and skip without (saying so): PostGIS for the Hasura
 * suite's PostGIS classes (the conformance test starts a PostgreSQL 15 cluster of Debian's binaries),
 * chromium for the dashboard's browser test, nginx for the web image's production config. `npm
 * test` installs the missing ones as root with apt-get, like redis-server, so the README's test
 * command runs on a fresh machine what CI runs; elsewhere it says once what is skipped and why.
 */
export interface OptionalPackage {
  /** The Debian package. */
  pkg: string;
  /** What its absence costs, for the one-sentence notice. */
  use: string;
  present: () => boolean;
  /** Set to `1` once the package is present: the tests then fail instead of skipping without it. */
  requireEnv: string;
}

const has = (p: string) => {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
};
const onPath = (bin: string) => (process.env.PATH ?? '').split(path.delimiter).some((d) => d && has(path.join(d, bin)));

export const optionalTestPackages: OptionalPackage[] = [
  {
    pkg: 'postgresql-15-postgis-3',
    use: "the Hasura suite's PostGIS classes",
    present: () => has('/usr/share/postgresql/15/extension/postgis.control') && has('/usr/lib/postgresql/15/bin/postgres'),
    requireEnv: 'LINKPORT_REQUIRE_POSTGIS',
  },
  { pkg: 'chromium', use: "the dashboard's browser test", present: () => onPath('chromium'), requireEnv: 'LINKPORT_REQUIRE_CHROMIUM' },
  { pkg: 'nginx', use: "the web image's nginx config test", present: () => has('/usr/sbin/nginx'), requireEnv: 'LINKPORT_REQUIRE_NGINX' },
  { pkg: 'clickhouse-server', use: "the click worker's ClickHouse sink tests", present: () => has('/usr/sbin/clickhouse-server'), requireEnv: 'LINKPORT_REQUIRE_CLICKHOUSE' },
];

/**
 * Installs what is missing of `pkgs` (one `apt-get update`, one `apt-get install`) when root with
 * apt-get and installing is allowed; returns the env to pass to the tests (`<requireEnv>=1` per
 * package present afterwards). Never throws: a missing optional package only skips its tests.
 */
export function ensureOptionalPackages(pkgs: OptionalPackage[], opts: ProvisionOptions = {}): Record<string, string> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const missing = pkgs.filter((p) => !p.present());
  if (missing.length > 0) {
    const isRoot = process.getuid?.() === 0;
    const hasApt = spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status === 0;
    const names = missing.map((p) => p.pkg).join(' ');
    if (opts.autoInstall !== false && isRoot && hasApt) {
      log(`# installing Debian packages for ${missing.map((p) => p.use).join(', ')}: apt-get update && apt-get install -y ${names}`);
      const opt = { stdio: ['ignore', 2, 2] as ['ignore', number, number], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } };
      spawnSync('apt-get', ['update', '-q'], opt);
      spawnSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...missing.map((p) => p.pkg)], opt);
    }
    const still = missing.filter((p) => !p.present());
    if (still.length > 0) {
      const why = opts.autoInstall === false ? 'LINKPORT_NO_INSTALL=1' : !isRoot || !hasApt ? 'not root with apt-get' : 'apt-get install failed';
      log(`# ${still.map((p) => p.pkg).join(', ')} missing (${why}): ${still.map((p) => p.use).join(', ')} will be skipped; as root: apt-get update && apt-get install -y ${still.map((p) => p.pkg).join(' ')}`);
    }
  }
  return Object.fromEntries(pkgs.filter((p) => p.present()).map((p) => [p.requireEnv, '1']));
}

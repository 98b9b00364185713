import { spawnSync } from 'node:child_process';
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

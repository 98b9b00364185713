/**
 * A streaming replica of an embedded PostgreSQL primary (devstack's PG16 from npm), for the
 * topology and for tests of replica-aware code.
 *
 * The npm package ships initdb, pg_ctl and postgres but not pg_basebackup (and Debian's client may be
 * another major version, which pg_basebackup refuses), so the base backup is taken with the server's
 * low-level API (PostgreSQL docs §26.3.3 "Making a Base Backup Using the Low Level API"):
 * pg_backup_start() on a session kept open, a file copy of the data dir (without postmaster.pid,
 * pg_wal contents, pg_replslot), pg_backup_stop() whose label file becomes backup_label; then
 * standby.signal + primary_conninfo make it a hot standby streaming from the primary (§27.2.4). A
 * physical replication slot, created before the backup, keeps the WAL the replica still needs.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { pgBinaries, pgRunAs, waitForPort } from '@linkport/devstack';

export interface RunningReplica {
  url: string;
  port: number;
  pid: number;
  dataDir: string;
  stop(): Promise<void>;
}

const skipDirs = new Set(['pg_wal', 'pg_replslot', 'pg_stat_tmp', 'pg_dynshmem', 'pg_notify', 'pg_serial', 'pg_snapshots', 'pg_subtrans']);
const skipFiles = new Set(['postmaster.pid', 'postmaster.opts', 'standby.signal', 'backup_label', 'tablespace_map']);

/** Copies a data dir as the low-level API wants it: the skipped dirs exist, empty. */
function copyDataDir(from: string, to: string): void {
  fs.mkdirSync(to, { recursive: true, mode: 0o700 });
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, entry.name);
    const dst = path.join(to, entry.name);
    if (entry.isDirectory()) {
      if (skipDirs.has(entry.name)) fs.mkdirSync(dst, { recursive: true, mode: 0o700 });
      else fs.cpSync(src, dst, { recursive: true });
    } else if (!skipFiles.has(entry.name)) {
      // a file may vanish while the server runs (temporary stats); the backup tolerates that
      try {
        fs.copyFileSync(src, dst);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
  }
}

function chownTree(dir: string, uid: number, gid: number): void {
  fs.chownSync(dir, uid, gid);
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) chownTree(p, uid, gid);
    else fs.chownSync(p, uid, gid);
  }
}

export interface ReplicaOptions {
  /** The primary's superuser URL (the embedded cluster's `postgres` user). */
  primaryUrl: string;
  primaryDataDir: string;
  dataDir: string;
  port: number;
  slot?: string;
  /** false: fsync off and the data deleted on stop (tests). */
  persistent?: boolean;
  onLog?: (line: string) => void;
}

export async function startReplica(opts: ReplicaOptions): Promise<RunningReplica> {
  const slot = opts.slot ?? `replica_${opts.port}`;
  const bins = await pgBinaries();
  const runAs = pgRunAs();
  if (!fs.existsSync(path.join(opts.dataDir, 'PG_VERSION'))) {
    const c = new pg.Client({ connectionString: opts.primaryUrl });
    await c.connect();
    try {
      await c.query(
        `SELECT pg_create_physical_replication_slot($1, true) WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = $1)`,
        [slot],
      );
      await c.query(`SELECT pg_backup_start('linkport-topology', true)`);
      let label: string;
      try {
        copyDataDir(opts.primaryDataDir, opts.dataDir);
      } finally {
        const { rows } = await c.query<{ labelfile: string }>(`SELECT labelfile FROM pg_backup_stop(true)`);
        label = rows[0]?.labelfile ?? '';
      }
      fs.writeFileSync(path.join(opts.dataDir, 'backup_label'), label);
    } finally {
      await c.end();
    }
    const u = new URL(opts.primaryUrl);
    const conninfo = `host=${u.hostname} port=${u.port} user=${decodeURIComponent(u.username)} password=${decodeURIComponent(u.password)} application_name=${slot}`;
    fs.appendFileSync(
      path.join(opts.dataDir, 'postgresql.auto.conf'),
      `\nprimary_conninfo = '${conninfo.replace(/'/g, "''")}'\nprimary_slot_name = '${slot}'\nhot_standby = on\nhot_standby_feedback = on\n`,
    );
    fs.writeFileSync(path.join(opts.dataDir, 'standby.signal'), '');
    if (runAs) chownTree(opts.dataDir, runAs.uid, runAs.gid);
  }
  const fast = opts.persistent ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'];
  const args = ['-D', opts.dataDir, '-p', String(opts.port), '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200', '-c', 'unix_socket_directories=', ...fast];
  const child = spawn(bins.postgres, args, { ...runAs, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_MESSAGES: 'C' } });
  const logs: string[] = [];
  const onData = (b: Buffer) => {
    const l = b.toString('utf8');
    logs.push(l);
    if (logs.length > 40) logs.shift();
    opts.onLog?.(l);
  };
  child.stderr?.on('data', onData);
  child.stdout?.on('data', onData);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    await Promise.race([
      new Promise<void>((resolve) => {
        const check = (b: Buffer) => {
          // a hot standby says "ready to accept read-only connections"
          if (b.toString('utf8').includes('ready to accept read-only connections')) resolve();
        };
        child.stderr?.on('data', check);
      }),
      exited.then(() => {
        throw new Error(`replica exited: ${logs.slice(-8).join('')}`);
      }),
    ]);
    await waitForPort(opts.port, '127.0.0.1', 10_000);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  child.unref();
  for (const s of [child.stdout, child.stderr]) (s as { unref?: () => void } | null)?.unref?.();
  const u = new URL(opts.primaryUrl);
  u.port = String(opts.port);
  return {
    url: u.toString(),
    port: opts.port,
    pid: child.pid ?? -1,
    dataDir: opts.dataDir,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGINT');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGQUIT');
      }
      if (!opts.persistent) fs.rmSync(opts.dataDir, { recursive: true, force: true });
    },
  };
}

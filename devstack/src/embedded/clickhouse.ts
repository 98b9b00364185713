/**
 * An embedded ClickHouse for tests and the topology: Debian's `clickhouse-server` package (18.16,
 * /usr/sbin/clickhouse-server) started in the foreground as the current user, on loopback ports,
 * with its own data dir and a config written here — never the system service or /var/lib/clickhouse.
 * The config keeps only what the server needs to start (ClickHouse docs, "Server Settings": path,
 * tmp_path, http_port, tcp_port, listen_host, users) and one user `default` without a password on
 * loopback, like the embedded PostgreSQL and Redis.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort, waitForPort } from './ports.ts';

export const CLICKHOUSE_SERVER_BIN = process.env.CLICKHOUSE_SERVER_BIN ?? '/usr/sbin/clickhouse-server';

export function findClickHouseServer(bin = CLICKHOUSE_SERVER_BIN): string | undefined {
  return fs.existsSync(bin) ? bin : undefined;
}

export const clickhouseMissingMessage =
  'clickhouse-server not found: as root run `apt-get update && apt-get install -y clickhouse-server` (Debian; `npm test` does this itself when run as root), or set CLICKHOUSE_SERVER_BIN.';

export interface ClickHouseServerOptions {
  dir: string;
  /** HTTP interface (what @clickhouse/client speaks); the native TCP port is picked too. */
  httpPort?: number;
  tcpPort?: number;
  bin?: string;
  /** Spawned detached (the topology supervisor outlives nothing, but a CLI may). */
  detached?: boolean;
}

export interface RunningClickHouse {
  /** http://127.0.0.1:<httpPort> — CLICKHOUSE_URL. */
  url: string;
  httpPort: number;
  tcpPort: number;
  pid: number;
  process: ChildProcess;
  stop(): Promise<void>;
  /** SIGKILL — for failure tests. */
  kill(): Promise<void>;
}

function configXml(dir: string, httpPort: number, tcpPort: number): string {
  const d = path.resolve(dir);
  return `<?xml version="1.0"?>
<yandex>
  <logger>
    <level>warning</level>
    <log>${d}/log/server.log</log>
    <errorlog>${d}/log/server.err.log</errorlog>
    <size>10M</size>
    <count>2</count>
  </logger>
  <http_port>${httpPort}</http_port>
  <tcp_port>${tcpPort}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <max_connections>256</max_connections>
  <keep_alive_timeout>10</keep_alive_timeout>
  <max_concurrent_queries>64</max_concurrent_queries>
  <uncompressed_cache_size>67108864</uncompressed_cache_size>
  <mark_cache_size>67108864</mark_cache_size>
  <path>${d}/data/</path>
  <tmp_path>${d}/tmp/</tmp_path>
  <user_files_path>${d}/user_files/</user_files_path>
  <format_schema_path>${d}/format_schemas/</format_schema_path>
  <users_config>users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mlock_executable>false</mlock_executable>
  <builtin_dictionaries_reload_interval>3600</builtin_dictionaries_reload_interval>
  <max_session_timeout>3600</max_session_timeout>
  <default_session_timeout>60</default_session_timeout>
</yandex>
`;
}

const USERS_XML = `<?xml version="1.0"?>
<yandex>
  <profiles>
    <default>
      <max_memory_usage>2000000000</max_memory_usage>
      <load_balancing>random</load_balancing>
    </default>
  </profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
  </users>
  <quotas>
    <default>
      <interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval>
    </default>
  </quotas>
</yandex>
`;

/** Starts clickhouse-server and waits until its HTTP interface answers `/ping` with `Ok.`. */
export async function startClickHouseServer(opts: ClickHouseServerOptions): Promise<RunningClickHouse> {
  const bin = findClickHouseServer(opts.bin);
  if (!bin) throw new Error(clickhouseMissingMessage);
  const httpPort = opts.httpPort ?? (await freePort());
  const tcpPort = opts.tcpPort ?? (await freePort());
  const dir = path.resolve(opts.dir);
  for (const sub of ['log', 'data', 'tmp', 'user_files', 'format_schemas']) fs.mkdirSync(path.join(dir, sub), { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.xml'), configXml(dir, httpPort, tcpPort));
  fs.writeFileSync(path.join(dir, 'users.xml'), USERS_XML);
  const child = spawn(bin, [`--config-file=${path.join(dir, 'config.xml')}`], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], detached: opts.detached ?? false });
  if (opts.detached) child.unref();
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-4000)));
  child.stderr?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${httpPort}`;
  try {
    await Promise.race([
      (async () => {
        await waitForPort(httpPort, '127.0.0.1', 60_000);
        const deadline = Date.now() + 30_000;
        for (;;) {
          const ok = await fetch(`${url}/ping`).then((r) => r.ok, () => false);
          if (ok) return;
          if (Date.now() > deadline) throw new Error(`clickhouse-server on ${url} never answered /ping`);
          await new Promise((r) => setTimeout(r, 100));
        }
      })(),
      exited.then(() => {
        const log = readTail(path.join(dir, 'log/server.err.log'));
        throw new Error(`clickhouse-server exited: ${out}${log}`);
      }),
    ]);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  const stopWith = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    // ClickHouse waits for running queries on SIGTERM; a stuck one must not hang a test's teardown.
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(t);
  };
  return { url, httpPort, tcpPort, pid: child.pid ?? -1, process: child, stop: () => stopWith('SIGTERM'), kill: () => stopWith('SIGKILL') };
}

function readTail(file: string): string {
  try {
    return `\n${fs.readFileSync(file, 'utf8').slice(-2000)}`;
  } catch {
    return '';
  }
}

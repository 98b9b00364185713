import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort, waitForPort } from './ports.ts';

export interface RedisServerOptions {
  dir: string;
  port?: number;
  /** AOF persistence (the local stack keeps clicks across restarts; tests turn it off). */
  appendonly?: boolean;
  bin?: string;
}

export interface RunningRedis {
  url: string;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
  /** SIGKILL — for failure tests. */
  kill(): Promise<void>;
}

export function findRedisServer(bin = process.env.REDIS_SERVER_BIN ?? 'redis-server'): string | undefined {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? bin : undefined;
}

export const redisMissingMessage =
  'redis-server not found: run `sudo apt-get update && sudo apt-get install -y redis-server` (Debian/Ubuntu; `npm start` and `npm test` do this themselves when run as root), or set REDIS_URL to a running Redis.';

/** Spawns the system redis-server (Debian's package) on a loopback port, in the foreground. */
export async function startRedisServer(opts: RedisServerOptions): Promise<RunningRedis> {
  const bin = findRedisServer(opts.bin);
  if (!bin) throw new Error(redisMissingMessage);
  const port = opts.port ?? (await freePort());
  fs.mkdirSync(opts.dir, { recursive: true });
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--dir', path.resolve(opts.dir),
    '--save', '',
    '--appendonly', opts.appendonly ? 'yes' : 'no',
    '--daemonize', 'no',
    '--logfile', '',
    '--loglevel', 'warning',
  ];
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-4000)));
  child.stderr?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await Promise.race([
      waitForPort(port, '127.0.0.1', 10_000),
      exited.then(() => {
        throw new Error(`redis-server exited: ${out}`);
      }),
    ]);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  const stopWith = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    await exited;
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    process: child,
    stop: () => stopWith('SIGTERM'),
    kill: () => stopWith('SIGKILL'),
  };
}

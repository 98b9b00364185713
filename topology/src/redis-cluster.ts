/**
 * A Redis Cluster of `masters` masters with one replica each, from Debian's redis-server
 * (`--cluster-enabled yes`), created with `redis-cli --cluster create … --cluster-replicas 1
 * --cluster-yes` (Redis docs, "Scale with Redis Cluster": create a cluster). redis-cli comes with
 * redis-server in Debian's redis-tools, which devstack's provisioning installs.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ensureRedisServer, waitForPort } from '@linkport/devstack';

export interface ClusterNode {
  port: number;
  pid: number;
  child: ChildProcess | undefined;
}

export interface RunningCluster {
  ports: number[];
  /** `host:port` list for REDIS_CLUSTER_NODES / ioredis Cluster. */
  nodes: string[];
  /** A node's process id (-1 when unknown). */
  pid(port: number): number;
  /** Kills one node (SIGKILL, as a crash) and returns its port. */
  kill(port: number): void;
  /** The ports that are masters now, per CLUSTER NODES of a live node. */
  masters(): number[];
  stop(): Promise<void>;
}

function cli(port: number, ...args: string[]): string {
  const r = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`redis-cli ${args.join(' ')}: ${r.stderr || r.stdout}`);
  return r.stdout;
}

export interface ClusterOptions {
  /** Ports basePort … basePort+2·masters-1, unless `ports` lists them (tests take free ports). */
  basePort?: number;
  ports?: number[];
  /**
   * Cluster bus ports (`cluster-port`, Redis ≥ 7). Redis' own default is port+10000, which for the
   * topology's ports (23000+) lands in the kernel's ephemeral range (32768–60999), where any
   * outgoing connection may hold it: a CI run lost a node that way ("nothing listening on :24604").
   * So they are always explicit: these, or basePort+n … basePort+2n-1 next to the client ports.
   */
  busPorts?: number[];
  masters?: number;
  dir: string;
  /** Spawned detached (the topology CLI outlives them); tests keep them attached. */
  detached?: boolean;
  /** cluster-node-timeout: how long a silent master has before its replica takes over. */
  nodeTimeoutMs?: number;
}

export async function startRedisCluster(opts: ClusterOptions): Promise<RunningCluster> {
  const bin = ensureRedisServer();
  const n = (opts.masters ?? 3) * 2;
  const base = opts.basePort ?? 23100;
  const ports = opts.ports ?? Array.from({ length: n }, (_, i) => base + i);
  const busPorts = opts.busPorts ?? (opts.ports ? undefined : Array.from({ length: n }, (_, i) => base + n + i));
  if (ports.length !== n || (busPorts && busPorts.length !== n)) throw new Error(`a cluster of ${opts.masters ?? 3} masters needs ${n} ports`);
  if (!busPorts) throw new Error('startRedisCluster: pass busPorts with ports (the default port+10000 is in the ephemeral range)');
  const nodes = new Map<number, ClusterNode>();
  const logOf = (port: number) => path.join(opts.dir, String(port), 'redis.log');
  const killAll = () => {
    for (const node of nodes.values()) if (isAlive(node.pid)) process.kill(node.pid, 'SIGKILL');
  };
  for (const [i, port] of ports.entries()) {
    const dir = path.join(opts.dir, String(port));
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    const args = [
      '--port', String(port), '--bind', '127.0.0.1', '--protected-mode', 'no', '--dir', dir,
      '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf',
      '--cluster-node-timeout', String(opts.nodeTimeoutMs ?? 2000),
      '--appendonly', 'no', '--save', '',
      '--cluster-port', String(busPorts[i]),
      // a node that cannot start says why here (the error below quotes it)
      '--logfile', logOf(port),
    ];
    const child = spawn(bin, args, { stdio: 'ignore', detached: opts.detached ?? false });
    if (opts.detached) child.unref();
    nodes.set(port, { port, pid: child.pid ?? -1, child });
  }
  try {
    for (const port of ports) {
      try {
        await waitForPort(port, '127.0.0.1', 10_000);
      } catch (err) {
        let tail = '';
        try {
          tail = fs.readFileSync(logOf(port), 'utf8').trim().split('\n').slice(-5).join('\n');
        } catch {
          // no log: the process never started
        }
        throw new Error(`redis cluster node :${port} (bus :${busPorts[ports.indexOf(port)]}) did not start: ${(err as Error).message}${tail ? `\n${tail}` : ''}`);
      }
    }
    cli(ports[0] as number, '--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '1', '--cluster-yes');
    await waitClusterOk(ports);
  } catch (err) {
    // the nodes are ours: a failed start must not leave them running (an attached child keeps the
    // test process alive, and CI then waits for the run's time limit)
    killAll();
    throw err;
  }
  const alive = () => ports.filter((p) => {
    const node = nodes.get(p);
    return node !== undefined && node.pid > 0 && isAlive(node.pid);
  });
  return {
    ports,
    nodes: ports.map((p) => `127.0.0.1:${p}`),
    pid: (port) => nodes.get(port)?.pid ?? -1,
    kill(port) {
      const node = nodes.get(port);
      if (node && isAlive(node.pid)) process.kill(node.pid, 'SIGKILL');
    },
    masters() {
      const live = alive()[0];
      if (live === undefined) return [];
      return cli(live, 'cluster', 'nodes')
        .split('\n')
        .filter((l) => / master /.test(` ${l.split(' ')[2]?.replace(/,/g, ' ')} `) && !l.includes('fail'))
        .map((l) => Number(/:(\d+)@/.exec(l)?.[1]));
    },
    async stop() {
      for (const node of nodes.values()) if (isAlive(node.pid)) process.kill(node.pid, 'SIGTERM');
      const end = Date.now() + 5000;
      while ([...nodes.values()].some((x) => isAlive(x.pid)) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      for (const node of nodes.values()) if (isAlive(node.pid)) process.kill(node.pid, 'SIGKILL');
    },
  };
}

/** Until every slot is served and the state is ok everywhere. */
async function waitClusterOk(ports: number[]): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    // …and every replica has synced with its master: a replica that never had a link refuses to
    // fail over (its data counts as too old, cluster-replica-validity-factor), so a master killed
    // just after creation would leave its slots down for good.
    const ok = ports.every((p) => {
      if (!/cluster_state:ok/.test(cli(p, 'cluster', 'info'))) return false;
      const repl = cli(p, 'info', 'replication');
      return /role:master/.test(repl) || /master_link_status:up/.test(repl);
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error('redis cluster did not reach cluster_state:ok');
    await new Promise((r) => setTimeout(r, 200));
  }
}

export function isAlive(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * `npm run topology -- up`: Linkport as several machines would run it, on loopback ports from
 * TOPOLOGY_BASE_PORT (default 23000) — see topology/README.md for the port plan. Everything is a
 * child of one supervisor process (supervisor.ts), which records every PID in
 * <data>/topology.json and stops them all, by PID, on SIGTERM/SIGINT (`down`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { findClickHouseServer, localDefaults, portsInUse, startClickHouseServer, startEmbeddedPostgres, startRedisServer, startS3Server, waitForPort, type RunningPostgres } from '@linkport/devstack';
import { migrate, roleUrl, setRolePasswords } from '@linkport/migrations';
import { writeDynamicDir } from './gateway-config.ts';
import { startReplica, type RunningReplica } from './pg-replica.ts';
import { isAlive, startRedisCluster, type RunningCluster } from './redis-cluster.ts';

export const repoRoot = path.resolve(import.meta.dirname, '../..');

export interface TopologyOptions {
  basePort: number;
  dataDir: string;
  replicas: { redirect: number; worker: number; engine: number; core: number; media: number };
  /** Click stream shards on the Redis Cluster (CLICK_STREAM_SHARDS; TOPOLOGY_STREAM_SHARDS). */
  streamShards: number;
  /** ClickHouse for the workers' column-store sink: 'auto' = when clickhouse-server is installed. */
  clickhouse: 'auto' | 'on' | 'off';
  log(line: string): void;
}

export interface ProcessEntry {
  name: string;
  pid: number;
  /** Its readiness URL, for `status`. */
  health?: string;
  url?: string;
}

export interface TopologyState {
  supervisorPid: number;
  basePort: number;
  gateway: string;
  databaseUrl: string;
  replicaUrl: string;
  redisCluster: string;
  redis: string;
  s3: string;
  /** ClickHouse's HTTP URL, '' when the topology runs without it. */
  clickhouse: string;
  clickhouseDatabase: string;
  streamShards: number;
  processes: ProcessEntry[];
  startedAt: string;
  ready: boolean;
}

export function defaultOptions(env: Record<string, string | undefined>, log: (l: string) => void): TopologyOptions {
  const n = (k: string, d: number) => {
    const v = Number(env[k] ?? d);
    if (!Number.isInteger(v) || v < 1) throw new Error(`${k} must be a positive integer`);
    return v;
  };
  return {
    basePort: n('TOPOLOGY_BASE_PORT', 23000),
    dataDir: path.resolve(env.TOPOLOGY_DATA_DIR ?? '/tmp/lp-h11-topology'),
    replicas: {
      redirect: n('TOPOLOGY_REDIRECTS', 3),
      worker: n('TOPOLOGY_WORKERS', 2),
      engine: n('TOPOLOGY_ENGINES', 2),
      core: n('TOPOLOGY_CORES', 2),
      media: n('TOPOLOGY_MEDIAS', 2),
    },
    streamShards: n('TOPOLOGY_STREAM_SHARDS', 6),
    clickhouse: env.TOPOLOGY_CLICKHOUSE === '0' ? 'off' : env.TOPOLOGY_CLICKHOUSE === '1' ? 'on' : 'auto',
    log,
  };
}

/** Port plan: +0 gateway, +1 gateway probes, +10 PG primary, +11 replica, +20 Redis, +30 S3, +40/+41 ClickHouse HTTP/native, +100… Redis Cluster (+106… its bus ports), +200… services. */
export function portPlan(base: number) {
  return {
    gateway: base,
    gatewayProbe: base + 1,
    pg: base + 10,
    pgReplica: base + 11,
    redis: base + 20,
    s3: base + 30,
    clickhouse: base + 40,
    clickhouseTcp: base + 41,
    cluster: base + 100,
    redirect: base + 200,
    worker: base + 220,
    engine: base + 240,
    core: base + 260,
    media: base + 280,
  };
}

export interface RunningTopology {
  state: TopologyState;
  /** The Redis Cluster (kill tests find and kill its masters). */
  cluster: RunningCluster;
  stop(): Promise<void>;
}

export async function startTopology(opts: TopologyOptions): Promise<RunningTopology> {
  const ports = portPlan(opts.basePort);
  const { log } = opts;
  fs.mkdirSync(opts.dataDir, { recursive: true });
  fs.chmodSync(opts.dataDir, 0o755);
  const logsDir = path.join(opts.dataDir, 'logs');
  fs.mkdirSync(logsDir, { recursive: true });
  const stops: Array<() => Promise<void> | void> = [];
  const children: Array<{ entry: ProcessEntry; child: ChildProcess }> = [];
  const state: TopologyState = {
    supervisorPid: process.pid,
    basePort: opts.basePort,
    gateway: `http://127.0.0.1:${ports.gateway}`,
    databaseUrl: '',
    replicaUrl: '',
    redisCluster: '',
    redis: '',
    s3: '',
    clickhouse: '',
    clickhouseDatabase: 'linkport',
    streamShards: opts.streamShards,
    processes: [],
    startedAt: new Date().toISOString(),
    ready: false,
  };
  const stateFile = path.join(opts.dataDir, 'topology.json');
  const save = () => fs.writeFileSync(stateFile, `${JSON.stringify(state, null, 2)}\n`);

  const stop = async () => {
    // children first (SIGTERM: each drains), then the data stores
    for (const { child } of children) if (child.pid && isAlive(child.pid)) child.kill('SIGTERM');
    const end = Date.now() + 10_000;
    while (children.some(({ child }) => child.exitCode === null && child.signalCode === null) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    for (const { child } of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const s of stops.reverse()) await Promise.resolve(s()).catch((err: unknown) => log(`stop: ${String(err)}`));
    state.ready = false;
    state.processes = [];
    save();
  };

  // Every planned port free before anything starts: a taken one is named here rather than surfacing
  // as some process' EADDRINUSE in its own log.
  const planned = [
    ports.gateway, ports.gatewayProbe, ports.pg, ports.pgReplica, ports.redis, ports.s3, ports.clickhouse, ports.clickhouseTcp,
    ...range(12).map((i) => ports.cluster + i),
    ...(['redirect', 'worker', 'engine', 'core', 'media'] as const).flatMap((k) => range(opts.replicas[k]).map((i) => ports[k] + i)),
  ];
  const taken = await portsInUse(planned);
  if (taken.length > 0) throw new Error(`ports in use on 127.0.0.1: ${taken.join(', ')} (another topology? choose another TOPOLOGY_BASE_PORT)`);

  try {
    // PostgreSQL primary + streaming replica
    log(`postgres primary :${ports.pg}`);
    const primaryDir = path.join(opts.dataDir, 'pg-primary');
    const primary: RunningPostgres = await startEmbeddedPostgres({ dataDir: primaryDir, port: ports.pg, persistent: true });
    stops.push(() => primary.stop());
    state.processes.push({ name: 'postgres-primary', pid: primary.pid });
    const admin = new pg.Pool({ connectionString: primary.url, max: 2 });
    const passwords = localDefaults.rolePasswords(process.env);
    try {
      await migrate(admin, { log: () => {} });
      await setRolePasswords(admin, passwords);
    } finally {
      await admin.end();
    }
    state.databaseUrl = primary.url;
    log(`postgres replica :${ports.pgReplica} (streaming from the primary)`);
    const replica: RunningReplica = await startReplica({ primaryUrl: primary.url, primaryDataDir: primaryDir, dataDir: path.join(opts.dataDir, 'pg-replica'), port: ports.pgReplica, persistent: true });
    stops.push(() => replica.stop());
    state.processes.push({ name: 'postgres-replica', pid: replica.pid });
    state.replicaUrl = replica.url;
    const role = (r: keyof typeof passwords, url = primary.url) => roleUrl(url, r, passwords[r]);

    // Redis Cluster: the redirects' link cache, password limits and the sharded click streams; one
    // plain Redis for core and the engines
    log(`redis cluster :${ports.cluster}-${ports.cluster + 5} (3 masters, 3 replicas; cluster bus :${ports.cluster + 6}-${ports.cluster + 11})`);
    const cluster: RunningCluster = await startRedisCluster({ basePort: ports.cluster, dir: path.join(opts.dataDir, 'redis-cluster') });
    stops.push(() => cluster.stop());
    for (const port of cluster.ports) state.processes.push({ name: `redis-cluster-${port}`, pid: cluster.pid(port) });
    state.redisCluster = `redis+cluster://${cluster.nodes.join(',')}`;
    const redis = await startRedisServer({ dir: path.join(opts.dataDir, 'redis'), port: ports.redis });
    stops.push(() => redis.stop());
    state.redis = redis.url;

    // the S3 front (in this process)
    const bucket = 'linkport-media';
    const s3 = await startS3Server({ dir: path.join(opts.dataDir, 's3'), port: ports.s3, buckets: [bucket] });
    stops.push(() => s3.stop());
    state.s3 = s3.endpoint;

    // ClickHouse for the click column store (issue 18 §4)
    if (opts.clickhouse === 'on' || (opts.clickhouse === 'auto' && findClickHouseServer())) {
      log(`clickhouse :${ports.clickhouse}`);
      const ch = await startClickHouseServer({ dir: path.join(opts.dataDir, 'clickhouse'), httpPort: ports.clickhouse, tcpPort: ports.clickhouseTcp });
      stops.push(() => ch.stop());
      state.processes.push({ name: 'clickhouse', pid: ch.pid });
      state.clickhouse = ch.url;
    } else log('clickhouse: not installed, the workers write PostgreSQL only (apt-get install clickhouse-server)');
    save();

    const publicBaseUrl = state.gateway;
    const jwtIssuer = publicBaseUrl;
    const jwtAudience = 'linkport';
    const secrets = loadTopologySecrets(opts.dataDir);
    const coreUrls = range(opts.replicas.core).map((i) => `http://127.0.0.1:${ports.core + i}`);
    const jwksUrl = `${state.gateway}/v1/core/.well-known/jwks.json`;
    const s3env = { S3_ENDPOINT: s3.endpoint, S3_REGION: 'auto', S3_ACCESS_KEY_ID: s3.accessKeyId, S3_SECRET_ACCESS_KEY: s3.secretAccessKey, S3_BUCKET: bucket };

    const run = (name: string, entry: string, env: Record<string, string | undefined>, health?: string, url?: string) => {
      const out = fs.openSync(path.join(logsDir, `${name}.log`), 'a');
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, entry)], {
        cwd: repoRoot,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'development', LOG_LEVEL: 'warn', ...env },
        stdio: ['ignore', out, out],
      });
      fs.closeSync(out);
      const e: ProcessEntry = { name, pid: child.pid ?? -1, ...(health ? { health } : {}), ...(url ? { url } : {}) };
      children.push({ entry: e, child });
      state.processes.push(e);
      child.once('exit', (code, sig) => {
        log(`${name} exited (${code ?? sig})`);
        // a crash (not a stop, not a kill): its last words, before a test removes the data directory
        if (code !== null && code !== 0) {
          try {
            const tail = fs.readFileSync(path.join(logsDir, `${name}.log`), 'utf8').trim().split('\n').slice(-6);
            for (const line of tail) log(`  ${name}: ${line.slice(0, 2000)}`);
          } catch {
            // no log to quote
          }
        }
      });
      return e;
    };

    // core first: the others fetch its JWKS (through the gateway, which balances over the cores)
    for (let i = 0; i < opts.replicas.core; i++) {
      const port = ports.core + i;
      run(`core-${i + 1}`, 'core-service/src/server.ts', {
        PORT: String(port),
        DATABASE_URL: role('core_service'),
        REDIS_URL: redis.url,
        PUBLIC_BASE_URL: publicBaseUrl,
        JWT_ISSUER: jwtIssuer,
        JWT_AUDIENCE: jwtAudience,
        ...s3env,
      }, `http://127.0.0.1:${port}/health/ready`, `http://127.0.0.1:${port}`);
    }
    const gatewayEnv = {
      PORT: String(ports.gateway),
      GATEWAY_PROBE_PORT: String(ports.gatewayProbe),
      GATEWAY_DYNAMIC_DIR: path.join(opts.dataDir, 'dynamic'),
      GATEWAY_ACCESS_LOG: 'off',
      // the loadtest speaks for many visitors through X-Forwarded-For (per-client rate limits)
      GATEWAY_TRUSTED_IPS: '127.0.0.1',
      PUBLIC_BASE_URL: publicBaseUrl,
      CORE_URL: coreUrls[0],
      WEB_URL: `http://127.0.0.1:${ports.gateway + 2}`,
    };
    const servers = (envName: string, base: number, n: number, healthPath: string) => ({ envName, urls: range(n).map((i) => `http://127.0.0.1:${base + i}`), healthPath });
    writeDynamicDir(path.join(repoRoot, 'gateway/dynamic'), gatewayEnv.GATEWAY_DYNAMIC_DIR, [
      servers('CORE_URL', ports.core, opts.replicas.core, '/health/ready'),
      servers('MEDIA_URL', ports.media, opts.replicas.media, '/health/ready'),
      servers('HASURA_URL', ports.engine, opts.replicas.engine, '/healthz'),
      servers('REDIRECT_URL', ports.redirect, opts.replicas.redirect, '/health/ready'),
    ]);
    run('gateway', 'gateway/src/server.ts', gatewayEnv, `http://127.0.0.1:${ports.gateway}/ping`, state.gateway);
    for (const p of [...coreUrls.map((u) => Number(new URL(u).port)), ports.gateway]) await waitForPort(p, '127.0.0.1', 60_000);

    for (let i = 0; i < opts.replicas.redirect; i++) {
      const port = ports.redirect + i;
      run(`redirect-${i + 1}`, 'redirect/src/server.ts', {
        PORT: String(port),
        DATABASE_URL: role('redirect_service'),
        REDIRECT_DATABASE_READ_URL: role('redirect_service', replica.url),
        // click streams (sharded, each batch confirmed by a replica) and password limits on the cluster
        REDIS_URL: state.redisCluster,
        CLICK_STREAM_SHARDS: String(opts.streamShards),
        CLICK_STREAM_MIN_REPLICAS: '1',
        REDIRECT_CACHE_REDIS_URL: state.redisCluster,
        TRUSTED_PROXIES: 'loopback',
        REDIRECT_SECRET: secrets.redirectSecret,
        SHORT_BASE_URL: publicBaseUrl,
      }, `http://127.0.0.1:${port}/health/ready`, `http://127.0.0.1:${port}`);
    }
    for (let i = 0; i < opts.replicas.worker; i++) {
      const port = ports.worker + i;
      run(`worker-${i + 1}`, 'redirect/src/worker.ts', {
        WORKER_PORT: String(port),
        WORKER_NAME: `worker-${i + 1}`,
        DATABASE_URL: role('redirect_service'),
        REDIS_URL: state.redisCluster,
        CLICK_STREAM_SHARDS: String(opts.streamShards),
        // a killed worker's pending entries are taken over after 5 s (default 30 s)
        WORKER_CLAIM_IDLE_MS: '5000',
        ...(state.clickhouse ? { CLICKHOUSE_URL: state.clickhouse, CLICKHOUSE_DATABASE: state.clickhouseDatabase } : {}),
        REDIRECT_SECRET: secrets.redirectSecret,
      }, `http://127.0.0.1:${port}/health/ready`);
    }
    for (let i = 0; i < opts.replicas.engine; i++) {
      const port = ports.engine + i;
      run(`engine-${i + 1}`, 'hasura/engine/src/server.ts', {
        PORT: String(port),
        HASURA_GRAPHQL_DATABASE_URL: role('links_admin'),
        HASURA_GRAPHQL_ADMIN_SECRET: secrets.hasuraAdminSecret,
        HASURA_GRAPHQL_JWT_SECRET: JSON.stringify({ jwk_url: jwksUrl, issuer: jwtIssuer, audience: jwtAudience }),
        HASURA_GRAPHQL_UNAUTHORIZED_ROLE: 'anonymous',
        HASURA_GRAPHQL_METADATA_DIR: path.join(repoRoot, 'hasura/metadata'),
        REDIS_URL: redis.url,
      }, `http://127.0.0.1:${port}/healthz`, `http://127.0.0.1:${port}`);
    }
    for (let i = 0; i < opts.replicas.media; i++) {
      const port = ports.media + i;
      run(`media-${i + 1}`, 'media-service/src/server.ts', {
        PORT: String(port),
        DATABASE_URL: role('media_service'),
        ...s3env,
        MEDIA_PUBLIC_BASE_URL: `${s3.endpoint}/${bucket}`,
        JWKS_URL: jwksUrl,
        JWT_ISSUER: jwtIssuer,
        JWT_AUDIENCE: jwtAudience,
      }, `http://127.0.0.1:${port}/health/ready`, `http://127.0.0.1:${port}`);
    }
    save();
    // ready when every process with a health URL answers 200
    const deadline = Date.now() + 180_000;
    for (const p of state.processes) {
      if (!p.health) continue;
      for (;;) {
        const ok = await fetch(p.health).then((r) => r.ok, () => false);
        if (ok) break;
        const c = children.find((x) => x.entry === p)?.child;
        if (c && (c.exitCode !== null || c.signalCode !== null)) throw new Error(`${p.name} exited during start-up: see ${path.join(logsDir, `${p.name}.log`)}`);
        if (Date.now() > deadline) throw new Error(`${p.name} not ready at ${p.health} after 180 s: see ${path.join(logsDir, `${p.name}.log`)}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    state.ready = true;
    save();
    return { state, cluster, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** Development secrets shared by the replicas (one redirect secret for all, or cookies break between them). */
function loadTopologySecrets(dir: string): { redirectSecret: string; hasuraAdminSecret: string } {
  const file = path.join(dir, 'secrets.json');
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8')) as { redirectSecret: string; hasuraAdminSecret: string };
  const rnd = () => Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url');
  const s = { redirectSecret: rnd(), hasuraAdminSecret: rnd() };
  fs.writeFileSync(file, JSON.stringify(s), { mode: 0o600 });
  return s;
}

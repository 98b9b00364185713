import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { EXIT_CONFIG } from '@linkport/common';
import { freePort } from '@linkport/devstack';
import { Child, ChildExitedError, describeExit, failureReport, waitReady, type ChildExit } from './children.ts';
import { launcherOnlyEnv, resolveConfig, type LauncherConfig, type StackOptions } from './config.ts';
import { LauncherError } from './errors.ts';
import { ensureDatabase, ensureRedisServer, migrateDatabase, startPostgres, startRedis, startS3, type Part, type PostgresPart, type RedisPart, type S3Part } from './infra.ts';
import { pidAlive, signalGroup, sleep } from './procs.ts';
import { ensurePrometheus, metricsTargets, startPrometheus } from './prometheus.ts';
import { INNER_ENV, SUPERVISOR_ENV } from './supervise.ts';
import { loadSecrets } from './secrets.ts';
import { GATEWAY, services, type EnvContext, type ServiceDef } from './services.ts';
import { formatTable, urlRows } from './table.ts';

export type { StackOptions } from './config.ts';

export interface HealthResult {
  name: string;
  url: string;
  status: number | string;
  ok: boolean;
}

/** Where everything answers, for programs (end-to-end tests): the table's content, structured. */
export interface StackEndpoints {
  /** The gateway's public URL, when the gateway runs. */
  gateway: string | undefined;
  /** Each running service's own address (engine: the external HASURA_URL when set). */
  services: Record<string, string>;
  /** Superuser URL of the migrated database. */
  databaseUrl: string;
  redisUrl: string;
  s3: { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string; bucket: string; publicBaseUrl: string };
  hasuraAdminSecret: string;
  jwksUrl: string;
  /** Each running service's private /metrics, by service name. */
  metrics: Record<string, string>;
  /** The local Prometheus, when started with `prometheus: true` (`--prometheus`). */
  prometheus: string | undefined;
}

export interface RunningStack {
  /** label → URL, as printed. */
  urls: Record<string, string>;
  endpoints: StackEndpoints;
  /** The printed table. */
  table: string;
  /** process name → pid (postgres is the postmaster; each child leads its own process group). */
  pids: Record<string, number>;
  /** Names of the services started, in start order. */
  started: string[];
  dataDir: string;
  /** Resolves with a report (the child's log tail) when a child dies on its own. */
  failure: Promise<string>;
  /** Every health endpoint, through the gateway when it runs. */
  check(): Promise<HealthResult[]>;
  /** Children first (SIGTERM, then SIGKILL), then Redis, S3, PostgreSQL. Idempotent. */
  stop(): Promise<void>;
}

async function portBusy(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(true));
    srv.listen(port, host, () => srv.close(() => resolve(false)));
  });
}

/** Pids recorded by a previous launcher on this data dir that died without stopping them. */
function leftovers(dataDir: string): number[] {
  try {
    const prev = JSON.parse(fs.readFileSync(path.join(dataDir, 'run.json'), 'utf8')) as {
      launcherPid?: number;
      pids?: Record<string, number>;
      stoppedAt?: string;
    };
    if (prev.stoppedAt || !prev.launcherPid || pidAlive(prev.launcherPid)) return [];
    // A recorded pid may have been reused since: only name processes that still look like ours.
    const ours = (pid: number) => {
      try {
        return /postgres|redis-server|node/.test(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
      } catch {
        return false;
      }
    };
    return Object.values(prev.pids ?? {}).filter((pid) => pidAlive(pid) && ours(pid));
  } catch {
    return [];
  }
}

/** One clear line per busy port, before anything starts (a half-started stack is worse). */
async function checkPorts(cfg: LauncherConfig): Promise<void> {
  const wanted: Array<[number, string, string]> = [];
  if (!cfg.env.DATABASE_URL) wanted.push([cfg.ports.pg, 'PostgreSQL', 'PG_PORT']);
  if (!cfg.env.REDIS_URL) wanted.push([cfg.ports.redis, 'Redis', 'REDIS_PORT']);
  if (!cfg.env.S3_ENDPOINT) wanted.push([cfg.ports.s3, 'S3', 'S3_PORT']);
  for (const { def, port, probePort } of cfg.selected) {
    if (port && def.port) wanted.push([port, def.name, def.port.env]);
    if (probePort && def.probePort) wanted.push([probePort, `${def.name} probes`, def.probePort.env]);
  }
  if (cfg.prometheus.enabled) wanted.push([cfg.prometheus.port, 'Prometheus', 'PROMETHEUS_PORT']);
  const seen = new Map<number, string>();
  for (const [port, what, envName] of wanted) {
    const other = seen.get(port);
    if (other) throw new LauncherError(`port ${port} is configured for both ${other} and ${what}: give ${envName} another value.`);
    seen.set(port, what);
    if (await portBusy(port, cfg.host)) {
      const left = leftovers(cfg.dataDir);
      const hint = left.length
        ? `processes left by a launcher that was killed hold it: \`kill ${left.join(' ')}\``
        : `stop whatever holds it (another \`npm start\`? see \`ss -ltnp | grep :${port}\`)`;
      throw new LauncherError(`port ${port} (${what}) is already in use — ${hint}, or set ${envName}=<free port>.`);
    }
  }
}

function prepareDataDir(cfg: LauncherConfig): void {
  fs.mkdirSync(cfg.logsDir, { recursive: true });
}

function childBaseEnv(cfg: LauncherConfig): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...process.env, ...cfg.env };
  for (const k of [...launcherOnlyEnv, INNER_ENV]) delete base[k];
  return base;
}

/** Start order: each wave holds the services whose (present) dependencies are all in earlier waves. */
export function waves(defs: ServiceDef[]): ServiceDef[][] {
  const present = new Set(defs.map((d) => d.name));
  const done = new Set<string>();
  const out: ServiceDef[][] = [];
  let left = [...defs];
  while (left.length) {
    const wave = left.filter((d) => d.after.every((a) => !present.has(a) || done.has(a)));
    if (!wave.length) throw new LauncherError(`service dependencies form a cycle: ${left.map((d) => d.name).join(', ')}`);
    out.push(wave);
    for (const d of wave) done.add(d.name);
    left = left.filter((d) => !wave.includes(d));
  }
  return out;
}

async function httpGet(url: string): Promise<number | string> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    await res.body?.cancel();
    return res.status;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

export async function startStack(options: StackOptions = {}): Promise<RunningStack> {
  const cfg = resolveConfig(options);
  const log = options.log ?? ((line: string) => console.log(line));
  const signal = options.signal;
  /** The live child of each service (a restart replaces it). */
  const current = new Map<string, Child>();
  const restartTimes: Record<string, number[]> = {};
  const restartCounts: Record<string, number> = {};
  let up = false;
  const infra: Part[] = [];
  let stopping = false;
  let reportFailure: (report: string) => void = () => {};
  const failure = new Promise<string>((resolve) => (reportFailure = resolve));

  const pids: Record<string, number> = {};
  const runFile = path.join(cfg.dataDir, 'run.json');
  let runExtra: Record<string, unknown> = {};
  let ownsRunFile = false;
  const writeRunFile = (extra: Record<string, unknown> = {}) => {
    runExtra = { ...runExtra, ...extra };
    ownsRunFile = true;
    fs.writeFileSync(runFile, `${JSON.stringify({ launcherPid: process.pid, pids, ...runExtra }, null, 2)}\n`);
  };

  let stopPromise: Promise<void> | undefined;
  const stop = () =>
    (stopPromise ??= (async () => {
      stopping = true;
      await Promise.all([...current.values()].map((c) => c.stop(cfg.stopTimeoutMs)));
      // Reverse start order: Redis, then S3, then PostgreSQL last — the services drained into them.
      for (const part of [...infra].reverse()) await part.stop().catch(() => {});
      // Marks a clean stop, so a later start never takes these (maybe reused) pids for leftovers.
      // Not when this start failed before writing it: the file is then another launcher's.
      if (ownsRunFile) writeRunFile({ stoppedAt: new Date().toISOString() });
    })());

  try {
    // A service whose default port is 0 (web) takes any free port unless its variable names one:
    // it is private behind the gateway, and parallel stacks (e2e tests) must not collide on it.
    for (const s of cfg.selected) if (s.port === 0) s.port = await freePort(cfg.host);
    await checkPorts(cfg);
    prepareDataDir(cfg);
    const secrets = loadSecrets(cfg.dataDir, cfg.env);
    const logFile = (name: string) => path.join(cfg.logsDir, `${name}.log`);

    // Before anything starts: a missing redis-server is the likeliest failure on a fresh machine.
    const redisBin = cfg.env.REDIS_URL ? undefined : ensureRedisServer({ bin: cfg.env.REDIS_SERVER_BIN, autoInstall: cfg.autoInstallRedis, log });
    const prometheusBin = cfg.prometheus.enabled ? ensurePrometheus({ bin: cfg.prometheus.bin, autoInstall: cfg.autoInstallRedis, log }) : undefined;

    // The three stores start side by side; whichever started is stopped if another fails.
    const [pgR, redisR, s3R] = await Promise.allSettled([
      startPostgres({ dataDir: cfg.dataDir, port: cfg.ports.pg, overrideUrl: cfg.env.DATABASE_URL, logFile: logFile('postgres'), log }),
      startRedis({
        dataDir: cfg.dataDir,
        port: cfg.ports.redis,
        overrideUrl: cfg.env.REDIS_URL,
        bin: redisBin,
        logFile: logFile('redis'),
      }),
      startS3({ dataDir: cfg.dataDir, port: cfg.ports.s3, env: cfg.env, corsOrigins: cfg.corsOrigins.split(',') }),
    ]);
    // stop() runs these in reverse: Redis, S3, then PostgreSQL, which the others may still flush into.
    for (const r of [pgR, s3R, redisR]) if (r.status === 'fulfilled') infra.push(r.value);
    for (const r of [pgR, redisR, s3R]) if (r.status === 'rejected') throw r.reason;
    const pg = (pgR as PromiseFulfilledResult<PostgresPart>).value;
    const redis = (redisR as PromiseFulfilledResult<RedisPart>).value;
    const s3 = (s3R as PromiseFulfilledResult<S3Part>).value;
    if (pg.pid) pids.postgres = pg.pid;
    if (redis.pid) pids.redis = redis.pid;
    writeRunFile();
    log(`PostgreSQL ${pg.embedded ? `(embedded, ${pg.dataDir ?? path.join(cfg.dataDir, 'pg')})` : '(DATABASE_URL)'}, Redis ${redis.embedded ? '(redis-server, AOF)' : '(REDIS_URL)'}, S3 ${s3.embedded ? `(local, bucket ${s3.bucket})` : '(S3_ENDPOINT)'} up`);
    signal?.throwIfAborted();

    if (await ensureDatabase(pg.adminUrl)) log(`created database ${new URL(pg.adminUrl).pathname.slice(1)}`);
    const roleUrl = await migrateDatabase(pg.adminUrl, cfg.env, log);
    signal?.throwIfAborted();

    const portOf = new Map(cfg.selected.map((s) => [s.def.name, s.port]));
    // Upstreams of services not running (not written yet) still get their would-be address.
    const defaultPorts: Record<string, number> = {};
    for (const s of services) if (s.port) defaultPorts[s.name] = Number(cfg.env[s.port.env] ?? s.port.default);
    const portFor = (name: string): number => {
      const p = portOf.get(name) ?? defaultPorts[name];
      if (p === undefined) throw new Error(`service ${name} has no port`);
      return p;
    };
    const probePortFor = (name: string): number => {
      const p = cfg.selected.find((x) => x.def.name === name)?.probePort;
      if (p === undefined) throw new Error(`service ${name} has no probe port`);
      return p;
    };
    const urlFor = (name: string): string => (name === 'engine' && cfg.hasuraUrl ? cfg.hasuraUrl : `http://${cfg.host}:${portFor(name)}`);
    const ctx: EnvContext = {
      url: urlFor,
      port: portFor,
      probePort: probePortFor,
      roleUrl,
      redisUrl: redis.url,
      s3,
      publicBaseUrl: cfg.publicBaseUrl,
      corsOrigins: cfg.corsOrigins,
      jwksUrl: `${urlFor('core')}/v1/core/.well-known/jwks.json`,
      jwtIssuer: cfg.jwtIssuer,
      jwtAudience: cfg.jwtAudience,
      secrets,
      repoPath: (rel) => path.join(cfg.repoRoot, rel),
      env: cfg.env,
    };

    const baseEnv = childBaseEnv(cfg);
    const width = Math.max(0, ...cfg.selected.map((s) => s.def.name.length));
    const envFor = (def: ServiceDef): NodeJS.ProcessEnv => {
      const port = portOf.get(def.name);
      const env: NodeJS.ProcessEnv = { ...baseEnv, HOST: cfg.host, LOG_LEVEL: cfg.env.LOG_LEVEL ?? 'info', [SUPERVISOR_ENV]: String(process.pid) };
      if (port !== undefined) env.PORT = String(port);
      for (const [k, v] of Object.entries(def.env(ctx))) if (v !== undefined) env[k] = v;
      return env;
    };
    const spawnChild = (def: ServiceDef, restart: number): Child => {
      const child = new Child({
        name: def.name,
        args: ['--import', 'tsx', path.resolve(cfg.repoRoot, def.entry)],
        cwd: cfg.repoRoot,
        env: envFor(def),
        // A restarted child appends: the log of the crash stays readable above the new start.
        logFile: logFile(def.name),
        append: restart > 0,
        onLine: cfg.verbose ? (name, line) => log(`${name.padEnd(width)} │ ${line}`) : undefined,
      });
      current.set(def.name, child);
      if (child.pid > 0) pids[def.name] = child.pid;
      writeRunFile();
      return child;
    };
    const ready = (def: ServiceDef, child: Child) =>
      waitReady(child, { readiness: def.readiness, host: cfg.host, port: portOf.get(def.name), timeoutMs: cfg.readyTimeoutMs, signal });

    /**
     * Supervision, not suicide: a service that dies after the stack is up is restarted with
     * exponential backoff, and the rest of the stack keeps serving. Only a crash loop (more than
     * `maxRestarts` within `restartWindowMs`) or a configuration error (exit 78, which no restart
     * fixes: common/src/runtime.ts) ends the stack, as systemd's StartLimitBurst does.
     */
    const supervise = (def: ServiceDef, child: Child): void => {
      void child.exited.then(async (exit: ChildExit) => {
        if (stopping || child.stopping) return;
        if (exit.code === EXIT_CONFIG) return reportFailure(`${failureReport(child, exit)}
${def.name} has a configuration error: not restarted.`);
        const now = Date.now();
        const recent = (restartTimes[def.name] ?? []).filter((t) => now - t < cfg.restartWindowMs);
        if (recent.length >= cfg.maxRestarts) {
          return reportFailure(`${failureReport(child, exit)}
${def.name} crashed ${recent.length + 1} times within ${Math.round(cfg.restartWindowMs / 1000)} s: giving up.`);
        }
        recent.push(now);
        restartTimes[def.name] = recent;
        restartCounts[def.name] = (restartCounts[def.name] ?? 0) + 1;
        const delay = Math.min(cfg.restartBackoffMs * 2 ** (recent.length - 1), 30_000);
        const tail = child.tailLines().slice(-5).map((l) => `  │ ${l}`);
        log([`✖ ${def.name} exited ${describeExit(exit)}; restart ${restartCounts[def.name]} in ${delay} ms (log: ${child.logFile})`, ...tail].join('\n'));
        writeRunFile({ restarts: restartCounts });
        await sleep(delay);
        if (stopping) return;
        const next = spawnChild(def, restartCounts[def.name]!);
        supervise(def, next);
        try {
          await ready(def, next);
          log(`✔ ${def.name} restarted (pid ${next.pid})`);
        } catch {
          // Exited before ready: its own exit handler counts it. Never ready: kill it, which counts too.
          if (next.running && !stopping) signalGroup(next.pid, 'SIGKILL');
        }
      });
    };

    const startOne = async (def: ServiceDef): Promise<void> => {
      const port = portOf.get(def.name);
      const t0 = Date.now();
      const child = spawnChild(def, 0);
      void child.exited.then((exit: ChildExit) => {
        // During start-up a death fails the start (a broken checkout is not fixed by restarting).
        if (!stopping && !child.stopping && !up) reportFailure(failureReport(child, exit));
      });
      try {
        await ready(def, child);
      } catch (err) {
        if (err instanceof ChildExitedError) throw new LauncherError(failureReport(child, err.exit));
        if (signal?.aborted) throw err;
        const tail = child.tailLines().map((l) => `  │ ${l}`);
        throw new LauncherError([err instanceof Error ? err.message : String(err), ...tail].join('\n'));
      }
      log(`✔ ${def.name} ready${port ? ` on :${port}` : ''} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    };
    for (const wave of waves(cfg.selected.map((s) => s.def))) {
      // A service that died while a later one was still coming up fails the start as well.
      await Promise.race([
        Promise.all(wave.map(startOne)),
        failure.then((report) => {
          throw new LauncherError(report);
        }),
      ]);
      signal?.throwIfAborted();
    }
    up = true;
    for (const { def } of cfg.selected) {
      const child = current.get(def.name);
      if (child) supervise(def, child);
    }

    const started = [...current.keys()];
    const gatewayUrl = started.includes(GATEWAY) ? `http://localhost:${portFor(GATEWAY)}` : undefined;
    const metrics = metricsTargets({
      started,
      urlFor,
      probeUrlFor: (name) => (cfg.selected.find((x) => x.def.name === name)?.probePort ? `http://${cfg.host}:${probePortFor(name)}` : undefined),
      externalEngine: cfg.hasuraUrl !== undefined,
    });
    let prometheusUrl: string | undefined;
    if (prometheusBin) {
      // Started last, so stopped first (stop() runs the parts in reverse).
      const prom = await startPrometheus({
        bin: prometheusBin,
        dataDir: cfg.dataDir,
        host: cfg.host,
        port: cfg.prometheus.port,
        targets: metrics,
        rulesDir: path.join(cfg.repoRoot, 'docker/observability/prometheus/rules'),
        logFile: logFile('prometheus'),
      });
      infra.push(prom);
      if (prom.pid) pids.prometheus = prom.pid;
      prometheusUrl = prom.url;
      log(`✔ prometheus ready on :${cfg.prometheus.port} (${metrics.length} targets)`);
    }
    const rows = urlRows({ cfg, started, gatewayUrl, urlFor, pg, redis, s3, metrics, prometheusUrl });
    const urls = Object.fromEntries(rows);
    writeRunFile({ urls });

    const check = async (): Promise<HealthResult[]> => {
      const targets: Array<{ name: string; urls: string[] }> = [];
      for (const { def } of cfg.selected) {
        if (!started.includes(def.name)) continue;
        if (gatewayUrl && def.publicHealth) targets.push({ name: def.name, urls: def.publicHealth.map((p) => gatewayUrl + p) });
        else if (def.readiness.kind === 'http') targets.push({ name: def.name, urls: def.readiness.paths.map((p) => urlFor(def.name) + p) });
      }
      if (cfg.hasuraUrl) targets.push({ name: 'hasura (HASURA_URL)', urls: [gatewayUrl ? `${gatewayUrl}/v1/links/healthz` : `${cfg.hasuraUrl}/healthz`] });
      const results: HealthResult[] = [];
      for (const t of targets) {
        let last: HealthResult | undefined;
        for (const url of t.urls) {
          const status = await httpGet(url);
          last = { name: t.name, url, status, ok: typeof status === 'number' && status >= 200 && status < 300 };
          if (last.ok) break;
        }
        if (last) results.push(last);
      }
      return results;
    };

    const endpoints: StackEndpoints = {
      gateway: gatewayUrl,
      services: Object.fromEntries(cfg.selected.filter((x) => started.includes(x.def.name) && x.port).map((x) => [x.def.name, urlFor(x.def.name)])),
      databaseUrl: pg.adminUrl,
      redisUrl: redis.url,
      s3: { endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, bucket: s3.bucket, publicBaseUrl: s3.publicBaseUrl },
      hasuraAdminSecret: secrets.hasuraAdminSecret,
      jwksUrl: ctx.jwksUrl,
      metrics: Object.fromEntries(metrics.map((m) => [m.service, m.url])),
      prometheus: prometheusUrl,
    };
    return { urls, endpoints, table: formatTable(rows), pids, started, dataDir: cfg.dataDir, failure, check, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

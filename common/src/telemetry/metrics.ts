/**
 * Prometheus metrics for every Linkport process, on prom-client (telemetry/README.md says why not
 * the OpenTelemetry Prometheus exporter). Each process builds one Registry (`createRegistry`) and
 * hands it to what it owns: its Fastify app (`registerHttpMetrics`: RED per route and `/metrics`),
 * its pools (`observePool`) and Redis connections (`observeRedisCommands`). Nothing here is global,
 * so tests build several apps in one process and scrape each on its own.
 *
 * Names follow the OpenTelemetry HTTP semantic conventions translated to Prometheus the way the
 * OTel Prometheus exporter does (`http.server.request.duration` in s → `http_server_request_duration_seconds`,
 * attributes `http.request.method`/`http.route`/`http.response.status_code` → `method`/`route`/`status_code`),
 * so dashboards keep working if a service ever moves to the OTel SDK's metrics.
 */
import client from 'prom-client';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Pool } from 'pg';
import type { Redis } from 'ioredis';
import { nameServerSpan, tracingActive } from './tracing.ts';

export { client as promClient };
export type Registry = client.Registry;

/** Prometheus text format 0.0.4 — what prom-client renders and every scraper reads. */
export const METRICS_CONTENT_TYPE = client.Registry.PROMETHEUS_CONTENT_TYPE;

/**
 * Latency buckets in seconds for request/command histograms: the OTel semantic conventions'
 * recommended `http.server.request.duration` boundaries (0.005 … 10 s), plus 1 ms for the redirect
 * hot path and Redis commands, which live well below 5 ms.
 */
export const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

export interface RegistryOptions {
  /** process_* and nodejs_* defaults (CPU, RSS, heap, event-loop lag, GC, handles). Default true. */
  defaults?: boolean;
}

export function createRegistry(opts: RegistryOptions = {}): Registry {
  const registry = new client.Registry();
  if (opts.defaults !== false) client.collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });
  return registry;
}

/** The same metric object for the same name in one registry (several pools share one gauge). */
function once<T extends client.Metric>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * A method label with bounded values: anything outside the usual verbs is `_OTHER`, as the OTel
 * HTTP conventions require for `http.request.method` (an attacker's `FOOBAR` must not mint series).
 */
export function methodLabel(method: string | undefined): string {
  return method && METHODS.has(method) ? method : '_OTHER';
}

export interface HttpMetricsOptions {
  /** Where `/metrics` is served on the app's own port; false to not serve it. Default `/metrics`. */
  path?: string | false;
}

export interface HttpMetrics {
  duration: client.Histogram<'method' | 'route' | 'status_code'>;
}

// `hide` is @fastify/swagger's flag; typed loosely so common does not depend on the plugin.
const hidden = { hide: true } as Record<string, unknown>;

/**
 * RED per route for a Fastify app: one histogram (rate = `_count`, errors = `status_code` 5xx,
 * duration = buckets), labelled by the route *template* Fastify matched (`/v1/core/links/:id`,
 * never the raw path) — unmatched requests share `route=""` — so a scan of random URLs adds no
 * series. Also serves the registry on `path`.
 */
export function registerHttpMetrics(app: FastifyInstance, registry: Registry, opts: HttpMetricsOptions = {}): HttpMetrics {
  const duration = once(
    registry,
    'http_server_request_duration_seconds',
    () =>
      new client.Histogram({
        name: 'http_server_request_duration_seconds',
        help: 'Duration of HTTP server requests, by method, route template and status code.',
        labelNames: ['method', 'route', 'status_code'] as const,
        buckets: LATENCY_BUCKETS,
        registers: [registry],
      }),
  );
  // The same route template names the request's server span (only when the SDK runs: no hook otherwise).
  if (tracingActive()) {
    app.addHook('onRequest', (req: FastifyRequest, _reply: FastifyReply, done: () => void) => {
      nameServerSpan(req.method, req.routeOptions.url);
      done();
    });
  }
  app.addHook('onResponse', (req: FastifyRequest, reply: FastifyReply, done: () => void) => {
    duration.observe(
      { method: methodLabel(req.method), route: req.routeOptions.url ?? '', status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    done();
  });
  const path = opts.path ?? '/metrics';
  if (path !== false) {
    app.get(path, { schema: hidden, logLevel: 'warn' }, async (_req, reply) => {
      const text = await registry.metrics();
      return reply.header('content-type', METRICS_CONTENT_TYPE).header('cache-control', 'no-store').send(text);
    });
  }
  return { duration };
}

/**
 * Counts responses of chosen routes by status: business signals that are visible at the HTTP
 * boundary (failed and throttled logins, presigns issued) without threading a registry through
 * every module. `pick` maps a finished request to label values, or undefined to not count it.
 */
export function countResponses<L extends string>(
  app: FastifyInstance,
  registry: Registry,
  spec: { name: string; help: string; labelNames: readonly L[]; pick: (route: string, method: string, status: number) => Record<L, string> | undefined },
): client.Counter<L> {
  const counter = once(registry, spec.name, () => new client.Counter({ name: spec.name, help: spec.help, labelNames: spec.labelNames, registers: [registry] }));
  app.addHook('onResponse', (req, reply, done) => {
    const labels = spec.pick(req.routeOptions.url ?? '', req.method, reply.statusCode);
    if (labels) counter.inc(labels);
    done();
  });
  return counter;
}

interface PoolEntry {
  name: string;
  pool: Pool;
  max: number;
}
const poolsOf = new WeakMap<Registry, PoolEntry[]>();

/**
 * Pool saturation, read at scrape time from pg-pool's own counters: connections open (`total`),
 * idle, and callers waiting for one (`waiting` > 0 means the pool is the bottleneck). `max` lets a
 * dashboard plot use as a fraction of the limit.
 */
export function observePool(registry: Registry, name: string, pool: Pool): void {
  let pools = poolsOf.get(registry);
  if (!pools) {
    const list: PoolEntry[] = [];
    pools = list;
    poolsOf.set(registry, list);
    const gauge = (metric: string, help: string, read: (p: PoolEntry) => number) =>
      new client.Gauge({
        name: metric,
        help,
        labelNames: ['pool'],
        registers: [registry],
        collect() {
          this.reset();
          for (const p of list) this.set({ pool: p.name }, read(p));
        },
      });
    gauge('pg_pool_connections', 'PostgreSQL connections open in the pool (busy + idle).', (p) => p.pool.totalCount);
    gauge('pg_pool_idle_connections', 'PostgreSQL connections idle in the pool.', (p) => p.pool.idleCount);
    gauge('pg_pool_waiting_clients', 'Callers waiting for a PostgreSQL connection (pool saturated).', (p) => p.pool.waitingCount);
    gauge('pg_pool_max_connections', 'The pool size limit.', (p) => p.max);
  }
  pools.push({ name, pool, max: (pool.options as { max?: number }).max ?? 10 });
}

/**
 * A bounded command label: ioredis command names are lower-case words; anything else (a `call()`
 * with an odd name) is `other`.
 */
function commandLabel(name: unknown): string {
  return typeof name === 'string' && /^[a-z][a-z0-9_-]{0,23}$/i.test(name) ? name.toLowerCase() : 'other';
}

interface CommandLike {
  name?: string;
  promise?: Promise<unknown>;
}

/**
 * Redis command latency from `sendCommand` to the reply (or error), by command and outcome, for
 * one connection. Blocking reads (XREADGROUP BLOCK) are labelled like any other command: their
 * latency is the block time and dashboards filter them out by name.
 */
export function observeRedisCommands(registry: Registry, name: string, redis: Redis): void {
  const hist = once(
    registry,
    'redis_command_duration_seconds',
    () =>
      new client.Histogram({
        name: 'redis_command_duration_seconds',
        help: 'Redis command latency from send to reply, by connection, command and outcome.',
        labelNames: ['client', 'command', 'outcome'] as const,
        buckets: LATENCY_BUCKETS,
        registers: [registry],
      }),
  );
  // Every argument passed on: a Cluster's sendCommand takes a third (the target node), which its
  // pipelines rely on.
  const target = redis as unknown as { sendCommand: (cmd: CommandLike, ...rest: unknown[]) => unknown };
  const original = target.sendCommand.bind(redis);
  target.sendCommand = (cmd: CommandLike, ...rest: unknown[]) => {
    const started = process.hrtime.bigint();
    const result = original(cmd, ...rest);
    const command = commandLabel(cmd.name);
    const record = (outcome: string) => hist.observe({ client: name, command, outcome }, Number(process.hrtime.bigint() - started) / 1e9);
    cmd.promise?.then(
      () => record('ok'),
      () => record('error'),
    );
    return result;
  };
}

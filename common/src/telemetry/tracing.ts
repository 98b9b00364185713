/**
 * OpenTelemetry tracing for every process, started by the runtime kit (runtime.ts) before the
 * process builds anything, and flushed after it closed. It does nothing — no provider, no
 * instrumentation, no context manager — unless `OTEL_EXPORTER_OTLP_ENDPOINT` (or the traces-only
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set: then spans go out over OTLP/HTTP (JSON) in batches.
 *
 * - Resource: `service.name` (OTEL_SERVICE_NAME or the process name), `service.version`,
 *   `deployment.environment.name` (and the older `deployment.environment`) from
 *   LINKPORT_ENVIRONMENT / NODE_ENV, plus OTEL_RESOURCE_ATTRIBUTES — semantic conventions 1.27+.
 * - Sampler: the SDK's own reading of OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG; we default
 *   to `parentbased_traceidratio` at 1.0 when unset, so an upstream decision (the gateway's) is
 *   always followed and `OTEL_TRACES_SAMPLER_ARG=0.01` alone samples 1 % of new traces.
 * - Instrumentations: http (server and client spans, W3C traceparent in and out), undici (the
 *   gateway's proxy and fetch), pg (`db.query.text` without parameters, and `pg-pool.connect` so the
 *   pool wait is its own span), ioredis (statements off: command arguments can be keys and values).
 *
 * Our modules are ESM and already loaded when this runs, so the instrumentations cannot hook their
 * `import`s. Each of these packages is CommonJS, though, and an ESM import of it shares the one
 * module object (and prototypes) with `require`: requiring them again after `registerInstrumentations`
 * lets require-in-the-middle patch that shared object in place (`Server.prototype.emit`,
 * `Client.prototype.query`, `Redis.prototype.sendCommand`), which the already-imported code uses.
 */
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, context, propagation, trace, type Attributes, type Context, type ContextManager, type Span, type SpanContext, type Link } from '@opentelemetry/api';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import type { IdGenerator, Sampler } from '@opentelemetry/sdk-trace-node';

export interface TracingOptions {
  serviceName: string;
  /**
   * How the active span follows the code. `async` (default): AsyncLocalStorage, so spans parent
   * across awaits. `sync`: only within synchronous calls — for a hot path that must not pay Node
   * 20's async hooks on every promise (the redirect server, which hands span context on explicitly).
   */
  context?: 'async' | 'sync';
  /**
   * The instrumentations this process has a use for (default: all four). The redirect server has
   * no outgoing HTTP and its own server spans (traceHttpServer), and under the `sync` context its
   * PostgreSQL queries (after an await) never have a parent span, so it loads `ioredis` only.
   * OTEL_NODE_ENABLED_INSTRUMENTATIONS / OTEL_NODE_DISABLED_INSTRUMENTATIONS still apply.
   */
  instrumentations?: InstrumentationName[];
  serviceVersion?: string;
  env?: NodeJS.ProcessEnv;
}

export type InstrumentationName = 'http' | 'undici' | 'pg' | 'ioredis';

export interface Tracing {
  enabled: boolean;
  /** Exports what is buffered and stops; safe to call twice. */
  shutdown(): Promise<void>;
}

const disabled: Tracing = { enabled: false, shutdown: async () => undefined };
let active: Tracing | undefined;

export function tracingConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) && env.OTEL_SDK_DISABLED !== 'true';
}

/** Starts the SDK once per process (a second call returns the first's handle). */
export async function startTracing(opts: TracingOptions): Promise<Tracing> {
  const env = opts.env ?? process.env;
  if (active) return active;
  if (!tracingConfigured(env)) return disabled;
  // Loaded only when tracing is on: a process without an endpoint never pays for the SDK.
  const [sdk, { OTLPTraceExporter }, { resourceFromAttributes }, { registerInstrumentations }, { parseTraceParent }] = await Promise.all([
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/instrumentation'),
    import('@opentelemetry/core'),
  ]);
  const { NodeTracerProvider, BatchSpanProcessor } = sdk;
  if (!env.OTEL_TRACES_SAMPLER) {
    env.OTEL_TRACES_SAMPLER = 'parentbased_traceidratio';
    env.OTEL_TRACES_SAMPLER_ARG ??= '1';
  }
  const sampling = samplingPlan(sdk, env);
  const ids = new PresampledIds(new sdk.RandomIdGenerator());
  // pg instrumentation: stable database conventions (`db.query.text`, `db.system.name`).
  env.OTEL_SEMCONV_STABILITY_OPT_IN ??= 'database,http';
  const environment = env.LINKPORT_ENVIRONMENT ?? env.NODE_ENV ?? 'development';
  const resource = resourceFromAttributes({
    'service.name': env.OTEL_SERVICE_NAME ?? opts.serviceName,
    'service.version': opts.serviceVersion ?? env.npm_package_version ?? '0.1.0',
    'service.namespace': 'linkport',
    'deployment.environment.name': environment,
    'deployment.environment': environment,
    'process.pid': process.pid,
  });
  const provider = new NodeTracerProvider({
    resource,
    idGenerator: ids,
    ...(sampling ? { sampler: sampling.sampler } : {}),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter(), { scheduledDelayMillis: Number(env.OTEL_BSP_SCHEDULE_DELAY ?? 1000) })],
  });
  // AsyncLocalStorage (or synchronous) context manager, the W3C trace-context + baggage propagators.
  provider.register(opts.context === 'sync' ? { contextManager: new SyncContextManager() } : {});
  const instrumentations = await loadInstrumentations(env, opts.instrumentations);
  const unregister = registerInstrumentations({ instrumentations, tracerProvider: provider });
  // See the header: patch the CommonJS modules our ESM code already imported.
  const req = createRequire(import.meta.url);
  for (const id of ['http', 'https', 'pg', 'pg-pool', 'ioredis']) {
    try {
      req(id);
    } catch {
      // not installed in this process's tree: nothing to patch
    }
  }
  // The pre-decision reads the W3C traceparent: only when that is how contexts arrive (the default
  // OTEL_PROPAGATORS, `tracecontext,baggage`; baggage carries no span context).
  const propagators = (env.OTEL_PROPAGATORS ?? 'tracecontext,baggage').split(',').map((p) => p.trim());
  const w3cOnly = propagators.every((p) => p === 'tracecontext' || p === 'baggage');
  presample = sampling && w3cOnly ? { ...sampling.bounds, parse: parseTraceParent, ids } : undefined;
  let done: Promise<void> | undefined;
  active = {
    enabled: true,
    shutdown: () =>
      (done ??= (async () => {
        unregister();
        await provider.shutdown().catch(() => undefined);
        active = undefined;
        presample = undefined;
      })()),
  };
  return active;
}

type Sdk = typeof import('@opentelemetry/sdk-trace-node');

/**
 * The sampler named by OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG, built as the SDK builds it
 * (sdk-trace-base config.ts `buildSamplerFromEnv`, the spec's "General SDK Configuration" values),
 * together with what `traceHttpServer` needs to know the SDK's decision before asking it:
 * `rootBound`, the TraceIdRatioBased threshold (the SDK's `_upperBound`: a root trace is sampled
 * when the XOR of its trace id's four 32-bit words is below it; 0 = never, 2^32 = always), and
 * whether a remote parent's sampled flag decides instead (ParentBased with its default delegates:
 * remoteParentSampled = AlwaysOn, remoteParentNotSampled = AlwaysOff). Undefined for the values
 * this does not reproduce (plain `traceidratio` decides on the caller's trace id; unknown values
 * get the SDK's own default): the provider then builds the sampler itself and every request goes
 * through the SDK.
 */
function samplingPlan(sdk: Sdk, env: NodeJS.ProcessEnv): { sampler: Sampler; bounds: { rootBound: number; parentBased: boolean } } | undefined {
  const always = 2 ** 32;
  switch (env.OTEL_TRACES_SAMPLER?.trim()) {
    case 'always_on':
      return { sampler: new sdk.AlwaysOnSampler(), bounds: { rootBound: always, parentBased: false } };
    case 'always_off':
      return { sampler: new sdk.AlwaysOffSampler(), bounds: { rootBound: 0, parentBased: false } };
    case 'parentbased_always_on':
      return { sampler: new sdk.ParentBasedSampler({ root: new sdk.AlwaysOnSampler() }), bounds: { rootBound: always, parentBased: true } };
    case 'parentbased_always_off':
      return { sampler: new sdk.ParentBasedSampler({ root: new sdk.AlwaysOffSampler() }), bounds: { rootBound: 0, parentBased: true } };
    case 'parentbased_traceidratio': {
      // The SDK's getSamplerProbabilityFromEnv: blank, not a number or outside [0, 1] → 1.
      const raw = env.OTEL_TRACES_SAMPLER_ARG?.trim();
      const n = raw ? Number(raw) : NaN;
      const ratio = Number.isNaN(n) || n < 0 || n > 1 ? 1 : n;
      // TraceIdRatioBasedSampler's constructor: the same bound from the same ratio.
      const rootBound = ratio === 1 ? always : Math.floor(ratio * 0xffffffff);
      return { sampler: new sdk.ParentBasedSampler({ root: new sdk.TraceIdRatioBasedSampler(ratio) }), bounds: { rootBound, parentBased: true } };
    }
    default:
      return undefined;
  }
}

/**
 * The SDK's random ids, except that the next root trace id can be chosen beforehand: traceHttpServer
 * draws the one 32-bit number the ratio sampler decides on, and only when it is below the bound
 * builds a trace id whose four words XOR to exactly that number (three random words and the fourth
 * that completes the XOR). Such an id is as random as the SDK's — uniform among the ids the sampler
 * accepts — and the SDK's own sampler, run on it by `startSpan`, then takes the same decision: the
 * hot path learns "not sampled" (99 % of requests at a 1 % ratio) from one Math.random, without
 * making ids, a sampler call, a non-recording span or a context.
 */
class PresampledIds implements IdGenerator {
  private next: string | undefined;
  constructor(private readonly random: IdGenerator) {}
  generateTraceId = (): string => {
    const id = this.next;
    if (id === undefined) return this.random.generateTraceId();
    this.next = undefined;
    return id;
  };
  generateSpanId = (): string => this.random.generateSpanId();
  /** The next root trace id gets words XOR-ing to `accumulated` (TraceIdRatioBasedSampler._accumulate). */
  arm(accumulated: number): void {
    const w0 = (Math.random() * 2 ** 32) >>> 0;
    const w1 = (Math.random() * 2 ** 32) >>> 0;
    const w2 = (Math.random() * 2 ** 32) >>> 0;
    const w3 = (accumulated ^ w0 ^ w1 ^ w2) >>> 0;
    this.next = hex8(w0) + hex8(w1) + hex8(w2) + hex8(w3);
  }
  disarm(): void {
    this.next = undefined;
  }
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

/** Set by startTracing when its sampler is one traceHttpServer can pre-decide (samplingPlan). */
let presample: { rootBound: number; parentBased: boolean; parse: (traceparent: string) => { traceFlags: number } | null; ids: PresampledIds } | undefined;

/** The active context only for the duration of a synchronous `with` (see TracingOptions.context). */
class SyncContextManager implements ContextManager {
  private current: Context = ROOT_CONTEXT;
  active(): Context {
    return this.current;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    const previous = this.current;
    this.current = ctx;
    try {
      return fn.call(thisArg, ...args);
    } finally {
      this.current = previous;
    }
  }
  bind<T>(ctx: Context, target: T): T {
    if (typeof target !== 'function') return target;
    const manager = this;
    return function (this: unknown, ...args: unknown[]) {
      return manager.with(ctx, () => (target as (...a: unknown[]) => unknown).apply(this, args));
    } as T;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.current = ROOT_CONTEXT;
    return this;
  }
}

/**
 * The instrumentations, minus those OTEL_NODE_DISABLED_INSTRUMENTATIONS names (comma-separated
 * `http`, `undici`, `pg`, `ioredis`: the variable and the short names of
 * @opentelemetry/auto-instrumentations-node), or only those OTEL_NODE_ENABLED_INSTRUMENTATIONS names
 * (else the process's own `instrumentations` list).
 */
async function loadInstrumentations(env: NodeJS.ProcessEnv, used?: InstrumentationName[]): Promise<Instrumentation[]> {
  const list = (v: string | undefined) => (v ? new Set(v.split(',').map((n) => n.trim())) : undefined);
  const enabled = list(env.OTEL_NODE_ENABLED_INSTRUMENTATIONS) ?? (used ? new Set<string>(used) : undefined);
  const disabled = list(env.OTEL_NODE_DISABLED_INSTRUMENTATIONS);
  const wanted = (name: string) => (!enabled || enabled.has(name)) && !disabled?.has(name);
  const out: Instrumentation[] = [];
  if (wanted('http')) {
    const { HttpInstrumentation } = await import('@opentelemetry/instrumentation-http');
    out.push(
      new HttpInstrumentation({
        // Probes and scrapes are not requests anyone traces.
        ignoreIncomingRequestHook: (req) => /^\/(health\/|metrics$|ping$)/.test((req.url ?? '').split('?')[0]!.replace(/^\/v1\/(core|media)/, '')),
      }),
    );
  }
  if (wanted('undici')) out.push(new (await import('@opentelemetry/instrumentation-undici')).UndiciInstrumentation());
  // Statement text only (parameters are never recorded: enhancedDatabaseReporting stays off).
  if (wanted('pg')) out.push(new (await import('@opentelemetry/instrumentation-pg')).PgInstrumentation({ enhancedDatabaseReporting: false, requireParentSpan: true }));
  if (wanted('ioredis')) out.push(new (await import('@opentelemetry/instrumentation-ioredis')).IORedisInstrumentation({ requireParentSpan: true, dbStatementSerializer: (cmd) => cmd }));
  return out;
}

/** True once `startTracing` started the SDK in this process. */
export function tracingActive(): boolean {
  return active !== undefined;
}

const internalTracer = trace.getTracer('linkport');

/**
 * The active span when tracing runs and it is recording (a sampled request), else undefined: for
 * code that annotates or renames the request's span, or writes its ids into its own log format
 * (the gateway's Traefik access log), with one variable test when tracing is off.
 */
export function recordingSpan(): Span | undefined {
  if (!active) return undefined;
  const span = trace.getActiveSpan();
  return span?.isRecording() ? span : undefined;
}

/**
 * Runs `fn` inside a child span of the active span — only when that span is recording (tracing on
 * and the request sampled), as the pg and ioredis instrumentations do with `requireParentSpan`: work
 * outside a traced request (a live-query poll, a background job) mints no root span per call, and
 * with tracing off this is one variable test. Sync or async `fn`; a throw or rejection marks the
 * span as an error (`exception` event) and is passed on unchanged. `fn` gets the span (undefined
 * when none was made) to add attributes or rename it once more is known.
 */
export function inSpan<T>(name: string, attributes: Attributes | undefined, fn: (span: Span | undefined) => T): T {
  if (!active) return fn(undefined);
  const parent = trace.getActiveSpan();
  if (!parent?.isRecording()) return fn(undefined);
  return internalTracer.startActiveSpan(name, attributes ? { attributes } : {}, (span) => {
    const failed = (err: unknown) => {
      span.recordException(err instanceof Error ? err : String(err));
      span.setStatus({ code: SpanStatusCode.ERROR });
    };
    let out: T;
    try {
      out = fn(span);
    } catch (err) {
      failed(err);
      span.end();
      throw err;
    }
    if (out instanceof Promise) {
      return out.then(
        (v: unknown) => {
          span.end();
          return v;
        },
        (err: unknown) => {
          failed(err);
          span.end();
          throw err;
        },
      ) as T;
    }
    span.end();
    return out;
  });
}

/**
 * Names the active server span after the route template (`POST /v1/graphql`, OTel HTTP semantic
 * conventions: `{method} {http.route}`) and sets `http.route` — the http instrumentation only knows
 * the method, the framework knows the route. A Fastify `onRequest` hook (routing is done by then).
 */
export function nameServerSpan(method: string, route: string | undefined): void {
  if (!active || !route) return;
  const span = trace.getActiveSpan();
  if (!span?.isRecording()) return;
  span.updateName(`${method} ${route}`);
  span.setAttribute('http.route', route);
}

/** The W3C traceparent of the active span (or of `span`), '' when none is sampled or tracing is off. */
export function currentTraceparent(span?: Span): string {
  const sc = (span ?? trace.getActiveSpan())?.spanContext();
  if (!sc || !trace.isSpanContextValid(sc)) return '';
  return `00-${sc.traceId}-${sc.spanId}-0${(sc.traceFlags & 1).toString(16)}`;
}

/** A span link to the context a traceparent names (the click's redirect span), or undefined. */
export function linkFromTraceparent(traceparent: string | undefined): Link | undefined {
  if (!traceparent) return undefined;
  const ctx = propagation.extract(context.active(), { traceparent });
  const sc: SpanContext | undefined = trace.getSpanContext(ctx);
  return sc && trace.isSpanContextValid(sc) ? { context: sc } : undefined;
}

/** The active span's ids for log lines (`trace_id`, `span_id`), or nothing. */
export function traceFields(): { trace_id: string; span_id: string } | Record<string, never> {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const sc = span.spanContext();
  return trace.isSpanContextValid(sc) ? { trace_id: sc.traceId, span_id: sc.spanId } : {};
}

const serverTracer = trace.getTracer('linkport-http-server');
const untraced = /^\/(health\/[a-z]+|metrics|ping)$/;
const requestSpans = new WeakMap<object, Span>();

/**
 * The traceparent of the span `traceHttpServer` opened for `req` (survives awaits whatever the
 * context manager); '' when the request is not traced — unsampled, or not served through
 * traceHttpServer. One WeakMap lookup: this runs for every click on the redirect hot path.
 */
export function requestTraceparent(req: object): string {
  const span = requestSpans.get(req);
  return span ? currentTraceparent(span) : '';
}

const acceptableRequestId = /^[\x21-\x2b\x2d-\x7e]{1,200}$/;

/**
 * Correlation fields for a log line about `req` in a server that is not Fastify (the redirect):
 * `reqId` — the X-Request-Id the gateway assigned, under Fastify's own key so every service's lines
 * join on one field (only when it is a plain token, as the gateway's requestId middleware accepts) —
 * and the `trace_id`/`span_id` of the span `traceHttpServer` opened for it, which the logger's
 * mixin cannot see once the synchronous context is gone.
 */
export function requestLogFields(req: { headers: Record<string, string | string[] | undefined> }): Record<string, string> {
  const out: Record<string, string> = {};
  const id = req.headers['x-request-id'];
  if (typeof id === 'string' && acceptableRequestId.test(id)) out.reqId = id;
  const sc = requestSpans.get(req)?.spanContext();
  if (sc && trace.isSpanContextValid(sc)) {
    out.trace_id = sc.traceId;
    out.span_id = sc.spanId;
  }
  return out;
}

/**
 * A hot-path alternative to the http instrumentation for one server (the redirect service): the
 * generic instrumentation builds attributes, binds the request and response emitters and wraps
 * `res.end` for every request, sampled or not, which cost the redirect benchmark half of its
 * throughput at a 1 % sampler. Here the sampling decision comes first and is taken before any
 * OpenTelemetry object exists, exactly as the SDK's sampler would take it (samplingPlan):
 * - a valid W3C traceparent (parsed by the same `parseTraceParent` the W3C propagator uses) under a
 *   ParentBased sampler: its sampled flag decides (remoteParentSampled = AlwaysOn,
 *   remoteParentNotSampled = AlwaysOff — OTel spec, trace/sdk.md "ParentBased");
 * - otherwise the root sampler: for TraceIdRatioBased one Math.random draws the number the
 *   sampler would compute from the trace id, and a sampled request gets a trace id made to match
 *   (PresampledIds), so the SDK, running its own sampler in `startSpan`, agrees.
 * An unsampled request (99 % at a 1 % ratio) then costs a header read and one random number: no
 * ids, no span, no context, no propagation. A sampled one gets a SERVER span (parent = the
 * caller's traceparent) named by route template, active while the listener runs. For samplers
 * samplingPlan does not reproduce, or propagators other than W3C trace context and baggage, every
 * request asks the SDK (startSpan, then `isRecording`). The server opts out of the generic
 * instrumentation, which patches `http.Server.prototype.emit`, by taking EventEmitter's own `emit`.
 * When tracing is off the listener is returned as it is.
 */
export function traceHttpServer(
  server: import('node:http').Server,
  listener: (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void,
  routeOf: (path: string) => string,
): void {
  if (!active) {
    server.on('request', listener);
    return;
  }
  (server as { emit: unknown }).emit = EventEmitter.prototype.emit;
  server.on('request', (req, res) => {
    const pre = presample;
    if (pre) {
      const header = req.headers.traceparent;
      // As the W3C propagator reads it: the first of repeated headers.
      const tp = typeof header === 'string' ? header : header?.[0];
      const remote = pre.parentBased && tp !== undefined ? pre.parse(tp) : null;
      if (remote) {
        if ((remote.traceFlags & TraceFlags.SAMPLED) === 0) return listener(req, res);
      } else if (pre.rootBound === 0) {
        return listener(req, res);
      } else if (pre.rootBound < 2 ** 32) {
        const accumulated = (Math.random() * 2 ** 32) >>> 0;
        if (accumulated >= pre.rootBound) return listener(req, res);
        pre.ids.arm(accumulated);
      }
    }
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    // Probes and scrapes are not requests anyone traces (as loadInstrumentations' ignore hook).
    if (untraced.test(path)) {
      pre?.ids.disarm();
      return listener(req, res);
    }
    const parent = req.headers.traceparent ? propagation.extract(ROOT_CONTEXT, req.headers) : ROOT_CONTEXT;
    const route = routeOf(path);
    const method = req.method ?? 'GET';
    let span: Span;
    try {
      span = serverTracer.startSpan(route ? `${method} ${route}` : method, { kind: SpanKind.SERVER }, parent);
    } finally {
      // Unused when the span had a parent: never let it decide another span's fate.
      pre?.ids.disarm();
    }
    if (!span.isRecording()) return listener(req, res);
    requestSpans.set(req, span);
    span.setAttributes({ 'http.request.method': method, 'http.route': route, 'url.path': path, 'network.protocol.version': req.httpVersion });
    res.once('close', () => {
      span.setAttribute('http.response.status_code', res.statusCode);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    });
    context.with(trace.setSpan(parent, span), () => listener(req, res));
  });
}

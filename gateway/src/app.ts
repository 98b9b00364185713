/**
 * `buildGateway(config)`: an HTTP server that routes with a compiled dynamic configuration, and
 * swaps it atomically on `reload` (requests in flight finish on the configuration they started with).
 * Never listens by itself; server.ts and the tests do.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex, Writable } from 'node:stream';
import { createProxyServer } from 'http-proxy-3';
import { recordingSpan } from '@linkport/common';
import type { DynamicConfig } from './config/schema.ts';
import { createAccessLogger, isoTime, startStamps, type AccessLogEntry } from './accesslog.ts';
import { LimiterStore } from './middlewares/index.ts';
import { httpError, type Ctx } from './middlewares/types.ts';
import { applyEntryForwardedHeaders } from './proxy/forwarded.ts';
import { ipMatcher, normalizeIp } from './proxy/ip.ts';
import { instrumentProxy } from './proxy/service.ts';
import { routingPath, type MatchInput } from './rules/matcher.ts';
import { buildRuntime, type Runtime } from './runtime.ts';
import { protocolOf, type GatewayMetrics } from './metrics.ts';

export interface GatewayOptions {
  /** The entrypoint this listener stands for; routers naming other entrypoints are skipped. */
  entryPoint?: string;
  /** Peers whose X-Forwarded-* headers are kept (entryPoints.<ep>.forwardedHeaders.trustedIPs). */
  trustedIPs?: string[];
  /** Where the JSON access log goes; undefined = no access log. */
  accessLog?: Writable;
  /** Request headers kept in the access log as `request_<Name>` (accessLog.fields.headers.names). */
  accessLogHeaders?: string[];
  /**
   * Answer `GET /ping` like Traefik's `ping: {entryPoint: <this one>}` (src pkg/ping/ping.go):
   * 200 "OK", and 503 once closing so a load balancer drains the gateway first.
   */
  ping?: boolean;
  /** Traefik-named Prometheus metrics (metrics.ts), served by server.ts on the probe port. */
  metrics?: GatewayMetrics;
}

export interface Gateway {
  readonly server: http.Server;
  listen(port?: number, host?: string): Promise<AddressInfo>;
  reload(config: DynamicConfig): void;
  readonly generation: number;
  /** Writes out buffered access-log lines now (close does it too). */
  flushAccessLog(): void;
  close(): Promise<void>;
}

/** Host header → lower-case name and port ("-" when none), as the access log reports them. Exported for tests. */
export function splitHostPort(host: string): { name: string; port: string } {
  // the usual Host (a name, or name:port) without the regex
  if (host.indexOf('[') === -1) {
    const c = host.indexOf(':');
    if (c === -1) return { name: host.toLowerCase(), port: '-' };
    const port = host.slice(c + 1);
    if (host.indexOf(':', c + 1) === -1 && /^\d*$/.test(port)) return { name: host.slice(0, c).toLowerCase(), port: port || '-' };
  }
  const m = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(host);
  return { name: (m?.[1] ?? host).toLowerCase(), port: m?.[2] || '-' };
}

/**
 * The response class of the gateway's server: it runs the request's response-header steps once,
 * just before the status line, and counts the body bytes for the access log. Done on the prototype
 * rather than by wrapping each response's methods, so no closures are made per request.
 */
/**
 * How long a connection that ends with `Connection: close` keeps reading what the client still
 * sends after our last answer (see lingerBeforeClose).
 */
const LINGER_MS = 5_000;

/**
 * A lingering close (Go net/http `closeWriteAndWait`, "rstAvoidanceDelay"; nginx `lingering_close`):
 * when a response ends a `Connection: close` exchange, Node's server calls `socket.destroySoon()`,
 * which destroys the socket once the answer is flushed. If the request body is still arriving (an
 * early 401, 413 or 429 to an upload), the kernel answers those bytes with a reset, the client's
 * next write fails, and a client that reads only after writing (curl, many SDKs, a busy process)
 * never sees the answer — the fuzzer's 51 MiB import did so under load ("EPIPE after 100 ms").
 * Instead: half-close (FIN after the answer), keep reading — Node's parser discards the rest of the
 * body — until the client closes its side, or LINGER_MS at most.
 */
function lingerBeforeClose(socket: Socket): void {
  (socket as Socket & { destroySoon: () => void }).destroySoon = function (this: Socket) {
    if (this.destroyed) return;
    if (this.writable) this.end();
    if (this.readableEnded) {
      if (this.writableFinished) this.destroy();
      else this.once('finish', () => this.destroy());
      return;
    }
    const timer = setTimeout(() => this.destroy(), LINGER_MS);
    timer.unref();
    this.once('close', () => clearTimeout(timer));
    // the client's FIN: both directions done
    this.once('end', () => (this.writableFinished ? this.destroy() : this.once('finish', () => this.destroy())));
  };
}

class GatewayResponse extends http.ServerResponse {
  /** The ctx's onResponseHeaders, until they have run. */
  headerSteps: Ctx['onResponseHeaders'] | undefined = undefined;
  bodySize = 0;
}
{
  const base = http.ServerResponse.prototype;
  const proto = GatewayResponse.prototype as unknown as Record<'writeHead' | 'write' | 'end', (...args: unknown[]) => unknown>;
  const writeHead = base.writeHead as (...args: unknown[]) => unknown;
  const write = base.write as (...args: unknown[]) => unknown;
  const end = base.end as (...args: unknown[]) => unknown;
  proto.writeHead = function (this: GatewayResponse, ...args: unknown[]) {
    const steps = this.headerSteps;
    if (steps) {
      this.headerSteps = undefined;
      for (let i = steps.length - 1; i >= 0; i--) steps[i]?.(this);
    }
    return writeHead.apply(this, args);
  };
  proto.write = function (this: GatewayResponse, ...args: unknown[]) {
    const chunk = args[0];
    if (chunk && typeof (chunk as { length?: number }).length === 'number') this.bodySize += (chunk as { length: number }).length;
    return write.apply(this, args);
  };
  proto.end = function (this: GatewayResponse, ...args: unknown[]) {
    const chunk = args[0];
    if (chunk && typeof chunk !== 'function' && typeof (chunk as { length?: number }).length === 'number') this.bodySize += (chunk as { length: number }).length;
    return end.apply(this, args);
  };
}

/** The routing view of a request; the query is parsed only when a rule asks for it. */
class RouteInput implements MatchInput {
  private parsedQuery: URLSearchParams | undefined;
  constructor(
    readonly method: string,
    readonly host: string,
    readonly path: string,
    readonly headers: MatchInput['headers'],
    private readonly rawQuery: string,
    readonly clientIp: string,
  ) {}
  get query(): URLSearchParams {
    return (this.parsedQuery ??= new URLSearchParams(this.rawQuery));
  }
}

export function buildGateway(config: DynamicConfig, options: GatewayOptions = {}): Gateway {
  const entryPoint = options.entryPoint ?? 'web';
  const trusted = options.trustedIPs?.length ? ipMatcher(options.trustedIPs) : () => false;
  const accessLog = createAccessLogger(options.accessLog);
  const logHeaders = (options.accessLogHeaders ?? []).map((n) => [n, n.toLowerCase()] as const);
  const proxy = createProxyServer({});
  instrumentProxy(proxy);
  const store = new LimiterStore();
  let runtime: Runtime = buildRuntime(config, entryPoint, proxy, store);
  let generation = 1;
  let requestCount = 0;
  let closing = false;

  function handle(req: http.IncomingMessage, res: http.ServerResponse, upgrade?: { socket: Duplex; head: Buffer }): void {
    const startNs = process.hrtime.bigint();
    const stamps = startStamps(Date.now());
    const socket = req.socket;
    const clientIp = normalizeIp(socket.remoteAddress ?? '');
    const clientPort = socket.remotePort ?? 0;
    const scheme = 'encrypted' in socket && socket.encrypted ? 'https' : 'http';
    const url = req.url ?? '/';
    let target = url;
    if (!url.startsWith('/')) {
      try {
        const u = new URL(url);
        target = u.pathname + u.search;
      } catch {
        target = '/';
      }
    }
    const q = target.indexOf('?');
    const rawPath = q === -1 ? target : target.slice(0, q);
    const rawQuery = q === -1 ? '' : target.slice(q);
    const hostHeader = req.headers.host ?? '';
    const { name: hostName, port: hostPort } = splitHostPort(hostHeader);
    const log: AccessLogEntry = {
      StartUTC: stamps.utc,
      StartLocal: stamps.local,
      ClientAddr: `${clientIp}:${clientPort}`,
      ClientHost: clientIp,
      ClientPort: String(clientPort),
      ClientUsername: '-',
      RequestAddr: hostHeader,
      RequestHost: hostName,
      RequestPort: hostPort,
      RequestMethod: req.method ?? 'GET',
      RequestPath: url,
      RequestProtocol: `HTTP/${req.httpVersion}`,
      RequestScheme: scheme,
      RequestContentSize: Number(req.headers['content-length'] ?? 0) || 0,
      RequestCount: ++requestCount,
      RetryAttempts: 0,
      entryPointName: entryPoint,
      level: 'info',
      msg: '',
    };
    applyEntryForwardedHeaders(req, clientIp, scheme, trusted(clientIp));

    const ctx: Ctx = { req, res, rawPath, rawQuery, clientIp, clientPort, scheme, log, onResponseHeaders: [] };
    if (upgrade) ctx.upgrade = upgrade;

    const gres = res as GatewayResponse;
    gres.headerSteps = ctx.onResponseHeaders;

    // The request's SERVER span (the http instrumentation's, the trace root unless the client sent
    // a traceparent), when tracing runs and the request is sampled: forwardAuth's and the proxy's
    // undici requests are its children and carry its traceparent to core and the upstream. Its ids
    // go into the access line as Traefik v3 writes them (TraceId, SpanId).
    const span = recordingSpan();
    const metrics = options.metrics;
    const protocol = metrics ? protocolOf(req.headers as { accept?: string }, upgrade !== undefined) : 'http';
    metrics?.opened(entryPoint, protocol);
    let logged = false;
    const finish = () => {
      if (logged) return;
      logged = true;
      const durationNs = Number(process.hrtime.bigint() - startNs);
      log.DownstreamStatus ??= res.headersSent ? res.statusCode : 499;
      const size = gres.bodySize;
      log.DownstreamContentSize = size;
      if (log.OriginStatus !== undefined) log.OriginContentSize = size;
      log.Duration = durationNs;
      log.Overhead = durationNs - (log.OriginDuration ?? 0);
      log.time = isoTime(Date.now());
      // Read when the line is written, not when the request came in: Traefik's access log holds the
      // request's header map itself (accesslog.go keeps `req.Header`), so what middlewares set —
      // the X-Request-Id the requestid plugin assigned — is what the line shows.
      for (const [name, lower] of logHeaders) {
        const v = req.headers[lower];
        if (v !== undefined) log[`request_${name}`] = Array.isArray(v) ? v.join(', ') : v;
      }
      if (span) {
        const sc = span.spanContext();
        log.TraceId = sc.traceId;
        log.SpanId = sc.spanId;
      }
      accessLog.log(log);
      if (metrics) {
        metrics.closed(entryPoint, protocol);
        metrics.request({
          entryPoint,
          method: log.RequestMethod,
          protocol,
          code: log.DownstreamStatus,
          router: log.RouterName,
          service: log.ServiceName,
          seconds: durationNs / 1e9,
        });
      }
    };
    res.once('finish', finish);
    res.once('close', finish);
    if (upgrade) upgrade.socket.once('close', finish);

    if (options.ping && rawPath === '/ping' && (req.method === 'GET' || req.method === 'HEAD')) {
      res.statusCode = closing ? 503 : 200;
      res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      res.end(closing ? 'Service Unavailable' : 'OK');
      log.RouterName = 'ping@internal';
      log.ServiceName = 'ping@internal';
      return;
    }
    const rt = runtime;
    const input = new RouteInput(
      req.method ?? 'GET',
      hostName.charCodeAt(0) === 91 /* [ */ ? hostName.replace(/^\[|\]$/g, '') : hostName,
      routingPath(rawPath),
      req.headers,
      rawQuery,
      clientIp,
    );
    let route: Runtime['routes'][number] | undefined;
    for (const r of rt.routes) {
      if (r.match(input)) {
        route = r;
        break;
      }
    }
    if (!route) {
      // src mux.go: Go's http.NotFoundHandler
      httpError(res, 404, '404 page not found\n');
      return;
    }
    log.RouterName = `${route.name}@file`;
    log.ServiceName = `${route.serviceName}@file`;
    if (span) {
      // A router name is a bounded, operator-chosen template, as http.route is for a framework.
      span.updateName(`${log.RequestMethod} ${log.RouterName}`);
      span.setAttributes({ 'http.route': log.RouterName, 'linkport.gateway.service': log.ServiceName, 'linkport.gateway.entrypoint': entryPoint });
    }
    const failed = () => {
      if (!res.headersSent) httpError(res, 500, 'Internal Server Error\n');
      else res.destroy();
    };
    let pending: void | Promise<void>;
    try {
      pending = route.handler(ctx);
    } catch {
      failed();
      return;
    }
    if (pending) pending.catch(failed);
  }

  // the response class is ours (see GatewayResponse); typed as a plain http.Server for callers
  const server = http.createServer({ keepAliveTimeout: 65_000, ServerResponse: GatewayResponse }, (req, res) => handle(req, res)) as unknown as http.Server;
  server.on('connection', lingerBeforeClose);
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    // Node routes every `Upgrade:` request here; only WebSocket is proxied as an upgrade. Others
    // (h2c, TLS/1.0) are answered rather than dropped: Go's server, under Traefik, ignores them too
    // and serves the request as plain HTTP/1.1, which Node cannot do once it handed over the socket.
    if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
      socket.on('error', () => socket.destroy());
      socket.end('HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 35\r\nConnection: close\r\n\r\nonly WebSocket upgrades are served\n');
      return;
    }
    const res = new GatewayResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket as never);
    res.once('finish', () => socket.end());
    socket.on('error', () => socket.destroy());
    handle(req, res, { socket, head });
  });
  // CONNECT (a forward-proxy request) is not a gateway's business: 405, as Traefik's router answers
  // a method no route serves, instead of Node's silent close when nobody listens for 'connect'.
  server.on('connect', (_req: http.IncomingMessage, socket: Duplex) => {
    socket.on('error', () => socket.destroy());
    socket.end('HTTP/1.1 405 Method Not Allowed\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 22\r\nConnection: close\r\n\r\n405 Method Not Allowed');
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request');
  });

  return {
    server,
    get generation() {
      return generation;
    },
    listen(port = 0, host = '127.0.0.1') {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve(server.address() as AddressInfo);
        });
      });
    },
    flushAccessLog() {
      accessLog.flush();
    },
    reload(next) {
      const previous = runtime;
      runtime = buildRuntime(next, entryPoint, proxy, store);
      generation++;
      void previous.close();
    },
    close() {
      closing = true;
      return new Promise((resolve) => {
        server.close(() => {
          accessLog.flush();
          runtime.close().then(() => resolve(), () => resolve());
        });
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 2000).unref();
        proxy.close();
      });
    },
  };
}

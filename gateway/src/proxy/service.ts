/**
 * A `loadBalancer` service: the server is chosen by balancer.ts (weighted round robin, health checks,
 * sticky cookie as src `loadbalancer/wrr`), forwarding with
 * Traefik's proxy behaviour (src `pkg/proxy/httputil/proxy.go`). HTTP goes through an undici Pool
 * per server (keep-alive, measured ~1.5–2× http-proxy-3's throughput here); WebSocket upgrades go
 * through http-proxy-3, which splices the sockets after 101.
 *  - the server URL's path is ignored, the (rewritten) incoming path and query are sent;
 *  - hop-by-hop headers are removed (Go ReverseProxy), except Connection/Upgrade on upgrades;
 *  - X-Forwarded-For gets the peer appended (`prior, ip`), unless suppressed by headers;
 *  - Host is the client's unless `passHostHeader: false`;
 *  - WebSocket upgrades are spliced after 101 with `Sec-WebSocket-*` re-cased as Traefik does;
 *  - errors: timeout 504 "Gateway Timeout", connection failures 502 "Bad Gateway", client gone
 *    499, anything else 500; no server at all 503 "no available server".
 */
import type http from 'node:http';
import { PassThrough, type Duplex } from 'node:stream';
import type { ProxyServer } from 'http-proxy-3';
import { Pool, type Dispatcher } from 'undici';
import type { ServiceConfig, ServersTransportConfig } from '../config/schema.ts';
import { parseDuration } from '../config/duration.ts';
import { Balancer, type LbServer } from './balancer.ts';
import { httpError, plainAnswer, requestURI, statusText, type Ctx, type Handler } from '../middlewares/types.ts';

export const kProxyState = Symbol('gateway.proxyState');

export interface ProxyState {
  ctx: Ctx;
  responseHeaderTimeoutMs?: number;
  timedOut?: boolean;
  originStart?: number;
}

type StatefulRequest = http.IncomingMessage & { [kProxyState]?: ProxyState };

const hopHeaders = ['connection', 'proxy-connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade'];
const wsCase: Record<string, string> = {
  'sec-websocket-key': 'Sec-WebSocket-Key',
  'sec-websocket-extensions': 'Sec-WebSocket-Extensions',
  'sec-websocket-accept': 'Sec-WebSocket-Accept',
  'sec-websocket-protocol': 'Sec-WebSocket-Protocol',
  'sec-websocket-version': 'Sec-WebSocket-Version',
};
const badGatewayCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);
const timeoutCodes = new Set(['ETIMEDOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** src proxy.go ComputeStatusCode: timeouts 504, network errors / EOF 502, client gone 499, else 500. */
export function proxyErrorStatus(err: NodeJS.ErrnoException, state: ProxyState | undefined, clientGone: boolean): number {
  if (clientGone) return 499;
  const code = err.code ?? (err.cause as NodeJS.ErrnoException | undefined)?.code;
  if (state?.timedOut || (code && timeoutCodes.has(code))) return 504;
  if (code && badGatewayCodes.has(code)) return 502;
  return 500;
}

const responseHopHeaders = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);

function stripHopHeaders(h: http.IncomingHttpHeaders, upgrade: boolean): void {
  // Connection-listed names are read before `connection` itself goes.
  const conn = h.connection;
  for (const name of hopHeaders) {
    if (h[name] === undefined) continue;
    if (upgrade && (name === 'connection' || name === 'upgrade')) continue;
    if (name === 'te' && h.te === 'trailers') continue;
    delete h[name];
  }
  if (conn === undefined) return;
  for (const part of conn.split(',')) {
    const name = part.trim().toLowerCase();
    if (name === '') continue;
    if (upgrade && (name === 'connection' || name === 'upgrade')) continue;
    if (name === 'te' && h.te === 'trailers') continue;
    delete h[name];
  }
}

/**
 * Streams one upstream answer into the client response through undici's dispatcher interface: no
 * AbortController, no intermediate Readable, backpressure via pause/resume on the client socket.
 */
class ForwardHandler implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined;
  /** The client went away before the answer was complete. */
  private gone = false;
  /** The upstream's status line arrived: from here on a failure is not retried. */
  private started = false;

  constructor(
    private readonly ctx: Ctx,
    private readonly state: ProxyState,
  ) {
    const res = ctx.res;
    res.once('close', () => {
      if (res.writableFinished) return;
      this.gone = true;
      this.controller?.abort(Object.assign(new Error('client closed the request'), { code: 'ECONNABORTED' }));
    });
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.gone) controller.abort(Object.assign(new Error('client closed the request'), { code: 'ECONNABORTED' }));
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    const { ctx, state } = this;
    this.started = true;
    ctx.log.OriginStatus = statusCode;
    ctx.log.OriginDuration = Math.round((performance.now() - (state.originStart as number)) * 1e6);
    const res = ctx.res;
    res.statusCode = statusCode;
    for (const k in headers) {
      const v = headers[k];
      if (v !== undefined && !responseHopHeaders.has(k)) res.setHeader(k, v);
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const res = this.ctx.res;
    if (!res.write(chunk)) {
      controller.pause();
      res.once('drain', () => controller.resume());
    }
  }

  onResponseEnd(): void {
    this.ctx.res.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    const { ctx, state } = this;
    // The upstream answered in full and then closed while the client was still sending a body it
    // will never read (an early 413/415): the answer stands. Destroying the response now would
    // reset the client's connection and lose that answer.
    if (ctx.res.writableEnded) return;
    // Nothing reached the client yet: the retry middleware may send the request again.
    if (!this.gone && !this.started && ctx.upstreamFailed?.(err as NodeJS.ErrnoException)) return;
    const status = proxyErrorStatus(err as NodeJS.ErrnoException, state, this.gone);
    if (status === 499) {
      ctx.log.DownstreamStatus = 499;
      return;
    }
    if (ctx.res.headersSent) ctx.res.destroy();
    else plainAnswer(ctx.res, status, statusText[status] ?? '');
  }
}

export interface ServiceOptions {
  name: string;
  config: ServiceConfig;
  transport?: ServersTransportConfig;
  proxy: ProxyServer;
}

export interface Service {
  handle: Handler;
  readonly balancer: Balancer;
  /** Closes the connection pools once their requests in flight are done (undici Pool.close). */
  close(): Promise<void>;
}

export function createService({ name, config, transport, proxy }: ServiceOptions): Service {
  const lb = config.loadBalancer;
  const balancer = new Balancer({ serviceName: name, servers: lb.servers, healthCheck: lb.healthCheck, sticky: lb.sticky });
  const sticky = lb.sticky !== undefined;
  const timeouts = transport?.forwardingTimeouts;
  const responseHeaderTimeoutMs = timeouts?.responseHeaderTimeout !== undefined ? parseDuration(timeouts.responseHeaderTimeout) || undefined : undefined;
  const idleMs = (timeouts?.idleConnTimeout !== undefined ? parseDuration(timeouts.idleConnTimeout) : undefined) ?? 90_000;
  const dialMs = (timeouts?.dialTimeout !== undefined ? parseDuration(timeouts.dialTimeout) : undefined) ?? 30_000;
  const pools = new Map<string, Pool>();
  const pool = (server: LbServer): Pool => {
    if (server.pool) return server.pool;
    const origin = server.origin;
    let p = pools.get(origin.origin);
    if (!p) {
      // Traefik's default transport: no response-header or body timeout unless configured; 30 s dial.
      p = new Pool(origin.origin, {
        connections: transport?.maxIdleConnsPerHost ?? 256,
        keepAliveTimeout: idleMs,
        keepAliveMaxTimeout: Math.max(idleMs, 1000),
        headersTimeout: responseHeaderTimeoutMs ?? 0,
        bodyTimeout: 0,
        connect: { timeout: dialMs },
      });
      pools.set(origin.origin, p);
    }
    // cached on the server entry: no Map lookup per request
    server.pool = p;
    return p;
  };

  // Synchronous: the answer is streamed by ForwardHandler, nothing here needs awaiting.
  const handle: Handler = (ctx) => {
    const { req, res } = ctx;
    const h = req.headers;
    const server = sticky ? balancer.pick(h.cookie, ctx.upgrade ? undefined : ctx.onResponseHeaders, ctx.avoid) : balancer.next(ctx.avoid);
    if (!server) {
      httpError(res, 503, 'no available server\n');
      return;
    }
    ctx.log.ServiceURL = server.url;
    ctx.log.ServiceAddr = server.host;
    const upgrade = ctx.upgrade !== undefined;
    // before the hop headers go: a chunked body is announced by Transfer-Encoding alone
    const hasBody = ctx.body !== undefined ? ctx.body.length > 0 : Number(h['content-length'] ?? 0) > 0 || h['transfer-encoding'] !== undefined;
    if (!ctx.forwardPrepared) {
      ctx.forwardPrepared = true;
      stripHopHeaders(h, upgrade);
      if (!ctx.suppressXForwardedFor) {
        const prior = h['x-forwarded-for'];
        h['x-forwarded-for'] = prior ? `${prior}, ${ctx.clientIp}` : ctx.clientIp;
      }
    }
    if (!lb.passHostHeader) h.host = server.host;
    req.url = requestURI(ctx);
    const state: ProxyState = { ctx, responseHeaderTimeoutMs, originStart: performance.now() };
    (req as StatefulRequest)[kProxyState] = state;

    if (ctx.upgrade) {
      const { socket, head } = ctx.upgrade;
      for (const [lower, cased] of Object.entries(wsCase)) {
        const v = h[lower];
        if (v !== undefined) {
          delete h[lower];
          (h as Record<string, unknown>)[cased] = v;
        }
      }
      res.detachSocket(socket as never);
      ctx.log.DownstreamStatus = 101;
      proxy.ws(req, socket, head, { target: server.origin, prependPath: false, xfwd: false }, (err, _req, sock) => {
        const status = proxyErrorStatus(err as NodeJS.ErrnoException, state, false);
        ctx.log.DownstreamStatus = status;
        writeRawError(sock as Duplex, status);
      });
      return;
    }
    delete h.expect;
    delete h['transfer-encoding'];
    const body = ctx.body !== undefined ? ctx.body : hasBody ? detachedBody(req) : null;
    pool(server).dispatch(
      {
        path: req.url,
        method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
        headers: h as Record<string, string | string[]>,
        body,
      },
      new ForwardHandler(ctx, state),
    );
  };
  return {
    handle,
    balancer,
    close: async () => {
      balancer.close();
      await Promise.all([...pools.values()].map((p) => p.close().catch(() => {})));
    },
  };
}

/**
 * The client's body as undici's request body, through a PassThrough: when the upstream fails or
 * answers early and closes (a 413 before the whole upload), undici destroys the body stream it was
 * given; destroying the client's IncomingMessage would destroy its socket and reset the connection
 * before our answer reaches it. The rest of the client's body is drained instead.
 */
function detachedBody(req: http.IncomingMessage): PassThrough {
  const pt = new PassThrough();
  req.pipe(pt);
  pt.once('close', () => {
    req.unpipe(pt);
    req.resume();
  });
  return pt;
}

function writeRawError(socket: Duplex, status: number): void {
  const body = statusText[status] ?? '';
  if (socket.writable) {
    socket.end(
      `HTTP/1.1 ${status} ${body}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
}

/** Wires the per-request timeout and origin bookkeeping onto the shared proxy instance. */
export function instrumentProxy(proxy: ProxyServer): void {
  proxy.on('proxyReq', (proxyReq, req) => {
    const st = (req as StatefulRequest)[kProxyState];
    if (st?.responseHeaderTimeoutMs) {
      proxyReq.setTimeout(st.responseHeaderTimeoutMs, () => {
        st.timedOut = true;
        proxyReq.destroy(Object.assign(new Error('response header timeout'), { code: 'ETIMEDOUT' }));
      });
      proxyReq.once('response', () => proxyReq.setTimeout(0));
    }
  });
  proxy.on('proxyRes', (proxyRes, req) => {
    const st = (req as StatefulRequest)[kProxyState];
    if (!st) return;
    st.ctx.log.OriginStatus = proxyRes.statusCode;
    if (st.originStart !== undefined) st.ctx.log.OriginDuration = Math.round((performance.now() - st.originStart) * 1e6);
  });
  proxy.on('econnreset', () => {});
  // After a WebSocket upgrade, http-proxy-3 re-emits an error of the client's socket (a browser tab
  // reloaded or closed mid-connection: ECONNRESET) on the ProxyServer, whose default listener throws
  // when no other listens — an uncaught exception that took the whole gateway down. The tunnel's
  // own listeners already end the upstream side; here the client socket is only destroyed.
  proxy.on('error', (_err, _req, res) => {
    if (res && 'destroy' in res && typeof res.destroy === 'function') res.destroy();
  });
}

/**
 * A `loadBalancer` service: round-robin over its servers (src `loadbalancer/wrr`), forwarding with
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
import type { Duplex } from 'node:stream';
import type { ProxyServer } from 'http-proxy-3';
import { Pool, type Dispatcher } from 'undici';
import type { ServiceConfig, ServersTransportConfig } from '../config/schema.ts';
import { parseDuration } from '../config/duration.ts';
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
  const listed = (h.connection ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  for (const name of [...hopHeaders, ...listed]) {
    if (upgrade && (name === 'connection' || name === 'upgrade')) continue;
    if (name === 'te' && h.te === 'trailers') continue;
    delete h[name];
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
  /** Closes the connection pools once their requests in flight are done (undici Pool.close). */
  close(): Promise<void>;
}

export function createService({ config, transport, proxy }: ServiceOptions): Service {
  const lb = config.loadBalancer;
  const servers = lb.servers.map((s) => {
    const u = new URL(s.url);
    return { url: s.url.replace(/\/+$/, ''), origin: new URL(u.origin), host: u.host };
  });
  const timeouts = transport?.forwardingTimeouts;
  const responseHeaderTimeoutMs = timeouts?.responseHeaderTimeout !== undefined ? parseDuration(timeouts.responseHeaderTimeout) || undefined : undefined;
  const idleMs = (timeouts?.idleConnTimeout !== undefined ? parseDuration(timeouts.idleConnTimeout) : undefined) ?? 90_000;
  const dialMs = (timeouts?.dialTimeout !== undefined ? parseDuration(timeouts.dialTimeout) : undefined) ?? 30_000;
  const pools = new Map<string, Pool>();
  const pool = (origin: URL) => {
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
    return p;
  };
  let next = 0;

  const handle: Handler = async (ctx) => {
    const { req, res } = ctx;
    const server = servers[next++ % Math.max(servers.length, 1)];
    if (!server) {
      httpError(res, 503, 'no available server\n');
      return;
    }
    ctx.log.ServiceURL = server.url;
    ctx.log.ServiceAddr = server.host;
    const h = req.headers;
    const upgrade = ctx.upgrade !== undefined;
    stripHopHeaders(h, upgrade);
    if (!ctx.suppressXForwardedFor) {
      const prior = h['x-forwarded-for'];
      h['x-forwarded-for'] = prior ? `${prior}, ${ctx.clientIp}` : ctx.clientIp;
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
    const abort = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    delete h.expect;
    const hasBody = ctx.body !== undefined ? ctx.body.length > 0 : Number(h['content-length'] ?? 0) > 0 || h['transfer-encoding'] !== undefined;
    delete h['transfer-encoding'];
    const body = ctx.body !== undefined ? ctx.body : hasBody ? req : null;
    pool(server.origin).stream(
      {
        path: req.url,
        method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
        headers: h as Record<string, string | string[]>,
        body,
        signal: abort.signal,
      },
      ({ statusCode, headers }) => {
        ctx.log.OriginStatus = statusCode;
        ctx.log.OriginDuration = Math.round((performance.now() - (state.originStart as number)) * 1e6);
        res.statusCode = statusCode;
        for (const [k, v] of Object.entries(headers)) if (v !== undefined && !responseHopHeaders.has(k)) res.setHeader(k, v);
        return res;
      },
      (err) => {
        if (!err) return;
        const gone = abort.signal.aborted;
        const status = proxyErrorStatus(err as NodeJS.ErrnoException, state, gone);
        if (status === 499) {
          ctx.log.DownstreamStatus = 499;
          return;
        }
        if (res.headersSent) res.destroy();
        else plainAnswer(res, status, statusText[status] ?? '');
      },
    );
  };
  return {
    handle,
    close: async () => {
      await Promise.all([...pools.values()].map((p) => p.close().catch(() => {})));
    },
  };
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
}

/**
 * A `loadBalancer` service: round-robin over its servers (src `loadbalancer/wrr`), forwarding
 * through http-proxy-3 with Traefik's proxy behaviour (src `pkg/proxy/httputil/proxy.go`):
 *  - the server URL's path is ignored, the (rewritten) incoming path and query are sent;
 *  - hop-by-hop headers are removed (Go ReverseProxy), except Connection/Upgrade on upgrades;
 *  - X-Forwarded-For gets the peer appended (`prior, ip`), unless suppressed by headers;
 *  - Host is the client's unless `passHostHeader: false`;
 *  - WebSocket upgrades are spliced after 101 with `Sec-WebSocket-*` re-cased as Traefik does;
 *  - errors: timeout 504 "Gateway Timeout", connection failures 502 "Bad Gateway", client gone
 *    499, anything else 500; no server at all 503 "no available server".
 */
import http from 'node:http';
import { Readable } from 'node:stream';
import type { Duplex } from 'node:stream';
import type { ProxyServer } from 'http-proxy-3';
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
const badGatewayCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'ECONNABORTED']);

/** src proxy.go ComputeStatusCode. */
export function proxyErrorStatus(err: NodeJS.ErrnoException, state: ProxyState | undefined, clientGone: boolean): number {
  if (clientGone) return 499;
  if (state?.timedOut || err.code === 'ETIMEDOUT') return 504;
  if (err.code && badGatewayCodes.has(err.code)) return 502;
  return 500;
}

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

export function createService({ name, config, transport, proxy }: ServiceOptions): Handler {
  const lb = config.loadBalancer;
  const servers = lb.servers.map((s) => {
    const u = new URL(s.url);
    return { url: s.url.replace(/\/+$/, ''), origin: new URL(u.origin), host: u.host };
  });
  const timeouts = transport?.forwardingTimeouts;
  const responseHeaderTimeoutMs = timeouts?.responseHeaderTimeout !== undefined ? parseDuration(timeouts.responseHeaderTimeout) || undefined : undefined;
  const idleMs = timeouts?.idleConnTimeout !== undefined ? parseDuration(timeouts.idleConnTimeout) : 90_000;
  const agent = new http.Agent({ keepAlive: true, keepAliveMsecs: 1000, maxFreeSockets: transport?.maxIdleConnsPerHost ?? 200, timeout: idleMs });
  let next = 0;

  return async (ctx) => {
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
    proxy.web(
      req,
      res,
      { target: server.origin, agent, prependPath: false, xfwd: false, ...(ctx.body ? { buffer: Readable.from([ctx.body]) } : {}) },
      (err) => {
        const gone = req.destroyed && !res.writableFinished && res.destroyed;
        const status = proxyErrorStatus(err as NodeJS.ErrnoException, state, gone);
        if (status === 499) {
          ctx.log.DownstreamStatus = 499;
          return;
        }
        plainAnswer(res, status, statusText[status] ?? '');
      },
    );
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

/**
 * The floor of a Node reverse proxy on this machine: the least a proxy written with Node's HTTP
 * stack can do per request (parse the request, one pooled keep-alive request upstream, copy the
 * status and headers back, stream the body), with none of the gateway's routing, middlewares,
 * access log or metrics. bench/gateway.ts runs it beside the gateway, in the same run, as a second
 * baseline: the gateway's ratio to `direct` can be read against this one's.
 * FLOOR_CLIENT=http: node:http with a keep-alive http.Agent (maxSockets 256);
 * FLOOR_CLIENT=undici: an undici Pool (256 connections) through its dispatch interface, as the
 * gateway's service does.
 */
import http from 'node:http';
import { Pool, type Dispatcher } from 'undici';

const upstream = new URL(process.env.UPSTREAM_URL ?? 'http://127.0.0.1:1');
const client = process.env.FLOOR_CLIENT === 'undici' ? 'undici' : 'http';
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
// FLOOR_PIPELINING=n: n requests in flight per upstream connection over 8 connections (measured
// against the default, one per connection over up to 256: see gateway/README.md)
const pipelining = Number(process.env.FLOOR_PIPELINING ?? 1);
const pool = new Pool(upstream.origin, pipelining > 1 ? { connections: 8, pipelining, keepAliveTimeout: 90_000 } : { connections: 256, keepAliveTimeout: 90_000 });

function viaHttp(req: http.IncomingMessage, res: http.ServerResponse): void {
  const up = http.request(
    { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers, agent },
    (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      ur.pipe(res);
    },
  );
  up.on('error', () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  req.pipe(up);
}

function viaUndici(req: http.IncomingMessage, res: http.ServerResponse): void {
  // undici refuses hop-by-hop request headers (a proxy must drop them anyway)
  delete req.headers.connection;
  delete req.headers['keep-alive'];
  pool.dispatch(
    { path: req.url ?? '/', method: (req.method ?? 'GET') as Dispatcher.HttpMethod, headers: req.headers as Record<string, string>, body: null },
    {
      // its presence marks the handler as undici 7's dispatch-controller kind
      onRequestStart() {},
      onResponseStart(_c, status, headers) {
        res.statusCode = status;
        for (const k in headers) {
          const v = headers[k];
          if (v !== undefined && k !== 'connection' && k !== 'keep-alive' && k !== 'transfer-encoding') res.setHeader(k, v);
        }
      },
      onResponseData(_c, chunk) {
        res.write(chunk);
      },
      onResponseEnd() {
        res.end();
      },
      onResponseError() {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      },
    },
  );
}

http
  .createServer({ keepAliveTimeout: 65_000 }, client === 'undici' ? viaUndici : viaHttp)
  .listen(Number(process.env.PORT), '127.0.0.1', () => process.send?.('ready'));

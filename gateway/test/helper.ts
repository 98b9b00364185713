/** Real servers on port 0 (docs/style.md §7): upstreams, an auth server, and a gateway in front of them. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import { buildGateway, type GatewayOptions } from '../src/app.ts';
import { parseDynamicFiles } from '../src/config/load.ts';

export interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  body: string;
}

export interface Upstream {
  url: string;
  port: number;
  seen: Seen[];
  server: http.Server;
}

export type UpstreamHandler = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void;

const echo: UpstreamHandler = (_req, res) => {
  res.setHeader('Content-Type', 'text/plain');
  res.end('upstream');
};

export async function upstream(t: TestContext, handler: UpstreamHandler = echo): Promise<Upstream> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders, body });
      handler(req, res, body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}`, port, seen, server };
}

export async function gateway(t: TestContext, yaml: string, env: Record<string, string> = {}, options: GatewayOptions = {}) {
  const config = parseDynamicFiles([{ name: 'test.yml', text: yaml }], env);
  const gw = buildGateway(config, options);
  const addr = await gw.listen(0, '127.0.0.1');
  t.after(() => gw.close());
  return { gw, url: `http://127.0.0.1:${addr.port}`, port: addr.port };
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  body: string;
}

/** A plain HTTP/1.1 call with exactly the given headers (no fetch normalisation). */
export function call(url: string, opts: { method?: string; headers?: http.OutgoingHttpHeaders; body?: string | Buffer; path?: string } = {}): Promise<Reply> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: u.hostname, port: u.port, method: opts.method ?? 'GET', path: opts.path ?? u.pathname + u.search, headers: opts.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** A minimal router+service config in front of `target`, with the given middlewares. */
export function route(target: string, middlewares: Record<string, unknown>, order = Object.keys(middlewares), rule = 'PathPrefix(`/`)'): string {
  return JSON.stringify({
    http: {
      routers: { r: { rule, middlewares: order, service: 's' } },
      middlewares,
      services: { s: { loadBalancer: { servers: [{ url: target }] } } },
    },
  });
}

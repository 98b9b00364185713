import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readiness, type ReadinessCheck } from './health.ts';

/**
 * `/health/live` and `/health/ready` (and optionally `/metrics`) on a private port of their own, for
 * processes that have no HTTP app of their own (the click worker) or whose public port must not
 * answer them (the gateway, as Traefik keeps `ping` and metrics on its internal entrypoint). Same
 * answers as `registerHealth` for Fastify apps, so every process has one shape.
 */
export interface ProbeServerOptions {
  host: string;
  port: number;
  checks: ReadinessCheck[];
  /** Prometheus text exposition, when the process has metrics. */
  metrics?: () => Promise<string> | string;
}

export interface ProbeServer {
  url: string;
  port: number;
  /** /health/ready answers 503 from now on (drain), before `close`. */
  draining(): void;
  close(): Promise<void>;
}

export async function serveProbes(opts: ProbeServerOptions): Promise<ProbeServer> {
  let closing = false;
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, body: unknown, type = 'application/json') => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, { status: 'method not allowed' });
    if (path === '/health/live') return send(200, { status: 'ok' });
    if (path === '/health/ready') {
      if (closing) return send(503, { status: 'closing' });
      void readiness(opts.checks).then(({ ok, checks }) => send(ok ? 200 : 503, { status: ok ? 'ok' : 'unavailable', checks }));
      return;
    }
    if (path === '/metrics' && opts.metrics) {
      void Promise.resolve()
        .then(() => opts.metrics!())
        .then(
          (text) => send(200, text, 'text/plain; version=0.0.4; charset=utf-8'),
          () => send(500, { status: 'metrics failed' }),
        );
      return;
    }
    send(404, { status: 'not found' });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${opts.host}:${port}`,
    port,
    draining: () => void (closing = true),
    close: () =>
      new Promise<void>((resolve) => {
        closing = true;
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

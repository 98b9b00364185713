/**
 * The entrypoint's X-Forwarded-* handling, as src `pkg/middlewares/forwardedheaders/forwarded_header.go`:
 * from a peer outside `trustedIPs` every managed X-header (and its `_` spelling) is deleted, then
 * X-Real-Ip, X-Forwarded-Proto (`ws`/`wss` for WebSocket upgrades), -Port, -Host are set when
 * absent and X-Forwarded-Server always. The proxy later appends the peer to X-Forwarded-For.
 */
import os from 'node:os';
import type { IncomingMessage } from 'node:http';

export const managedXHeaders = new Set([
  'x-forwarded-proto',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-forwarded-server',
  'x-forwarded-uri',
  'x-forwarded-method',
  'x-forwarded-prefix',
  'x-forwarded-scheme',
  'x-forwarded-tls-client-cert',
  'x-forwarded-tls-client-cert-info',
  'x-scheme',
  'x-real-ip',
]);

const hostname = os.hostname();

/** The port of a Host header, else 443 for https/wss, else 80 (forwarded_header.go forwardedPort). */
export function forwardedPort(host: string, proto: string): string {
  if (host.indexOf(':') === -1) return proto === 'https' || proto === 'wss' ? '443' : '80';
  const m = /:(\d+)$/.exec(host);
  if (m && !host.endsWith(']')) return m[1] as string;
  return proto === 'https' || proto === 'wss' ? '443' : '80';
}

export function isWebSocketUpgrade(req: IncomingMessage): boolean {
  const conn = req.headers.connection ?? '';
  return /\bupgrade\b/i.test(conn) && (req.headers.upgrade ?? '').toLowerCase() === 'websocket';
}

export function applyEntryForwardedHeaders(req: IncomingMessage, clientIp: string, scheme: 'http' | 'https', trusted: boolean): void {
  const h = req.headers;
  if (!trusted) {
    // every managed name starts with "x"; the others skip the `_` rewrite
    for (const name in h) if (name.charCodeAt(0) === 120 && managedXHeaders.has(name.indexOf('_') === -1 ? name : name.replace(/_/g, '-'))) delete h[name];
  }
  if (!h['x-real-ip']) h['x-real-ip'] = clientIp;
  if (!h['x-forwarded-proto']) h['x-forwarded-proto'] = isWebSocketUpgrade(req) ? (scheme === 'https' ? 'wss' : 'ws') : scheme;
  if (!h['x-forwarded-port']) h['x-forwarded-port'] = forwardedPort(h.host ?? '', String(h['x-forwarded-proto']));
  if (!h['x-forwarded-host'] && h.host) h['x-forwarded-host'] = h.host;
  h['x-forwarded-server'] = hostname;
}

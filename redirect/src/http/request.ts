import type { IncomingMessage } from 'node:http';

/** Request helpers kept apart from the handler so they can be read (and tested) alone. */

export function header(req: IncomingMessage, name: string): string {
  const v = req.headers[name];
  return (Array.isArray(v) ? v[0] : v) ?? '';
}

export function countryOf(req: IncomingMessage, headerName: string): string | null {
  if (!headerName) return null;
  const v = header(req, headerName).trim().toUpperCase();
  // XX/T1 are Cloudflare's unknown/Tor markers; only real alpha-2 codes target.
  return /^[A-Z]{2}$/.test(v) && v !== 'XX' ? v : null;
}

/** True when Accept ranks application/json before text/html (or has no text/html at all). */
export function prefersJson(req: IncomingMessage): boolean {
  const accept = req.headers.accept;
  if (!accept) return false;
  const j = accept.indexOf('application/json');
  if (j < 0) return false;
  const h = accept.indexOf('text/html');
  return h < 0 || j < h;
}

export class BodyTooLargeError extends Error {
  override name = 'BodyTooLargeError';
}

/**
 * Reads a small urlencoded body; rejects with BodyTooLargeError past `limit` bytes. The request is
 * not destroyed then — a reset would reach the client as a gateway 502 — but drained while the
 * caller answers 413 with `Connection: close`.
 */
export function readForm(req: IncomingMessage, limit = 4096): Promise<URLSearchParams> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        chunks.length = 0;
        reject(new BodyTooLargeError(`body over ${limit} bytes`));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}

export function safeHost(req: IncomingMessage): string {
  const h = header(req, 'host');
  return /^[A-Za-z0-9.[\]:-]{1,255}$/.test(h) ? h : 'localhost';
}

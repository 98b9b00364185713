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
 * Reads a small urlencoded body; rejects with BodyTooLargeError past `limit` bytes. The rest of the
 * body is then read and discarded (a "lingering close", as nginx's `lingering_close`): closing
 * with unread bytes in the kernel's receive buffer makes TCP send RST, and an RST that overtakes
 * the 413 loses it — through the gateway that is a 502 for the client (fuzz case: a 2 MB password
 * form). The caller answers 413 and keeps the connection; `lingerMs` bounds how long a body that
 * never ends may keep it, after which the request is destroyed.
 */
export function readForm(req: IncomingMessage, limit = 4096, lingerMs = 30_000): Promise<URLSearchParams> {
  return new Promise((resolve, reject) => {
    let size = 0;
    let over = false;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      if (over) return;
      size += c.length;
      if (size > limit) {
        over = true;
        chunks.length = 0;
        const linger = setTimeout(() => req.destroy(), lingerMs);
        linger.unref();
        req.once('close', () => clearTimeout(linger));
        reject(new BodyTooLargeError(`body over ${limit} bytes`));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!over) resolve(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
    });
    req.on('error', reject);
  });
}

export function safeHost(req: IncomingMessage): string {
  const h = header(req, 'host');
  return /^[A-Za-z0-9.[\]:-]{1,255}$/.test(h) ? h : 'localhost';
}

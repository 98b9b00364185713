import fs from 'node:fs';
import path from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { loggerOptions, registerErrorHandling, registerHealth } from '@linkport/common';
import type { WebConfig } from './config.ts';

/**
 * The dashboard's static server under `npm start`, mirroring web/docker/nginx.conf (production):
 *  - `/` → 302 `/app/` (the gateway routes `/`, `/app` and `/app/…` here: web.yml); `/app` → 301 `/app/`.
 *  - `/app/assets/*` are content-hashed by Vite: `Cache-Control: public, max-age=31536000, immutable`.
 *  - everything else under /app/ that is not a file is the SPA's index.html (client-side routes),
 *    `Cache-Control: no-cache`, so a deploy is picked up on the next load (RFC 9111 §5.2.2.4).
 *  - precompressed `.br`/`.gz` siblings chosen by Accept-Encoding (RFC 9110 §12.5.3), `Vary: Accept-Encoding`.
 * Files are looked up per request, so a rebuild (src/build.ts renames the new folder into place)
 * needs no restart.
 */

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webmanifest': 'application/manifest+json',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json',
  '.woff2': 'font/woff2',
};

/**
 * Scripts and styles from our own origin only; API calls and the GraphQL WebSocket go to the same
 * origin (the gateway), presigned uploads and image previews to the storage origin, which differs
 * per deployment — hence http(s) in connect-src/img-src. No framing (the gateway sets frame-deny too).
 */
export const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob: http: https:",
  "connect-src 'self' ws: wss: http: https:",
  "frame-ancestors 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "object-src 'none'",
].join('; ');

function pickEncoding(accept: string | undefined, file: string): { file: string; encoding?: 'br' | 'gzip' } {
  const a = (accept ?? '').toLowerCase();
  // q=0 refuses a coding (RFC 9110 §12.5.3); anything else listed accepts it.
  const accepts = (c: string) => new RegExp(`(^|,)\\s*${c}\\s*(;\\s*q=(?!0(\\.0+)?\\s*(,|$))[0-9.]+)?\\s*(,|$)`).test(a);
  if (accepts('br') && fs.existsSync(`${file}.br`)) return { file: `${file}.br`, encoding: 'br' };
  if (accepts('gzip') && fs.existsSync(`${file}.gz`)) return { file: `${file}.gz`, encoding: 'gzip' };
  return { file };
}

export async function buildWebApp(config: WebConfig, opts: { logger?: boolean } = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: opts.logger === false ? false : loggerOptions('web', config.LOG_LEVEL),
    requestIdHeader: 'x-request-id',
    return503OnClosing: true,
  });
  registerErrorHandling(app);
  const dist = path.resolve(config.WEB_DIST_DIR);
  registerHealth(app, [
    {
      name: 'dist',
      check: async () => {
        await fs.promises.access(path.join(dist, 'index.html'));
      },
    },
  ]);

  const send = async (req: FastifyRequest, reply: FastifyReply, file: string, immutable: boolean) => {
    const type = TYPES[path.extname(file)] ?? 'application/octet-stream';
    const chosen = COMPRESSIBLE_TYPE.test(type) ? pickEncoding(req.headers['accept-encoding'], file) : { file };
    const st = await fs.promises.stat(chosen.file);
    const etag = `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}${chosen.encoding ? `-${chosen.encoding}` : ''}"`;
    void reply
      .header('content-type', type)
      .header('vary', 'Accept-Encoding')
      .header('etag', etag)
      .header('x-content-type-options', 'nosniff')
      .header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    if (chosen.encoding) void reply.header('content-encoding', chosen.encoding);
    if (type.startsWith('text/html')) void reply.header('content-security-policy', CSP).header('referrer-policy', 'strict-origin-when-cross-origin');
    if (req.headers['if-none-match'] === etag) return reply.code(304).send();
    void reply.header('content-length', st.size);
    return reply.send(fs.createReadStream(chosen.file));
  };

  app.get('/', async (_req, reply) => reply.code(302).header('location', '/app/').header('cache-control', 'no-cache').send());
  app.get('/app', async (req, reply) => {
    const q = req.url.indexOf('?');
    return reply.code(301).header('location', `/app/${q >= 0 ? req.url.slice(q) : ''}`).send();
  });
  app.get('/app/*', async (req, reply) => {
    const rel = decodeURIComponent((req.params as { '*': string })['*'] ?? '');
    const file = path.resolve(dist, rel);
    // No `..` escapes (resolve normalised it) and no dotfiles (the build stamp, a lock).
    if (!file.startsWith(dist + path.sep) && file !== dist) return reply.code(404).send();
    if (rel.split('/').some((s) => s.startsWith('.'))) return reply.code(404).send();
    const isAsset = rel.startsWith('assets/');
    const st = await fs.promises.stat(file).catch(() => undefined);
    if (st?.isFile()) return send(req, reply, file, isAsset);
    // A missing hashed asset is a 404 (an old tab after a deploy), never index.html served as JS.
    if (isAsset || path.extname(rel) !== '') {
      return reply.code(404).header('cache-control', 'no-cache').type('text/plain').send('Not found');
    }
    return send(req, reply, path.join(dist, 'index.html'), false);
  });
  return app;
}

const COMPRESSIBLE_TYPE = /^(text\/|application\/(json|manifest\+json)|image\/svg\+xml)/;

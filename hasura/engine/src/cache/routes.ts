/**
 * `POST /pro/cache/clear` (docs/docs/caching/caching-config.mdx "Clearing items from the cache"):
 * everything, `?key=<X-Hasura-Query-Cache-Key>` or `?family=<X-Hasura-Query-Family-Cache-Key>`;
 * admin only, like the other administrative endpoints.
 */
import type { FastifyInstance } from 'fastify';
import { normalizeHeaders, type Authenticator } from '../auth/session.ts';
import { QErr } from '../errors.ts';
import type { QueryCache } from './cache.ts';

export function registerCacheRoutes(app: FastifyInstance, deps: { auth: Authenticator; cache: QueryCache }): void {
  app.post('/pro/cache/clear', async (req, reply) => {
    const send = (status: number, body: unknown) => reply.code(status).header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(body));
    try {
      const { session } = await deps.auth.authenticate(normalizeHeaders(req.headers), undefined);
      if (session.role !== 'admin') throw new QErr('access-denied', 'restricted access : admin only', '$', undefined, 400);
      const q = req.query as { key?: string; family?: string };
      const cleared = await deps.cache.clear({ key: q.key, family: q.family });
      return send(200, { message: 'success', cleared });
    } catch (err) {
      if (err instanceof QErr) return send(err.status, err.body());
      // Redis unreachable: the cache cannot be cleared now; say so without internals.
      return send(503, { path: '$', error: 'the query cache is unavailable; retry later', code: 'unexpected' });
    }
  });
}

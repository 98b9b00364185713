import type { FastifyPluginAsync } from 'fastify';
import { consolePage } from '@linkport/graphql-console';

/**
 * The links GraphQL explorer (@linkport/graphql-console: GraphiQL inlined from npm packages, no
 * CDN), published by the gateway at `/v1/links/console`. Core serves it because real Hasura runs
 * with its console disabled in production, and the page only speaks GraphQL over
 * `/v1/links/graphql`, so it works against both engines. Gzipped when the client accepts it.
 */
export const consoleRoutes: FastifyPluginAsync = async (app) => {
  app.get('/console', { schema: { hide: true } }, async (req, reply) => {
    const page = consolePage();
    reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'public, max-age=300')
      .header('x-frame-options', 'DENY')
      .header('etag', page.etag)
      .header('vary', 'accept-encoding');
    if (req.headers['if-none-match'] === page.etag) return reply.code(304).send();
    if (/\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) return reply.header('content-encoding', 'gzip').send(page.gzip);
    return reply.send(page.html);
  });
};

import fs from 'node:fs';
import type { FastifyPluginAsync } from 'fastify';

/**
 * The links GraphQL explorer (hasura/console/index.html), published by the gateway at
 * `/v1/links/console`. Core serves it because real Hasura runs with its console disabled in
 * production, and the page only speaks GraphQL over `/v1/links/graphql`, so it works against both
 * engines. Read once at start; a checkout without the file answers 404.
 */
export const defaultConsolePath = new URL('../../../../hasura/console/index.html', import.meta.url);

export const consoleRoutes: FastifyPluginAsync<{ file?: URL | string }> = async (app, opts) => {
  const file = opts.file ?? defaultConsolePath;
  const html = fs.existsSync(file) ? fs.readFileSync(file) : undefined;
  app.get('/console', { schema: { hide: true } }, async (req, reply) => {
    if (!html) return reply.code(404).send({ error: { code: 'NOT_FOUND', message: 'console page is not installed', requestId: req.id } });
    return reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'public, max-age=300')
      .header('x-frame-options', 'DENY')
      .send(html);
  });
};

import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { requireSession, sessionUserId } from '../../plugins/authenticate.ts';
import { bearerSecurity, errors } from '../../http/schemas.ts';
import type { CredentialVerifier } from '../verify/verify.service.ts';
import { ApiKeyList, ApiKeyParams, CreateApiKeyBody, CreatedApiKey } from './api-keys.schemas.ts';
import type { ApiKeysService } from './api-keys.service.ts';

export const apiKeysRoutes: FastifyPluginAsyncZod<{ apiKeys: ApiKeysService; verifier: CredentialVerifier }> = async (
  app,
  { apiKeys, verifier },
) => {
  app.addHook('preHandler', requireSession(verifier));

  app.post(
    '/api-keys',
    {
      schema: {
        tags: ['api-keys'],
        summary: 'Create an API key (the secret is in this response only)',
        security: bearerSecurity,
        body: CreateApiKeyBody,
        response: { 201: CreatedApiKey, ...errors(400, 401, 403, 413, 415) },
      },
    },
    async (req, reply) => {
      const created = await apiKeys.create(
        sessionUserId(req),
        { name: req.body.name, scopes: req.body.scopes, expiresAt: req.body.expires_at },
        req.ip,
      );
      void reply.header('cache-control', 'no-store');
      return reply.code(201).send(created);
    },
  );

  app.get(
    '/api-keys',
    {
      schema: {
        tags: ['api-keys'],
        summary: 'List live (unrevoked) keys, without secrets',
        security: bearerSecurity,
        response: { 200: ApiKeyList, ...errors(401, 403) },
      },
    },
    async (req) => ({ items: await apiKeys.list(sessionUserId(req)) }),
  );

  app.delete(
    '/api-keys/:id',
    {
      schema: {
        tags: ['api-keys'],
        summary: 'Revoke a key',
        security: bearerSecurity,
        params: ApiKeyParams,
        response: { 204: z.null().describe('Revoked'), ...errors(400, 401, 403, 404) },
      },
    },
    async (req, reply) => {
      await apiKeys.revoke(sessionUserId(req), req.params.id, req.ip);
      return reply.code(204).send(null);
    },
  );
};

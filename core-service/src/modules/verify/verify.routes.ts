import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { UnauthorizedError } from '@linkport/common';
import { errors } from '../../http/schemas.ts';
import { bearerToken, type CredentialVerifier } from './verify.service.ts';
import { VerifyQuery, VerifyResponse } from './verify.schemas.ts';

/**
 * The gateway's forwardAuth target (CONTRIBUTING.md "Tokens"). Traefik deletes every header named in
 * `authResponseHeaders` before copying ours, so each one is always set — an absent Authorization
 * would strip the caller's token (except anonymous, which has none to keep).
 */
export const verifyRoutes: FastifyPluginAsyncZod<{ verifier: CredentialVerifier }> = async (app, { verifier }) => {
  app.get(
    '/auth/verify',
    {
      schema: {
        tags: ['auth'],
        summary: 'forwardAuth: check a JWT or API key and answer identity headers',
        description:
          'Authorization: Bearer <jwt | lp_ key>. 200 sets X-User-Id, X-User-Role, X-Auth-Method (jwt | api_key | ' +
          'anonymous), X-Auth-Scopes (space-separated) and Authorization (the caller\'s JWT, or a 60-second JWT minted ' +
          'for the API key). 401 otherwise; with mode=optional a request without credential is anonymous.',
        querystring: VerifyQuery,
        response: { 200: VerifyResponse, ...errors(400, 401, 503) },
      },
      // The hot path: the handler builds these bodies itself, so the per-request zod encode
      // (a full schema walk) buys nothing here; the schema still documents and types them.
      serializerCompiler: () => (data) => JSON.stringify(data),
    },
    async (req, reply) => {
      const header = req.headers.authorization;
      if (header === undefined || header === '') {
        if (req.query.mode !== 'optional') throw new UnauthorizedError('Authentication required', 'UNAUTHORIZED');
        void reply.headers({ 'x-user-id': '', 'x-user-role': 'anonymous', 'x-auth-method': 'anonymous', 'x-auth-scopes': '' });
        return { user_id: null, role: 'anonymous', auth_method: 'anonymous' as const, scopes: [] };
      }
      const token = bearerToken(header);
      if (!token) throw new UnauthorizedError('Authorization must be "Bearer <token>"', 'INVALID_TOKEN');
      const id = await verifier.verify(token);
      void reply.headers({
        'x-user-id': id.userId,
        'x-user-role': id.role,
        'x-auth-method': id.method,
        'x-auth-scopes': id.scopes.join(' '),
        authorization: `Bearer ${id.token}`,
        'cache-control': 'no-store',
      });
      return { user_id: id.userId, role: id.role, auth_method: id.method, scopes: [...id.scopes] };
    },
  );
};

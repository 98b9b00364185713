import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { requireSession, sessionUserId } from '../../plugins/authenticate.ts';
import { noStore, setRefreshCookie } from '../../http/cookies.ts';
import { bearerSecurity, errors, toUserOut, TokenResponse, User } from '../../http/schemas.ts';
import { requestMeta } from '../auth/auth.routes.ts';
import type { CredentialVerifier } from '../verify/verify.service.ts';
import { ChangePasswordBody, DeleteMeBody, PatchMeBody } from './me.schemas.ts';
import type { MeService } from './me.service.ts';

export interface MeRoutesOptions {
  me: MeService;
  verifier: CredentialVerifier;
  secureCookies: boolean;
}

export const meRoutes: FastifyPluginAsyncZod<MeRoutesOptions> = async (app, { me, verifier, secureCookies }) => {
  app.addHook('preHandler', requireSession(verifier));

  app.get(
    '/me',
    { schema: { tags: ['me'], summary: 'The signed-in user', security: bearerSecurity, response: { 200: User, ...errors(401, 403) } } },
    async (req) => toUserOut(await me.get(sessionUserId(req))),
  );

  app.patch(
    '/me',
    {
      schema: {
        tags: ['me'],
        summary: 'Change display name and/or email',
        security: bearerSecurity,
        body: PatchMeBody,
        response: { 200: User, ...errors(400, 401, 403, 409, 413, 415) },
      },
    },
    async (req) => toUserOut(await me.update(sessionUserId(req), { email: req.body.email, displayName: req.body.display_name })),
  );

  app.post(
    '/me/password',
    {
      schema: {
        tags: ['me'],
        summary: 'Change the password; every other session is revoked',
        description: 'Answers a new token pair for this client; all earlier refresh tokens stop working.',
        security: bearerSecurity,
        body: ChangePasswordBody,
        response: { 200: TokenResponse, ...errors(400, 401, 403, 413, 415, 429) },
      },
    },
    async (req, reply) => {
      const tokens = await me.changePassword(sessionUserId(req), req.body.current_password, req.body.new_password, requestMeta(req));
      setRefreshCookie(reply, tokens.refresh_token, tokens.refresh_expires_in, secureCookies);
      noStore(reply);
      return tokens;
    },
  );

  app.delete(
    '/me',
    {
      schema: {
        tags: ['me'],
        summary: 'Delete the account, its sessions, keys, links and media records',
        security: bearerSecurity,
        body: DeleteMeBody,
        response: { 204: z.null().describe('Deleted'), ...errors(400, 401, 403, 413, 415, 429) },
      },
    },
    async (req, reply) => {
      await me.delete(sessionUserId(req), req.body.password, requestMeta(req));
      return reply.code(204).send(null);
    },
  );
};

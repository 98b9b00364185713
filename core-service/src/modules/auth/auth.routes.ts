import { z } from 'zod';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ForbiddenError, UnauthorizedError } from '@linkport/common';
import { clearRefreshCookie, noStore, refreshCookie, setRefreshCookie } from '../../http/cookies.ts';
import { errors, toUserOut, TokenResponse } from '../../http/schemas.ts';
import { bearerToken, type CredentialVerifier } from '../verify/verify.service.ts';
import { LoginBody, LogoutBody, RefreshBody, RegisterBody, SessionResponse } from './auth.schemas.ts';
import type { AuthService, RequestMeta } from './auth.service.ts';

export interface AuthRoutesOptions {
  auth: AuthService;
  verifier: CredentialVerifier;
  secureCookies: boolean;
}

export function requestMeta(req: FastifyRequest): RequestMeta {
  return { ip: req.ip, userAgent: req.headers['user-agent'] ?? null };
}

export const authRoutes: FastifyPluginAsyncZod<AuthRoutesOptions> = async (app, { auth, verifier, secureCookies }) => {
  app.post(
    '/auth/register',
    {
      schema: {
        tags: ['auth'],
        summary: 'Create an account and start a session',
        body: RegisterBody,
        response: { 201: SessionResponse, ...errors(400, 409, 413, 415) },
      },
    },
    async (req, reply) => {
      const { user, tokens } = await auth.register(
        { email: req.body.email, password: req.body.password, displayName: req.body.display_name ?? null },
        requestMeta(req),
      );
      setRefreshCookie(reply, tokens.refresh_token, tokens.refresh_expires_in, secureCookies);
      noStore(reply);
      return reply.code(201).send({ ...tokens, user: toUserOut(user) });
    },
  );

  app.post(
    '/auth/login',
    {
      schema: {
        tags: ['auth'],
        summary: 'Exchange email and password for tokens',
        description: 'Failed attempts are throttled per account and per client IP: 429 LOGIN_THROTTLED with Retry-After.',
        body: LoginBody,
        response: { 200: SessionResponse, ...errors(400, 401, 413, 415, 429) },
      },
    },
    async (req, reply) => {
      const { user, tokens } = await auth.login(req.body, requestMeta(req));
      setRefreshCookie(reply, tokens.refresh_token, tokens.refresh_expires_in, secureCookies);
      noStore(reply);
      return { ...tokens, user: toUserOut(user) };
    },
  );

  app.post(
    '/auth/refresh',
    {
      schema: {
        tags: ['auth'],
        summary: 'Rotate the refresh token (body field or cookie) for a new token pair',
        description:
          'Every refresh token works once. Presenting a used one revokes its whole family: 401 REFRESH_TOKEN_REUSED.',
        body: RefreshBody,
        response: { 200: TokenResponse, ...errors(400, 401, 413, 415) },
      },
    },
    async (req, reply) => {
      const presented = req.body?.refresh_token ?? refreshCookie(req);
      if (!presented) throw new UnauthorizedError('Send the refresh token in the body or the cookie', 'INVALID_REFRESH_TOKEN');
      noStore(reply);
      try {
        const tokens = await auth.refresh(presented, requestMeta(req));
        setRefreshCookie(reply, tokens.refresh_token, tokens.refresh_expires_in, secureCookies);
        return tokens;
      } catch (err) {
        clearRefreshCookie(reply, secureCookies);
        throw err;
      }
    },
  );

  app.post(
    '/auth/logout',
    {
      schema: {
        tags: ['auth'],
        summary: 'End this session, or every session with `all: true`',
        description:
          'The session is named by its refresh token (body or cookie). With `all: true` an access token in ' +
          'Authorization also names the user. Unknown tokens still answer 204 (RFC 7009 §2.2).',
        body: LogoutBody,
        response: { 204: z.null().describe('Logged out'), ...errors(400, 401, 403, 413, 415) },
      },
    },
    async (req, reply) => {
      const refreshToken = req.body?.refresh_token ?? refreshCookie(req);
      const all = req.body?.all ?? false;
      const bearer = all ? bearerToken(req.headers.authorization) : undefined;
      const identity = bearer ? await verifier.verifyJwt(bearer) : undefined;
      if (identity && !identity.session) throw new ForbiddenError('API keys cannot end sessions', 'SESSION_REQUIRED');
      const userId = identity?.userId;
      await auth.logout({ refreshToken, all, userId });
      clearRefreshCookie(reply, secureCookies);
      return reply.code(204).send(null);
    },
  );
};

import type { FastifyRequest } from 'fastify';
import { ForbiddenError, UnauthorizedError } from '@linkport/common';
import { API_KEY_PREFIX, bearerToken, type CredentialVerifier, type Identity } from '../modules/verify/verify.service.ts';

/**
 * The session behind a request, kept beside it rather than as a `FastifyRequest` augmentation:
 * the repo typechecks as one program, and a global `identity` property would collide with other
 * services' own.
 */
const sessions = new WeakMap<FastifyRequest, Identity>();

/**
 * preHandler for core's own account routes: verifies the JWT itself (never the gateway's identity
 * headers) and requires a password session — API keys hold no account-management scope.
 */
export function requireSession(verifier: CredentialVerifier) {
  return async (req: FastifyRequest): Promise<void> => {
    const token = bearerToken(req.headers.authorization);
    if (!token) throw new UnauthorizedError('Send an access token: Authorization: Bearer <jwt>');
    if (token.startsWith(API_KEY_PREFIX)) throw new ForbiddenError('API keys cannot manage the account', 'SESSION_REQUIRED');
    const identity = await verifier.verifyJwt(token);
    if (!identity.session) throw new ForbiddenError('This token was minted for an API key', 'SESSION_REQUIRED');
    sessions.set(req, identity);
  };
}

export function sessionUserId(req: FastifyRequest): string {
  const identity = sessions.get(req);
  if (!identity) throw new UnauthorizedError();
  return identity.userId;
}

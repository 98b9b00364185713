import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { ForbiddenError, ServiceUnavailableError, UnauthorizedError } from '@linkport/common';
import type { Config } from '../config.ts';

export type Scope = 'media:read' | 'media:write';

export interface Identity {
  userId: string;
  admin: boolean;
  /** undefined: a password session, which means every scope (CONTRIBUTING.md "Tokens"). */
  scopes: Set<string> | undefined;
}

// Kept in a WeakMap rather than a global `declare module 'fastify'` augmentation: the repository is
// typechecked as one program, where another service's `FastifyRequest.identity` would collide.
const identities = new WeakMap<FastifyRequest, Identity>();

/** The verified caller of a request that passed an `auth.requireScope` hook. */
export function identityOf(req: FastifyRequest): Identity {
  const identity = identities.get(req);
  if (!identity) throw new Error('identityOf: route has no requireScope hook');
  return identity;
}

export interface Auth {
  /** An onRequest hook: verifies the bearer JWT and the scope, then records the identity. */
  requireScope(scope: Scope): onRequestAsyncHookHandler;
}

const HASURA_CLAIMS = 'https://hasura.io/jwt/claims';
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Builds an Identity from a verified payload; exported for unit tests. */
export function identityFrom(payload: JWTPayload): Identity {
  const sub = payload.sub;
  if (typeof sub !== 'string' || !uuid.test(sub)) throw new UnauthorizedError('Token has no user id', 'INVALID_TOKEN');
  const hasura = (payload[HASURA_CLAIMS] ?? {}) as Record<string, unknown>;
  // Admin power lives in core and media, never in Hasura (CONTRIBUTING.md "Roles"): a top-level
  // `role` claim if core adds one, or the Hasura default role should core ever put `admin` there.
  const admin = payload.role === 'admin' || hasura['x-hasura-default-role'] === 'admin';
  const scope = payload.scope;
  let scopes: Set<string> | undefined;
  if (typeof scope === 'string') scopes = new Set(scope.split(' ').filter(Boolean));
  // An API-key token without `scope` is malformed: it must not fall back to "every scope".
  else if (payload.auth_method === 'api_key') scopes = new Set();
  return { userId: sub.toLowerCase(), admin, scopes };
}

/**
 * Identity comes only from a JWT verified against core's JWKS (iss, aud, exp checked by jose); the
 * gateway's X-User-* headers are never trusted alone (docs/architecture.md "Identity and auth"). The remote
 * key set is cached by jose and refetched on an unknown `kid`, so core's key rotation needs nothing.
 */
export function createAuth(config: Config, keys?: JWTVerifyGetKey): Auth {
  const jwks = keys ?? createRemoteJWKSet(new URL(config.JWKS_URL), { timeoutDuration: 5000, cooldownDuration: 30_000 });

  async function authenticate(req: FastifyRequest): Promise<Identity> {
    const header = req.headers.authorization;
    const m = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!m?.[1]) throw new UnauthorizedError('Bearer token required');
    try {
      const { payload } = await jwtVerify(m[1], jwks, {
        issuer: config.JWT_ISSUER,
        audience: config.JWT_AUDIENCE,
        algorithms: ['RS256', 'EdDSA', 'ES256'],
      });
      return identityFrom(payload);
    } catch (err) {
      if (err instanceof UnauthorizedError) throw err;
      if (err instanceof joseErrors.JWTExpired) throw new UnauthorizedError('Token expired', 'TOKEN_EXPIRED');
      // Core's JWKS unreachable is our outage, not the caller's bad token.
      if (err instanceof joseErrors.JWKSTimeout || !(err instanceof joseErrors.JOSEError)) {
        req.log.error({ err }, 'JWKS unavailable');
        throw new ServiceUnavailableError('Cannot verify tokens right now', 'AUTH_UNAVAILABLE');
      }
      throw new UnauthorizedError('Invalid token', 'INVALID_TOKEN');
    }
  }

  return {
    requireScope: (scope) => async (req) => {
      const identity = await authenticate(req);
      if (identity.scopes && !identity.scopes.has(scope)) {
        throw new ForbiddenError(`This credential lacks the ${scope} scope`, 'INSUFFICIENT_SCOPE', { required: scope });
      }
      identities.set(req, identity);
    },
  };
}

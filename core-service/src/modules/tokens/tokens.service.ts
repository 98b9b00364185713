import type { JWTPayload } from 'jose';
import { ACCESS_TOKEN_TTL_SECONDS, type KeyStore } from '../keys/keys.service.ts';

export const HASURA_CLAIMS = 'https://hasura.io/jwt/claims';
/**
 * Life of the JWT the verify endpoint mints for an API key. It never reaches the client (the
 * gateway strips `Authorization` from every answer and does not route the verify endpoint), and
 * every verifier also checks its `api_key_id` against the key's row (cached ≤ 5 s), so this only
 * bounds how long an upstream could replay one it received (issue 11: revocation within 5 s).
 */
export const API_KEY_TOKEN_TTL_SECONDS = 60;

export const SCOPES = ['links:read', 'links:write', 'media:read', 'media:write'] as const;
export type Scope = (typeof SCOPES)[number];

/** Hasura roles a credential may act as (CONTRIBUTING.md "Tokens"); never Hasura's `admin`. */
export type HasuraRole = 'user' | 'user_readonly' | 'anonymous';

export function roleForScopes(scopes: readonly string[]): HasuraRole {
  if (scopes.includes('links:write')) return 'user';
  if (scopes.includes('links:read')) return 'user_readonly';
  return 'anonymous';
}

function hasuraClaims(userId: string, role: HasuraRole) {
  return { 'x-hasura-user-id': userId, 'x-hasura-default-role': role, 'x-hasura-allowed-roles': [role] };
}

export interface AccessToken {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
}

/**
 * Password-session token: no `scope` claim, meaning every scope. `role` is the platform role
 * (`user` | `admin`) for services that verify the JWT themselves (media lets an admin act on any
 * asset); Hasura never sees `admin`, its roles are in the claims namespace.
 */
export async function issueSessionToken(keys: KeyStore, userId: string, sid: string, platformRole: 'user' | 'admin' = 'user'): Promise<AccessToken> {
  const { token } = await keys.sign({ sub: userId, sid, role: platformRole, [HASURA_CLAIMS]: hasuraClaims(userId, 'user') }, ACCESS_TOKEN_TTL_SECONDS);
  return { access_token: token, token_type: 'Bearer', expires_in: ACCESS_TOKEN_TTL_SECONDS };
}

/**
 * The short-lived token the verify endpoint mints for an API key, so upstreams see one token kind.
 * `api_key_id` ties it to the key: a verifier refuses it once the key is revoked or expired.
 */
export async function issueApiKeyToken(keys: KeyStore, userId: string, scopes: readonly string[], apiKeyId: string): Promise<{ token: string; exp: number }> {
  return keys.sign(
    { sub: userId, scope: scopes.join(' '), auth_method: 'api_key', api_key_id: apiKeyId, [HASURA_CLAIMS]: hasuraClaims(userId, roleForScopes(scopes)) },
    API_KEY_TOKEN_TTL_SECONDS,
  );
}

export interface TokenIdentity {
  userId: string;
  role: HasuraRole;
  /** undefined for password sessions (every scope). */
  scopes: string[] | undefined;
  viaApiKey: boolean;
  /** Session id (the refresh-token family) of a password-session token. */
  sid: string | undefined;
  /** The key a minted token stands for. */
  apiKeyId: string | undefined;
}

/** Reads our claims out of a verified payload; anything unexpected is not our token. */
export function identityOf(payload: JWTPayload): TokenIdentity | undefined {
  const claims = payload[HASURA_CLAIMS] as Record<string, unknown> | undefined;
  const sub = payload.sub;
  if (!sub || !claims || claims['x-hasura-user-id'] !== sub) return undefined;
  const role = claims['x-hasura-default-role'];
  if (role !== 'user' && role !== 'user_readonly' && role !== 'anonymous') return undefined;
  const scope = payload.scope;
  return {
    userId: sub,
    role,
    scopes: typeof scope === 'string' ? scope.split(' ').filter(Boolean) : undefined,
    viaApiKey: payload.auth_method === 'api_key',
    sid: typeof payload.sid === 'string' ? payload.sid : undefined,
    apiKeyId: typeof payload.api_key_id === 'string' ? payload.api_key_id : undefined,
  };
}

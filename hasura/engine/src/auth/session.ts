/**
 * Resolving a request's Session, mode by mode, as Hasura's `getUserInfoWithExpTime` does
 * (server/src-lib/Hasura/Server/Auth.hs; docs/research/hasura-v2.md §B.1):
 *   - no admin secret configured: admin, or the role in `x-hasura-role`, vars from headers;
 *   - admin secret: the right secret → admin (impersonating `x-hasura-role` if sent); a wrong
 *     one → 401; none → the unauthorized role if configured, else 401;
 *   - JWT / webhook: a sent admin secret is checked and wins; otherwise the token / the hook.
 */
import { timingSafeEqual } from 'node:crypto';
import type { GraphQLRequest, Session } from '../contract.ts';
import { adminSecretInvalid, adminSecretRequired } from '../errors.ts';
import { JwtVerifier, type AuthResult } from './jwt.ts';
import type { JwtConfig } from './jwt.config.ts';
import { WebhookAuth } from './webhook.ts';
import type { JwksCacheOptions } from './jwks.ts';

export type { AuthResult };

/** Lower-cased header map; repeated headers joined as node does. */
export type Headers = Record<string, string>;

export function normalizeHeaders(raw: Record<string, string | string[] | undefined> | Record<string, unknown>): Headers {
  const out: Headers = {};
  for (const [k, v] of Object.entries(raw)) {
    if (v === undefined || v === null) continue;
    out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : String(v);
  }
  return out;
}

/** Every `x-hasura-*` header is a session variable, except the credentials themselves. */
export function sessionVarsFromHeaders(headers: Headers): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (!k.startsWith('x-hasura-')) continue;
    if (k === 'x-hasura-admin-secret' || k === 'x-hasura-access-key') continue;
    vars[k] = v;
  }
  return vars;
}

function sessionFromHeaders(headers: Headers, role: string, isAdmin: boolean): Session {
  const vars = sessionVarsFromHeaders(headers);
  vars['x-hasura-role'] = role;
  return { role, vars, isAdmin };
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export interface AuthConfig {
  adminSecret?: string | undefined;
  jwt?: JwtConfig | undefined;
  authHook?: { url: string; mode: 'GET' | 'POST' } | undefined;
  unauthorizedRole?: string | undefined;
}

export class Authenticator {
  private readonly config: AuthConfig;
  readonly jwt: JwtVerifier | undefined;
  private readonly hook: WebhookAuth | undefined;

  constructor(config: AuthConfig, opts: JwksCacheOptions = {}) {
    this.config = config;
    this.jwt = config.jwt ? new JwtVerifier(config.jwt, opts) : undefined;
    this.hook = config.authHook ? new WebhookAuth(config.authHook.url, config.authHook.mode) : undefined;
  }

  /** Throws QErr. `request` is the GraphQL body, sent to a POST-mode webhook. */
  async authenticate(headers: Headers, request?: GraphQLRequest | GraphQLRequest[]): Promise<AuthResult> {
    const { adminSecret, unauthorizedRole } = this.config;
    if (adminSecret === undefined) {
      return { session: sessionFromHeaders(headers, headers['x-hasura-role'] ?? 'admin', true) };
    }
    const given = headers['x-hasura-admin-secret'] ?? headers['x-hasura-access-key'];
    if (given !== undefined) {
      if (!sameSecret(given, adminSecret)) throw adminSecretInvalid();
      return { session: sessionFromHeaders(headers, headers['x-hasura-role'] ?? 'admin', true) };
    }
    if (this.jwt) {
      if (!this.jwt.hasToken(headers) && unauthorizedRole !== undefined) {
        return { session: sessionFromHeaders(headers, unauthorizedRole, false) };
      }
      return this.jwt.authenticate(headers);
    }
    if (this.hook) return this.hook.authenticate(headers, request);
    if (unauthorizedRole !== undefined) return { session: sessionFromHeaders(headers, unauthorizedRole, false) };
    throw adminSecretRequired();
  }
}


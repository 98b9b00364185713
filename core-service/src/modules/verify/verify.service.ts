import type { FastifyBaseLogger as Logger } from 'fastify';
import { inSpan, ServiceUnavailableError, UnauthorizedError, type Pool } from '@linkport/common';
import type { Clock } from '../../lib/clock.ts';
import { sha256 } from '../../lib/secrets.ts';
import { TtlCache } from '../../lib/ttl-cache.ts';
import * as apiKeys from '../api-keys/api-keys.repository.ts';
import * as sessions from '../auth/auth.repository.ts';
import { InvalidTokenError, type KeyStore } from '../keys/keys.service.ts';
import { API_KEY_TOKEN_TTL_SECONDS, identityOf, issueApiKeyToken, roleForScopes, SCOPES } from '../tokens/tokens.service.ts';
import * as users from '../users/users.repository.ts';

export const API_KEY_PREFIX = 'lp_';

export type AuthMethod = 'jwt' | 'api_key';

export interface Identity {
  userId: string;
  /** X-User-Role: `admin` for an admin's password session, else the Hasura role of the credential. */
  role: string;
  method: AuthMethod;
  scopes: readonly string[];
  /** The JWT upstreams receive: the caller's own, or one minted for the API key. */
  token: string;
  /** A password session (not an API key, nor a token minted for one). */
  session: boolean;
  /** The session (refresh-token family) a session token belongs to. */
  sid?: string;
  /** The API key behind this identity (a key, or a JWT minted for one). */
  apiKeyId?: string;
}

/**
 * The longest any verifier may keep believing a credential that was revoked elsewhere (issue 11:
 * "revocation effective within 5 s everywhere"). Every in-process cache below is bounded by it.
 */
export const REVOCATION_BOUND_MS = 5_000;

interface KeyEntry {
  row: apiKeys.ApiKeyAuthRow;
  minted?: { token: string; exp: number };
}

export interface VerifierOptions {
  pool: Pool;
  keys: KeyStore;
  clock: Clock;
  log: Logger;
  /**
   * How long an API key lookup, a session's revocation state (and a user's role) is reused in
   * process; capped at REVOCATION_BOUND_MS. A revoked key or session, or a deleted account, keeps
   * working on *other* instances for at most this long; the instance that handles the revocation
   * drops its entries at once.
   */
  cacheTtlMs: number;
  /** API keys' last_used_at is written at most this often per key. */
  lastUsedGapMs?: number;
}

/** Parses `Authorization: Bearer <token>`; the scheme is case-insensitive (RFC 9110 §11.1, RFC 6750 §2.1). */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer[ ]+([A-Za-z0-9\-._~+/]+=*)\s*$/i.exec(header);
  return m?.[1];
}

/**
 * Revocation design (issue 11, core-service/README.md "Revocation"): access tokens stay
 * self-contained RS256 JWTs (Hasura verifies them from the JWKS), and this verifier — which the
 * gateway's forwardAuth calls on every request — adds a deny-list check keyed by the token's `sid`
 * (its refresh-token family, revoked in PostgreSQL by logout / password change / reuse detection),
 * read through a ≤ 5 s cache. Chosen over short-lived tokens with introspection because the check is
 * one indexed lookup per session per 5 s per instance, the 15-minute tokens keep working for the
 * clients and Hasura's JWT mode unchanged, and PostgreSQL already is the authority on sessions (no
 * second revocation store to keep consistent). JWTs minted for API keys carry `api_key_id` and are
 * checked against the key's row the same way.
 */
export class CredentialVerifier {
  private readonly keyCache: TtlCache<string, Promise<KeyEntry | undefined>>;
  /** API key rows by id (the `api_key_id` of minted tokens). */
  private readonly keyByIdCache: TtlCache<string, Promise<apiKeys.ApiKeyAuthRow | undefined>>;
  /** Whether a session (`sid`) is revoked. */
  private readonly sessionCache: TtlCache<string, Promise<boolean>>;
  private readonly roleCache: TtlCache<string, Promise<users.User['role'] | undefined>>;
  private readonly touched: TtlCache<string, true>;
  /** Verified JWTs, until the cache TTL or the token's own expiry, whichever comes first. */
  private readonly jwtCache: TtlCache<string, Identity>;
  private readonly lastUsedGapMs: number;

  private readonly ttlMs: number;

  constructor(private readonly o: VerifierOptions) {
    const ttl = (this.ttlMs = Math.min(o.cacheTtlMs, REVOCATION_BOUND_MS));
    this.keyCache = new TtlCache(ttl, 10_000, o.clock);
    this.keyByIdCache = new TtlCache(ttl, 10_000, o.clock);
    this.sessionCache = new TtlCache(ttl, 50_000, o.clock);
    this.roleCache = new TtlCache(ttl, 50_000, o.clock);
    this.lastUsedGapMs = o.lastUsedGapMs ?? 60_000;
    this.touched = new TtlCache(this.lastUsedGapMs, 10_000, o.clock);
    this.jwtCache = new TtlCache(ttl, 20_000, o.clock);
  }

  async verify(token: string): Promise<Identity> {
    return token.startsWith(API_KEY_PREFIX) ? this.verifyApiKey(token) : this.verifyJwt(token);
  }

  private cached<K, V>(cache: TtlCache<K, Promise<V>>, key: K, load: () => Promise<V>): Promise<V> {
    let p = cache.get(key);
    if (!p) {
      p = load();
      cache.set(key, p);
      p.catch(() => cache.delete(key));
    }
    return p;
  }

  private platformRole(userId: string) {
    return this.cached(this.roleCache, userId, () => users.roleOf(this.o.pool, userId));
  }

  async verifyJwt(token: string): Promise<Identity> {
    const hit = this.jwtCache.get(token);
    if (hit) return hit;
    let payload;
    try {
      payload = await this.o.keys.verify(token);
    } catch (err) {
      if (err instanceof InvalidTokenError) {
        const expired = err.message === 'token expired';
        throw new UnauthorizedError(expired ? 'Access token has expired' : 'Access token is invalid', expired ? 'TOKEN_EXPIRED' : 'INVALID_TOKEN');
      }
      throw err;
    }
    const id = identityOf(payload);
    if (!id) throw new UnauthorizedError('Access token is invalid', 'INVALID_TOKEN');
    let platform: users.User['role'] | undefined | 'unknown';
    try {
      platform = await this.platformRole(id.userId);
    } catch (err) {
      // PostgreSQL unreachable: a validly signed token still passes (it is self-contained, and that
      // is the point of JWTs), only without admin elevation or the deleted-account check.
      this.o.log.warn({ err }, 'user role lookup failed; accepting the token on its signature');
      platform = 'unknown';
    }
    if (!platform) throw new UnauthorizedError('The account of this token no longer exists', 'ACCOUNT_NOT_FOUND');
    const session = id.scopes === undefined && !id.viaApiKey;
    if (id.viaApiKey) await this.checkMintedKey(id.apiKeyId, id.userId);
    else if (session) {
      // Every session token we issue names its session; one without is not ours to revoke, so refused.
      if (!id.sid) throw new UnauthorizedError('Access token is invalid', 'INVALID_TOKEN');
      if (platform !== 'unknown' && (await this.sessionRevoked(id.sid))) {
        throw new UnauthorizedError('This session has ended (logged out or password changed)', 'SESSION_REVOKED');
      }
    }
    const identity: Identity = {
      userId: id.userId,
      role: session && platform === 'admin' ? 'admin' : id.role,
      method: 'jwt',
      scopes: id.scopes ?? SCOPES,
      token,
      session,
      ...(id.sid !== undefined && { sid: id.sid }),
      ...(id.apiKeyId !== undefined && { apiKeyId: id.apiKeyId }),
    };
    // A repeat of the same token (a client's burst, the gateway's per-request check) skips the
    // RSA verification; never past the token's `exp`.
    const exp = typeof payload.exp === 'number' ? payload.exp * 1000 : 0;
    if (platform !== 'unknown') this.jwtCache.set(token, identity, Math.min(this.ttlMs, exp - this.o.clock()));
    return identity;
  }

  async verifyApiKey(key: string): Promise<Identity> {
    const hash = sha256(key);
    const cacheKey = hash.toString('base64');
    const entry = await this.cached(this.keyCache, cacheKey, async (): Promise<KeyEntry | undefined> => {
      let row;
      try {
        row = await apiKeys.findByHash(this.o.pool, hash);
      } catch (err) {
        this.o.log.error({ err }, 'API key lookup failed');
        throw new ServiceUnavailableError('Credential store unavailable, retry shortly', 'AUTH_UNAVAILABLE');
      }
      return row && { row };
    });
    if (!entry) {
      this.keyCache.delete(cacheKey);
      throw new UnauthorizedError('API key is invalid', 'INVALID_API_KEY');
    }
    const now = this.o.clock();
    const { row } = entry;
    if (row.revoked_at) throw new UnauthorizedError('API key has been revoked', 'API_KEY_REVOKED');
    if (row.expires_at && row.expires_at.getTime() <= now) throw new UnauthorizedError('API key has expired', 'API_KEY_EXPIRED');
    // A minted token is reused while it has most of its life left; RS256 signing is the costliest
    // step of this path. The cache TTL is far below that margin.
    // The entry lives ≤ 5 s, so a minted token is handed on with at least ~50 of its 60 s left.
    if (!entry.minted || entry.minted.exp * 1000 - now < (API_KEY_TOKEN_TTL_SECONDS * 1000) / 2) {
      // Its own span: the RS256 signature is what an operator looks for when verify is slow.
      entry.minted = await inSpan('api_key.mint_jwt', { 'linkport.api_key.id': row.id }, () => issueApiKeyToken(this.o.keys, row.user_id, row.scopes, row.id));
    }
    this.touchLastUsed(row.id, now);
    return {
      userId: row.user_id,
      role: roleForScopes(row.scopes),
      method: 'api_key',
      scopes: row.scopes,
      token: entry.minted.token,
      session: false,
      apiKeyId: row.id,
    };
  }

  /** A JWT minted for an API key is good only while the key is: the same ≤ 5 s bound as the key itself. */
  private async checkMintedKey(apiKeyId: string | undefined, userId: string): Promise<void> {
    if (!apiKeyId) throw new UnauthorizedError('Access token is invalid', 'INVALID_TOKEN');
    let row;
    try {
      row = await this.cached(this.keyByIdCache, apiKeyId, () => apiKeys.findAuthById(this.o.pool, apiKeyId));
    } catch (err) {
      this.o.log.error({ err }, 'API key lookup failed');
      throw new ServiceUnavailableError('Credential store unavailable, retry shortly', 'AUTH_UNAVAILABLE');
    }
    if (!row || row.user_id !== userId || row.revoked_at) throw new UnauthorizedError('API key has been revoked', 'API_KEY_REVOKED');
    if (row.expires_at && row.expires_at.getTime() <= this.o.clock()) throw new UnauthorizedError('API key has expired', 'API_KEY_EXPIRED');
  }

  private sessionRevoked(sid: string): Promise<boolean> {
    return this.cached(this.sessionCache, sid, () => sessions.isFamilyRevoked(this.o.pool, sid)).catch((err: unknown) => {
      // PostgreSQL unreachable: as for the role lookup above, a validly signed token passes on its
      // signature (logout and password change cannot happen meanwhile either: they write there).
      this.o.log.warn({ err }, 'session revocation lookup failed; accepting the token on its signature');
      return false;
    });
  }

  private touchLastUsed(id: string, now: number): void {
    if (this.touched.get(id)) return;
    this.touched.set(id, true);
    apiKeys.touchLastUsed(this.o.pool, id, new Date(now), this.lastUsedGapMs).catch((err: unknown) => {
      this.o.log.warn({ err, apiKeyId: id }, 'could not record API key use');
    });
  }

  forgetApiKey(hash: Buffer, id: string): void {
    this.keyCache.delete(hash.toString('base64'));
    this.keyByIdCache.delete(id);
    this.jwtCache.deleteWhere((i) => i.apiKeyId === id);
  }

  /** A session was revoked here: its tokens are refused by this instance at once. */
  forgetSession(sid: string): void {
    this.sessionCache.delete(sid);
    this.jwtCache.deleteWhere((i) => i.sid === sid);
  }

  /** Every session of the user was revoked (logout-all, password change). */
  forgetUserSessions(userId: string): void {
    this.jwtCache.deleteWhere((i) => i.userId === userId);
    // the cache is keyed by sid alone; a revoke-all is rare enough to reload every session's state
    this.sessionCache.clear();
  }

  forgetUser(userId: string): void {
    this.roleCache.delete(userId);
    this.jwtCache.deleteWhere((id) => id.userId === userId);
    // Keys are cached by hash, not owner; an account deletion is rare enough to drop them all.
    this.keyCache.clear();
  }
}

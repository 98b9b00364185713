import type { FastifyBaseLogger as Logger } from 'fastify';
import { ServiceUnavailableError, UnauthorizedError, type Pool } from '@linkport/common';
import type { Clock } from '../../lib/clock.ts';
import { sha256 } from '../../lib/secrets.ts';
import { TtlCache } from '../../lib/ttl-cache.ts';
import * as apiKeys from '../api-keys/api-keys.repository.ts';
import { InvalidTokenError, type KeyStore } from '../keys/keys.service.ts';
import { identityOf, issueApiKeyToken, roleForScopes, SCOPES } from '../tokens/tokens.service.ts';
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
}

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
   * How long an API key lookup (and a user's role) is reused in process. A revoked or expired key,
   * or a deleted account, can keep working on *other* instances for at most this long; the instance
   * that handles the revocation drops its entry at once.
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

export class CredentialVerifier {
  private readonly keyCache: TtlCache<string, Promise<KeyEntry | undefined>>;
  private readonly roleCache: TtlCache<string, Promise<users.User['role'] | undefined>>;
  private readonly touched: TtlCache<string, true>;
  /** Verified JWTs, until the cache TTL or the token's own expiry, whichever comes first. */
  private readonly jwtCache: TtlCache<string, Identity>;
  private readonly lastUsedGapMs: number;

  constructor(private readonly o: VerifierOptions) {
    this.keyCache = new TtlCache(o.cacheTtlMs, 10_000, o.clock);
    this.roleCache = new TtlCache(o.cacheTtlMs, 50_000, o.clock);
    this.lastUsedGapMs = o.lastUsedGapMs ?? 60_000;
    this.touched = new TtlCache(this.lastUsedGapMs, 10_000, o.clock);
    this.jwtCache = new TtlCache(o.cacheTtlMs, 20_000, o.clock);
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
    const identity: Identity = {
      userId: id.userId,
      role: session && platform === 'admin' ? 'admin' : id.role,
      method: 'jwt',
      scopes: id.scopes ?? SCOPES,
      token,
      session,
    };
    // A repeat of the same token (a client's burst, the gateway's per-request check) skips the
    // RSA verification; never past the token's `exp`.
    const exp = typeof payload.exp === 'number' ? payload.exp * 1000 : 0;
    if (platform !== 'unknown') this.jwtCache.set(token, identity, Math.min(this.o.cacheTtlMs, exp - this.o.clock()));
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
    if (!entry.minted || entry.minted.exp * 1000 - now < 4 * 60_000) {
      entry.minted = await issueApiKeyToken(this.o.keys, row.user_id, row.scopes);
    }
    this.touchLastUsed(row.id, now);
    return { userId: row.user_id, role: roleForScopes(row.scopes), method: 'api_key', scopes: row.scopes, token: entry.minted.token, session: false };
  }

  private touchLastUsed(id: string, now: number): void {
    if (this.touched.get(id)) return;
    this.touched.set(id, true);
    apiKeys.touchLastUsed(this.o.pool, id, new Date(now), this.lastUsedGapMs).catch((err: unknown) => {
      this.o.log.warn({ err, apiKeyId: id }, 'could not record API key use');
    });
  }

  forgetApiKey(hash: Buffer): void {
    this.keyCache.delete(hash.toString('base64'));
  }

  forgetUser(userId: string): void {
    this.roleCache.delete(userId);
    this.jwtCache.deleteWhere((id) => id.userId === userId);
    // Keys are cached by hash, not owner; an account deletion is rare enough to drop them all.
    this.keyCache.clear();
  }
}

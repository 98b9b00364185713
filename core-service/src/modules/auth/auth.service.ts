import { randomUUID } from 'node:crypto';
import { TooManyRequestsError, UnauthorizedError, ValidationError, withTransaction, type Pool } from '@linkport/common';
import type { Clock } from '../../lib/clock.ts';
import { randomSecret, sha256 } from '../../lib/secrets.ts';
import type { PasswordHasher } from '../../lib/passwords.ts';
import { recordAudit } from '../audit/audit.repository.ts';
import type { KeyStore } from '../keys/keys.service.ts';
import { issueSessionToken, type AccessToken } from '../tokens/tokens.service.ts';
import * as users from '../users/users.repository.ts';
import * as repo from './auth.repository.ts';
import type { LoginThrottle } from './throttle.ts';
import type { CredentialVerifier } from '../verify/verify.service.ts';

export interface RequestMeta {
  ip: string;
  userAgent: string | null;
}

export interface TokenPair extends AccessToken {
  refresh_token: string;
  refresh_expires_in: number;
}

export interface AuthDeps {
  pool: Pool;
  keys: KeyStore;
  clock: Clock;
  hasher: PasswordHasher;
  throttle: LoginThrottle;
  refreshTtlSeconds: number;
  /** Told of every session revocation, so this instance refuses the access tokens at once. */
  verifier: CredentialVerifier;
}

export class AuthService {
  constructor(private readonly d: AuthDeps) {}

  private now(): Date {
    return new Date(this.d.clock());
  }

  /** A new session: a new refresh-token family (RFC 9700 §4.14.2) plus an access token. */
  async startSession(userId: string, meta: RequestMeta, familyId: string = randomUUID(), parentId: string | null = null): Promise<TokenPair> {
    const refresh = randomSecret(32);
    await repo.insertRefreshToken(this.d.pool, {
      userId,
      familyId,
      hash: sha256(refresh),
      parentId,
      expiresAt: new Date(this.d.clock() + this.d.refreshTtlSeconds * 1000),
      userAgent: meta.userAgent,
      ip: meta.ip,
    });
    const access = await issueSessionToken(this.d.keys, userId, familyId, (await users.roleOf(this.d.pool, userId)) ?? 'user');
    return { ...access, refresh_token: refresh, refresh_expires_in: this.d.refreshTtlSeconds };
  }

  async register(input: { email: string; password: string; displayName: string | null }, meta: RequestMeta) {
    const passwordHash = await this.d.hasher.hash(input.password);
    const user = await users.insertUser(this.d.pool, { email: input.email, displayName: input.displayName, passwordHash });
    await recordAudit(this.d.pool, { action: 'user.registered', userId: user.id, ip: meta.ip });
    return { user, tokens: await this.startSession(user.id, meta) };
  }

  async login(input: { email: string; password: string }, meta: RequestMeta) {
    const wait = await this.d.throttle.retryAfter(input.email, meta.ip);
    if (wait > 0) {
      await recordAudit(this.d.pool, { action: 'login.throttled', ip: meta.ip, details: { retryAfterSeconds: wait } });
      throw new TooManyRequestsError(wait, 'Too many failed login attempts; try again later', 'LOGIN_THROTTLED');
    }
    const user = await users.findByEmail(this.d.pool, input.email);
    const ok = user ? await this.d.hasher.verify(user.password_hash, input.password) : await this.d.hasher.verifyDummy(input.password);
    if (!user || !ok) {
      await this.d.throttle.recordFailure(input.email, meta.ip);
      await recordAudit(this.d.pool, {
        action: 'login.failed',
        userId: user?.id ?? null,
        ip: meta.ip,
        details: { reason: user ? 'bad_password' : 'unknown_email' },
      });
      // One message for both cases: the answer must not reveal which emails have accounts.
      throw new UnauthorizedError('Invalid email or password', 'INVALID_CREDENTIALS');
    }
    await this.d.throttle.recordSuccess(input.email);
    if (this.d.hasher.needsRehash(user.password_hash)) {
      await users.updatePasswordHash(this.d.pool, user.id, await this.d.hasher.hash(input.password));
    }
    await recordAudit(this.d.pool, { action: 'login.succeeded', userId: user.id, ip: meta.ip });
    const { password_hash: _omit, ...publicUser } = user;
    return { user: publicUser, tokens: await this.startSession(user.id, meta) };
  }

  /**
   * Rotates the refresh token (RFC 9700 §4.14.2). A token already used means it was copied: the
   * whole family is revoked, so both the thief and the user must log in again.
   */
  async refresh(presented: string, meta: RequestMeta): Promise<TokenPair> {
    const now = this.now();
    const outcome = await withTransaction(this.d.pool, async (c) => {
      const row = await repo.findForUpdate(c, sha256(presented));
      if (!row) return { kind: 'invalid' as const };
      if (row.used_at) {
        const revoked = await repo.revokeFamily(c, row.family_id, now);
        this.d.verifier.forgetSession(row.family_id);
        await recordAudit(c, { action: 'refresh.reuse_detected', userId: row.user_id, ip: meta.ip, details: { familyId: row.family_id, revoked } });
        return { kind: 'reused' as const };
      }
      if (row.revoked_at) return { kind: 'invalid' as const };
      if (row.expires_at.getTime() <= now.getTime()) return { kind: 'expired' as const };
      await repo.markUsed(c, row.id, now);
      return { kind: 'ok' as const, row };
    });
    switch (outcome.kind) {
      case 'invalid':
        throw new UnauthorizedError('Refresh token is invalid or revoked', 'INVALID_REFRESH_TOKEN');
      case 'expired':
        throw new UnauthorizedError('Refresh token has expired', 'REFRESH_TOKEN_EXPIRED');
      case 'reused':
        throw new UnauthorizedError('Refresh token was already used; every session of this login is revoked', 'REFRESH_TOKEN_REUSED');
      case 'ok':
        return this.startSession(outcome.row.user_id, meta, outcome.row.family_id, outcome.row.id);
    }
  }

  /**
   * Logout is idempotent (as token revocation is, RFC 7009 §2.2): an unknown token still answers
   * success. `all` revokes every session of the token's (or the access token's) user.
   */
  async logout(input: { refreshToken?: string; all: boolean; userId?: string }): Promise<void> {
    const now = this.now();
    const row = input.refreshToken ? await repo.findByHash(this.d.pool, sha256(input.refreshToken)) : undefined;
    const userId = row?.user_id ?? input.userId;
    if (!input.refreshToken && !(input.all && input.userId)) {
      throw new ValidationError('Send the refresh token (body or cookie), or `all: true` with an access token', undefined, 'MISSING_CREDENTIAL');
    }
    if (input.all && userId) {
      await repo.revokeAllForUser(this.d.pool, userId, now);
      this.d.verifier.forgetUserSessions(userId);
    } else if (row) {
      await repo.revokeFamily(this.d.pool, row.family_id, now);
      this.d.verifier.forgetSession(row.family_id);
    }
  }

  async revokeAllSessions(userId: string): Promise<void> {
    await repo.revokeAllForUser(this.d.pool, userId, this.now());
    this.d.verifier.forgetUserSessions(userId);
  }
}

import { ForbiddenError, TooManyRequestsError, UnauthorizedError, withTransaction, type Pool } from '@linkport/common';
import type { PasswordHasher } from '../../lib/passwords.ts';
import { recordAudit } from '../audit/audit.repository.ts';
import * as authRepo from '../auth/auth.repository.ts';
import type { AuthService, RequestMeta, TokenPair } from '../auth/auth.service.ts';
import type { LoginThrottle } from '../auth/throttle.ts';
import type { CredentialVerifier } from '../verify/verify.service.ts';
import * as users from '../users/users.repository.ts';
import type { Clock } from '../../lib/clock.ts';

export interface MeDeps {
  pool: Pool;
  hasher: PasswordHasher;
  throttle: LoginThrottle;
  auth: AuthService;
  verifier: CredentialVerifier;
  clock: Clock;
}

export class MeService {
  constructor(private readonly d: MeDeps) {}

  async get(userId: string): Promise<users.User> {
    const u = await users.findById(this.d.pool, userId);
    if (!u) throw new UnauthorizedError('The account of this token no longer exists', 'ACCOUNT_NOT_FOUND');
    const { password_hash: _omit, ...user } = u;
    return user;
  }

  async update(userId: string, patch: { email?: string; displayName?: string | null }): Promise<users.User> {
    const u = await users.updateProfile(this.d.pool, userId, patch);
    if (!u) throw new UnauthorizedError('The account of this token no longer exists', 'ACCOUNT_NOT_FOUND');
    return u;
  }

  /**
   * Re-authentication for sensitive changes (OWASP Authentication Cheat Sheet): a stolen access
   * token alone must not take the account over. Wrong guesses count against the login throttle.
   */
  private async checkPassword(userId: string, password: string, meta: RequestMeta): Promise<users.UserWithHash> {
    const u = await users.findById(this.d.pool, userId);
    if (!u) throw new UnauthorizedError('The account of this token no longer exists', 'ACCOUNT_NOT_FOUND');
    const wait = await this.d.throttle.retryAfter(u.email, meta.ip);
    if (wait > 0) throw new TooManyRequestsError(wait, 'Too many failed password attempts; try again later', 'LOGIN_THROTTLED');
    if (!(await this.d.hasher.verify(u.password_hash, password))) {
      await this.d.throttle.recordFailure(u.email, meta.ip);
      throw new ForbiddenError('The password is not correct', 'WRONG_PASSWORD');
    }
    return u;
  }

  /**
   * Revokes every session of the user, then starts a fresh session for the caller: the other
   * devices are logged out, this one continues with the returned pair. Access tokens of the revoked
   * sessions are refused by every verifier within 5 s (their `sid` is on the deny-list).
   */
  async changePassword(userId: string, current: string, next: string, meta: RequestMeta): Promise<TokenPair> {
    await this.checkPassword(userId, current, meta);
    const hash = await this.d.hasher.hash(next);
    await withTransaction(this.d.pool, async (c) => {
      await users.updatePasswordHash(c, userId, hash);
      await authRepo.revokeAllForUser(c, userId, new Date(this.d.clock()));
      await recordAudit(c, { action: 'password.changed', userId, ip: meta.ip });
    });
    this.d.verifier.forgetUserSessions(userId);
    return this.d.auth.startSession(userId, meta);
  }

  async delete(userId: string, password: string, meta: RequestMeta): Promise<void> {
    const u = await this.checkPassword(userId, password, meta);
    await withTransaction(this.d.pool, async (c) => {
      await users.deleteUser(c, userId);
      await recordAudit(c, { action: 'user.deleted', userId, ip: meta.ip, details: { email: u.email } });
    });
    this.d.verifier.forgetUser(userId);
  }
}

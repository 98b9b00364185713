import type { FastifyBaseLogger as Logger } from 'fastify';
import { withTimeout, type Redis } from '@linkport/common';
import { sha256Hex } from '../../lib/secrets.ts';

export interface ThrottleLimits {
  perAccount: number;
  perIp: number;
  windowSeconds: number;
}

/**
 * Failed-login counters in Redis, per account and per client IP, over a fixed window (OWASP
 * Authentication Cheat Sheet, "account lockout"; per-IP against credential stuffing across many
 * accounts). Counting failures only keeps a user who types the password right unaffected by the IP
 * limit of a busy NAT until it is really abused.
 *
 * If Redis is unreachable the check fails open (logged): login must keep working, and each guess
 * still costs an argon2id verification and passes the gateway's rate limit.
 */
export class LoginThrottle {
  constructor(
    private readonly redis: Redis,
    private readonly limits: ThrottleLimits,
    private readonly log: Logger,
  ) {}

  private keys(email: string, ip: string): [string, string] {
    return [`core:login-fail:acct:${sha256Hex(email).slice(0, 32)}`, `core:login-fail:ip:${ip}`];
  }

  /** Seconds until the caller may try again, or 0 when allowed. */
  async retryAfter(email: string, ip: string): Promise<number> {
    const [acct, addr] = this.keys(email, ip);
    try {
      const [a, i] = await withTimeout(this.redis.mget(acct, addr), 500);
      const blocked = [
        Number(a ?? 0) >= this.limits.perAccount ? acct : undefined,
        Number(i ?? 0) >= this.limits.perIp ? addr : undefined,
      ].filter((k): k is string => k !== undefined);
      if (blocked.length === 0) return 0;
      const ttls = await Promise.all(blocked.map((k) => this.redis.pttl(k)));
      return Math.max(1, Math.ceil(Math.max(...ttls, 1000) / 1000));
    } catch (err) {
      this.log.warn({ err }, 'login throttle unavailable, failing open');
      return 0;
    }
  }

  async recordFailure(email: string, ip: string): Promise<void> {
    const [acct, addr] = this.keys(email, ip);
    const w = this.limits.windowSeconds;
    try {
      // EXPIRE … NX: the window starts at the first failure and is not extended by later ones.
      await withTimeout(this.redis.multi().incr(acct).expire(acct, w, 'NX').incr(addr).expire(addr, w, 'NX').exec(), 500);
    } catch (err) {
      this.log.warn({ err }, 'login throttle unavailable, failure not counted');
    }
  }

  async recordSuccess(email: string): Promise<void> {
    const [acct] = this.keys(email, '');
    await withTimeout(this.redis.del(acct), 500).catch(() => undefined);
  }
}

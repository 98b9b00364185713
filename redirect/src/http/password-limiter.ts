import { isIP } from 'node:net';
import { LRUCache } from 'lru-cache';
import type { AnyRedis, Logger } from '@linkport/common';
import type { Metrics } from '../metrics.ts';

export interface PasswordLimits {
  perClient: number;
  perLink: number;
  windowMs: number;
  lockoutMs: number;
}

export type AttemptResult = { allowed: true } | { allowed: false; retryAfterMs: number; scope: 'client' | 'link' };

/**
 * Reserve one attempt for a client and a link, atomically. Counting happens before the password is
 * checked, so N concurrent guesses cannot all pass a check that only saw the failures already
 * recorded (the burst that let 100 guesses through in issue 11); a correct password gives its
 * attempt back (refund), so the limits count failures. A counter lives `window` ms from its first
 * attempt (fixed window); the attempt that would exceed a limit is refused and sets a lock key for
 * `lockout` ms, whose remaining TTL is the Retry-After.
 *
 * KEYS: client lock, client count, link lock, link count. ARGV: client limit, link limit, window
 * ms, lockout ms. Reply: {1} allowed, or {0, retry ms, 'client'|'link'}.
 */
const ATTEMPT = `
local ct = redis.call('PTTL', KEYS[1])
local lt = redis.call('PTTL', KEYS[3])
if ct > 0 or lt > 0 then
  if ct >= lt then return {0, ct, 'client'} end
  return {0, lt, 'link'}
end
local c = tonumber(redis.call('GET', KEYS[2]) or '0')
local l = tonumber(redis.call('GET', KEYS[4]) or '0')
if c + 1 > tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[4])
  redis.call('DEL', KEYS[2])
  return {0, tonumber(ARGV[4]), 'client'}
end
if l + 1 > tonumber(ARGV[2]) then
  redis.call('SET', KEYS[3], '1', 'PX', ARGV[4])
  redis.call('DEL', KEYS[4])
  return {0, tonumber(ARGV[4]), 'link'}
end
if redis.call('INCR', KEYS[2]) == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[3]) end
if redis.call('INCR', KEYS[4]) == 1 then redis.call('PEXPIRE', KEYS[4], ARGV[3]) end
return {1}`;

/** Gives a reserved attempt back (correct password, or the check could not run). */
const REFUND = `
for i = 1, #KEYS do
  if tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then redis.call('DECR', KEYS[i]) end
end
return 1`;

type LimiterRedis = AnyRedis & {
  pwAttempt(k1: string, k2: string, k3: string, k4: string, a1: number, a2: number, a3: number, a4: number): Promise<[number, number?, string?]>;
  pwRefund(k1: string, k2: string): Promise<number>;
};

/**
 * Per-client and per-link password attempt limits (issue 11, item 4), shared by every replica
 * through Redis. While Redis is unavailable the same limits apply per process in memory (a local
 * fallback, not fail-closed): password links keep working during a Redis outage — Redis is
 * optional for serving everywhere else in this service — and a guesser gains at most one window's
 * allowance per replica, which a fresh local state also grants. The memory state is bounded (LRU)
 * and is not merged back into Redis afterwards.
 */
export class PasswordLimiter {
  private readonly redis: LimiterRedis;
  private readonly local: LocalCounters;

  constructor(
    redis: AnyRedis,
    private readonly limits: PasswordLimits,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly clock: () => number = Date.now,
  ) {
    redis.defineCommand('pwAttempt', { numberOfKeys: 4, lua: ATTEMPT });
    redis.defineCommand('pwRefund', { numberOfKeys: 2, lua: REFUND });
    this.redis = redis as LimiterRedis;
    this.local = new LocalCounters(limits, clock);
  }

  async attempt(code: string, ip: string): Promise<AttemptResult> {
    const k = keys(code, ip);
    const r = await this.viaRedis(() =>
      this.redis.pwAttempt(k.clientLock, k.client, k.linkLock, k.link, this.limits.perClient, this.limits.perLink, this.limits.windowMs, this.limits.lockoutMs),
    );
    const result: AttemptResult = r
      ? r[0] === 1
        ? { allowed: true }
        : { allowed: false, retryAfterMs: Number(r[1]), scope: r[2] === 'link' ? 'link' : 'client' }
      : this.local.attempt(k);
    if (!result.allowed) this.metrics.c.password_lockouts_total++;
    return result;
  }

  async refund(code: string, ip: string): Promise<void> {
    const k = keys(code, ip);
    const ok = await this.viaRedis(() => this.redis.pwRefund(k.client, k.link));
    if (ok === undefined) this.local.refund(k);
  }

  /** undefined when Redis is not usable right now: the caller falls back to memory. */
  private async viaRedis<T>(f: () => Promise<T>): Promise<T | undefined> {
    if (this.redis.status !== 'ready') {
      this.metrics.c.password_limiter_fallbacks_total++;
      return undefined;
    }
    try {
      return await f();
    } catch (err) {
      this.metrics.c.password_limiter_fallbacks_total++;
      this.log.warn({ err }, 'password limiter: Redis failed, limiting in memory');
      return undefined;
    }
  }
}

interface Keys {
  client: string;
  clientLock: string;
  link: string;
  linkLock: string;
}

function keys(code: string, ip: string): Keys {
  const who = clientKey(ip);
  // One hash tag for all four: the attempt script touches a client's and a link's keys together,
  // which a Redis Cluster allows only within one slot (Redis Cluster spec, "Hash tags"). Password
  // attempts are rare, so one slot carries them all.
  return { client: `{pw}a:c:${who}`, clientLock: `{pw}l:c:${who}`, link: `{pw}a:l:${code}`, linkLock: `{pw}l:l:${code}` };
}

/**
 * An IPv6 client is limited per /64: one host is commonly given a whole /64 (RFC 6177, SLAAC), so
 * limiting single addresses would hand it 2^64 budgets.
 */
export function clientKey(ip: string): string {
  if (isIP(ip) !== 6) return ip;
  const [head = '', tail = ''] = ip.toLowerCase().split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  // Expand '::' to the zero groups it stands for, then keep the first four groups.
  const groups = ip.includes('::') ? [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t] : h;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/** The same algorithm in process memory, for Redis outages. */
class LocalCounters {
  private readonly counts: LRUCache<string, { n: number; until: number }>;
  private readonly locks: LRUCache<string, number>;

  constructor(
    private readonly limits: PasswordLimits,
    private readonly clock: () => number,
  ) {
    this.counts = new LRUCache({ max: 100_000 });
    this.locks = new LRUCache({ max: 100_000 });
  }

  private lockLeft(key: string, now: number): number {
    const until = this.locks.get(key);
    return until !== undefined && until > now ? until - now : 0;
  }

  private count(key: string, now: number): { n: number; until: number } {
    const c = this.counts.get(key);
    return c && c.until > now ? c : { n: 0, until: now + this.limits.windowMs };
  }

  attempt(k: Keys): AttemptResult {
    const now = this.clock();
    const ct = this.lockLeft(k.clientLock, now);
    const lt = this.lockLeft(k.linkLock, now);
    if (ct > 0 || lt > 0) return ct >= lt ? { allowed: false, retryAfterMs: ct, scope: 'client' } : { allowed: false, retryAfterMs: lt, scope: 'link' };
    const c = this.count(k.client, now);
    const l = this.count(k.link, now);
    if (c.n + 1 > this.limits.perClient) {
      this.locks.set(k.clientLock, now + this.limits.lockoutMs);
      this.counts.delete(k.client);
      return { allowed: false, retryAfterMs: this.limits.lockoutMs, scope: 'client' };
    }
    if (l.n + 1 > this.limits.perLink) {
      this.locks.set(k.linkLock, now + this.limits.lockoutMs);
      this.counts.delete(k.link);
      return { allowed: false, retryAfterMs: this.limits.lockoutMs, scope: 'link' };
    }
    this.counts.set(k.client, { n: c.n + 1, until: c.until });
    this.counts.set(k.link, { n: l.n + 1, until: l.until });
    return { allowed: true };
  }

  refund(k: Keys): void {
    const now = this.clock();
    for (const key of [k.client, k.link]) {
      const c = this.counts.get(key);
      if (c && c.until > now && c.n > 0) this.counts.set(key, { n: c.n - 1, until: c.until });
    }
  }
}

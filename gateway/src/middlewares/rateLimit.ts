/**
 * rateLimit, as src `pkg/middlewares/ratelimiter/rate_limiter.go` with golang.org/x/time/rate:
 * one token bucket per source (rate = average/period per second, size = max(burst, 1), starting
 * full). A request reserves a token; if it would have to wait up to `maxDelay` it is delayed (Traefik
 * shapes traffic, it does not reject at once); beyond that the reservation is cancelled and the
 * answer is 429 `Too Many Requests` with `Retry-After: ceil(delay s)` and `X-Retry-In: <Go duration>`.
 * maxDelay = 1s / (2 · trunc(rate)) when rate ≥ 1 (Go's `time.Duration(rtl)` truncates), else 500 ms.
 *
 * One deliberate difference (issue 11 §4): Traefik forgets a bucket idle for its ttl (2 s when
 * rate ≥ 1, else 1 + ⌊1/rate⌋ s) and a forgotten bucket comes back *full*, so a client pausing ttl
 * seconds between bursts gets `burst` requests each time (10/min burst 5 let 40 logins a minute
 * through). Here a bucket is forgotten only once it has refilled to `burst` at the configured rate —
 * when a fresh bucket is indistinguishable from it — so tokens come back at `average/period` only,
 * exactly as one golang.org/x/time/rate Limiter that is never dropped. Traefik itself behaves the
 * same only when burst ≤ rate · (ttl − maxDelay) (a bucket is then full whenever its ttl forgets it);
 * rl-redirect is sized so, the per-minute API limits cannot be with a useful burst, which is why
 * core enforces the login limit itself, exactly, in Redis (gateway/README.md "Rate limits").
 * At most 65 536 sources.
 */
import type { RateLimitConfig } from '../config/schema.ts';
import { formatGoDuration, parseDuration } from '../config/duration.ts';
import { sourceExtractor } from './source.ts';
import { httpError, plainAnswer, type Middleware } from './types.ts';

const maxSources = 65_536;

interface Bucket {
  tokens: number;
  last: number;
  expiresAt: number;
}

export interface Limiter {
  /** Milliseconds the request must wait, or a negative number when it is refused (−delay). */
  reserve(source: string, now?: number): number;
  readonly ratePerSecond: number;
  readonly burst: number;
  readonly maxDelayMs: number;
}

export function createLimiter(cfg: RateLimitConfig): Limiter {
  const periodMs = parseDuration(cfg.period) ?? 1000;
  const rate = cfg.average > 0 && periodMs > 0 ? (cfg.average * 1000) / periodMs : Infinity;
  const burst = Math.max(cfg.burst, 1);
  const maxDelayMs = rate === Infinity ? 0 : rate < 1 ? 500 : 1000 / (Math.trunc(rate) * 2);
  const buckets = new Map<string, Bucket>();

  return {
    ratePerSecond: rate,
    burst,
    maxDelayMs,
    reserve(source, now = performance.now()) {
      if (rate === Infinity) return 0;
      let b = buckets.get(source);
      if (b && b.expiresAt < now) b = undefined;
      if (b) buckets.delete(source);
      else {
        b = { tokens: burst, last: now, expiresAt: 0 };
        if (buckets.size >= maxSources) buckets.delete(buckets.keys().next().value as string);
      }
      // x/time/rate Limiter.reserveN: advance, take one token, wait for the deficit
      const elapsed = Math.max(0, now - b.last);
      const tokens = Math.min(burst, b.tokens + (elapsed * rate) / 1000) - 1;
      const waitMs = tokens < 0 ? (-tokens * 1000) / rate : 0;
      const refused = waitMs > maxDelayMs;
      // Reservation.Cancel(): a refused request's token goes back
      b.tokens = refused ? tokens + 1 : tokens;
      b.last = now;
      // forgotten only when full again (see above): never a refill faster than the rate
      b.expiresAt = now + ((burst - b.tokens) * 1000) / rate;
      buckets.set(source, b);
      return refused ? -waitMs : waitMs;
    },
  };
}

export function rateLimit(cfg: RateLimitConfig, limiter: Limiter = createLimiter(cfg)): Middleware {
  const extract = sourceExtractor(cfg.sourceCriterion);
  return (next) => (ctx) => {
    let source: string;
    try {
      source = extract(ctx);
    } catch {
      httpError(ctx.res, 500, 'could not extract source of request\n');
      return;
    }
    const wait = limiter.reserve(source);
    if (wait < 0) {
      const delayMs = -wait;
      ctx.res.setHeader('Retry-After', String(Math.ceil(delayMs / 1000)));
      ctx.res.setHeader('X-Retry-In', formatGoDuration(Math.round(delayMs * 1e6)));
      plainAnswer(ctx.res, 429, 'Too Many Requests');
      return;
    }
    if (wait > 0) return new Promise<void>((r) => setTimeout(r, wait)).then(() => next(ctx));
    return next(ctx);
  };
}

/**
 * rateLimit, as src `pkg/middlewares/ratelimiter/rate_limiter.go` with golang.org/x/time/rate:
 * one token bucket per source (rate = average/period per second, size = max(burst, 1), starting
 * full). A request reserves a token; if it would have to wait up to `maxDelay` it is delayed (Traefik
 * shapes traffic, it does not reject at once); beyond that the reservation is cancelled and the
 * answer is 429 `Too Many Requests` with `Retry-After: ceil(delay s)` and `X-Retry-In: <Go duration>`.
 * maxDelay = 1s / (2 · trunc(rate)) when rate ≥ 1 (Go's `time.Duration(rtl)` truncates), else 500 ms.
 * Buckets idle for ttl (2 s when rate ≥ 1, else 1 + ⌊1/rate⌋ s) are forgotten; at most 65 536 sources.
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
  const ttlMs = (rate >= 1 ? 2 : 1 + Math.trunc(1 / rate)) * 1000;
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
      b.expiresAt = now + ttlMs;
      buckets.set(source, b);
      if (waitMs > maxDelayMs) {
        // Reservation.Cancel(): the token goes back
        b.tokens = tokens + 1;
        b.last = now;
        return -waitMs;
      }
      b.tokens = tokens;
      b.last = now;
      return waitMs;
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

/**
 * Source extraction for rateLimit (src `pkg/middlewares/extractor.go`, `pkg/ip/strategy.go`,
 * vulcand/oxy `utils/source.go`):
 *  - default / empty ipStrategy: the TCP peer IP (RemoteAddr), not X-Forwarded-For;
 *  - ipStrategy.depth N: the N-th X-Forwarded-For entry from the right, "" when there are fewer;
 *  - ipStrategy.excludedIPs: the first X-Forwarded-For entry from the right not excluded, else "";
 *  - requestHeaderName: that header's value, "" when absent (all such requests share one bucket);
 *  - requestHost: the Host.
 */
import type { RateLimitConfig } from '../config/schema.ts';
import { ipMatcher } from '../proxy/ip.ts';
import type { Ctx } from './types.ts';

export type SourceExtractor = (ctx: Ctx) => string;

function xffList(ctx: Ctx): string[] {
  const v = ctx.req.headers['x-forwarded-for'];
  if (!v) return [];
  return (Array.isArray(v) ? v.join(',') : v).split(',').map((s) => s.trim());
}

export function sourceExtractor(criterion: RateLimitConfig['sourceCriterion']): SourceExtractor {
  if (criterion?.requestHeaderName) {
    const name = criterion.requestHeaderName.toLowerCase();
    return (ctx) => {
      const v = ctx.req.headers[name];
      return (Array.isArray(v) ? v[0] : v) ?? '';
    };
  }
  if (criterion?.requestHost) return (ctx) => ctx.req.headers.host ?? '';
  const s = criterion?.ipStrategy;
  if (s?.depth && s.depth > 0) {
    const depth = s.depth;
    return (ctx) => {
      const xff = xffList(ctx);
      return xff.length < depth ? '' : (xff[xff.length - depth] as string);
    };
  }
  if (s?.excludedIPs && s.excludedIPs.length > 0) {
    const excluded = ipMatcher(s.excludedIPs);
    return (ctx) => {
      const v = ctx.req.headers['x-forwarded-for'];
      if (!v) return '';
      // strategy.go PoolStrategy: entries from the right, empty ones skipped. Walked in place: with
      // one visitor address (the usual header behind a CDN) no array or substring but the answer is
      // made, on every request of every rate-limited router.
      const all = Array.isArray(v) ? v.join(',') : v;
      let end = all.length;
      while (end > 0) {
        const start = all.lastIndexOf(',', end - 1) + 1;
        const entry = all.slice(start, end).trim();
        if (entry !== '' && !excluded(entry)) return entry;
        end = start - 1;
      }
      return '';
    };
  }
  return (ctx) => ctx.clientIp;
}

/**
 * `retry` (doc `reference/routing-configuration/http/middlewares/retry.md`, src
 * `pkg/middlewares/retry/retry.go`): when the upstream could not be reached or failed before its
 * status line, the request is sent again — to the next server the load balancer picks — up to
 * `attempts` tries in all (skipping the servers that already failed it, see below). As soon as an upstream answers, whatever its status, that answer stands.
 * Waits between tries grow exponentially from `initialInterval` (×1.5, capped at 2× initialInterval,
 * the cenkalti/backoff settings Traefik uses; its ±50 % jitter is left out), none when it is 0.
 *
 * Only replayable requests are retried: no body, or a body already read (buffering/forwardBody
 * keep it in ctx.body) — a streamed body is gone once sent. And only when sending it twice is
 * harmless: an idempotent method (RFC 9110 §9.2.2: GET, HEAD, OPTIONS, TRACE, PUT, DELETE), or a
 * connection that was refused, where the request cannot have reached the server. A POST whose
 * connection broke mid-way may have been processed and is answered 502, not replayed.
 */
import type { RetryConfig } from '../config/schema.ts';
import { parseDuration } from '../config/duration.ts';
import type { Ctx, Middleware } from './types.ts';

const idempotent = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
const neverSent = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

export function backoffMs(initialMs: number, retry: number): number {
  if (initialMs <= 0) return 0;
  return Math.min(initialMs * 1.5 ** (retry - 1), initialMs * 2);
}

export function retry(cfg: RetryConfig): Middleware {
  const attempts = cfg.attempts;
  const initialMs = parseDuration(cfg.initialInterval) ?? 0;
  return (next) => (ctx: Ctx) => {
    // WebSocket upgrades are spliced by the proxy and answered raw on failure: not retried here.
    if (attempts <= 1 || ctx.upgrade) return next(ctx);
    const h = ctx.req.headers;
    const replayable = ctx.body !== undefined || (h['transfer-encoding'] === undefined && !(Number(h['content-length'] ?? 0) > 0));
    if (!replayable) return next(ctx);
    const method = ctx.req.method ?? 'GET';
    let tries = 1;
    ctx.upstreamFailed = (err) => {
      if (tries >= attempts || ctx.res.headersSent || ctx.res.destroyed) return false;
      const code = err.code ?? (err.cause as NodeJS.ErrnoException | undefined)?.code ?? '';
      if (!idempotent.has(method) && !neverSent.has(code)) return false;
      // Traefik asks the balancer afresh and may land on the server that just failed; we skip the
      // ones that failed this request while another is healthy, so `attempts: 2` survives one dead replica.
      if (ctx.log.ServiceURL) (ctx.avoid ??= new Set()).add(ctx.log.ServiceURL);
      const wait = backoffMs(initialMs, tries);
      tries++;
      ctx.log.RetryAttempts = tries - 1;
      const again = () => {
        if (ctx.res.destroyed) return;
        const p = next(ctx);
        if (p) p.catch(() => ctx.res.destroy());
      };
      if (wait > 0) setTimeout(again, wait);
      else setImmediate(again);
      return true;
    };
    return next(ctx);
  };
}

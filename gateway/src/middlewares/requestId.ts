/**
 * Request ids (docs/architecture.md "Observability"): keep an incoming X-Request-Id, else generate one, and
 * echo it on the response. OSS Traefik has no such middleware, so production loads the same logic as
 * a local Yaegi plugin (gateway/plugins-local/src/github.com/linkport/requestid/requestid.go); its
 * dynamic configuration is `plugin: { requestid: { headerName } }` in both gateways.
 * An incoming id is kept only when it is 1–200 visible ASCII characters without spaces or commas;
 * anything else is replaced, so a client cannot inject log-breaking values.
 */
import { randomUUID } from 'node:crypto';
import type { RequestIdConfig } from '../config/schema.ts';
import type { Middleware } from './types.ts';

const acceptable = /^[\x21-\x2b\x2d-\x7e]{1,200}$/;

export function requestId(cfg: RequestIdConfig): Middleware {
  const key = cfg.headerName.toLowerCase();
  return (next) => (ctx) => {
    const v = ctx.req.headers[key];
    const id = typeof v === 'string' && acceptable.test(v) ? v : randomUUID();
    ctx.req.headers[key] = id;
    ctx.onResponseHeaders.push((res) => res.setHeader(cfg.headerName, id));
    return next(ctx);
  };
}

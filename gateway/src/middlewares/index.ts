/** Builds a middleware from its dynamic configuration (one type per middleware, chain expanded). */
import type { DynamicConfig, MiddlewareConfig } from '../config/schema.ts';
import { localName } from '../config/load.ts';
import { buffering } from './buffering.ts';
import { forwardAuth } from './forwardAuth.ts';
import { headers } from './headers.ts';
import { createLimiter, rateLimit, type Limiter } from './rateLimit.ts';
import { replacePath } from './replacePath.ts';
import { replacePathRegex } from './replacePathRegex.ts';
import { requestId } from './requestId.ts';
import { retry } from './retry.ts';
import { stripPrefix } from './stripPrefix.ts';
import type { Handler, Middleware } from './types.ts';

export type { Ctx, Handler, Middleware } from './types.ts';

/** State that outlives a config reload: rate-limit buckets of unchanged middlewares. */
export class LimiterStore {
  private readonly limiters = new Map<string, { key: string; limiter: Limiter }>();
  get(id: string, cfg: NonNullable<MiddlewareConfig['rateLimit']>): Limiter {
    const key = JSON.stringify(cfg);
    const found = this.limiters.get(id);
    if (found && found.key === key) return found.limiter;
    const limiter = createLimiter(cfg);
    this.limiters.set(id, { key, limiter });
    return limiter;
  }
}

/** Expands a router's middleware references (chains included) into an ordered list of names. */
export function expandMiddlewares(cfg: DynamicConfig, refs: string[]): string[] {
  const out: string[] = [];
  for (const ref of refs) {
    const name = localName(ref) as string;
    const m = cfg.middlewares[name];
    if (m?.chain) out.push(...expandMiddlewares(cfg, m.chain.middlewares));
    else out.push(name);
  }
  return out;
}

export function buildMiddleware(name: string, m: MiddlewareConfig, scope: string, store: LimiterStore): Middleware {
  if (m.stripPrefix) return stripPrefix(m.stripPrefix);
  if (m.replacePath) return replacePath(m.replacePath);
  if (m.replacePathRegex) return replacePathRegex(m.replacePathRegex);
  if (m.forwardAuth) return forwardAuth(m.forwardAuth);
  // Traefik instantiates middlewares per router, so each router has its own buckets.
  if (m.rateLimit) return rateLimit(m.rateLimit, store.get(`${scope}/${name}`, m.rateLimit));
  if (m.headers) return headers(m.headers);
  if (m.buffering) return buffering(m.buffering);
  if (m.retry) return retry(m.retry);
  if (m.plugin?.requestid) return requestId(m.plugin.requestid);
  throw new Error(`middleware ${name}: unsupported type`);
}

export function compose(middlewares: Middleware[], handler: Handler): Handler {
  return middlewares.reduceRight<Handler>((next, mw) => mw(next), handler);
}

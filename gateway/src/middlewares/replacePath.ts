/**
 * replacePath, as src `pkg/middlewares/replacepath/replace_path.go`: the path becomes `path`, the
 * original escaped path goes to `X-Replaced-Path`, and the query string is left untouched.
 */
import type { ReplacePathConfig } from '../config/schema.ts';
import type { Middleware } from './types.ts';

export function replacePath(cfg: ReplacePathConfig): Middleware {
  return (next) => (ctx) => {
    ctx.req.headers['x-replaced-path'] = ctx.rawPath || '/';
    ctx.rawPath = cfg.path;
    return next(ctx);
  };
}

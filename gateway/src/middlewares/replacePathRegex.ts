/**
 * replacePathRegex, as src `pkg/middlewares/replacepathregex/replace_path_regex.go`: when the
 * escaped path matches `regex`, it becomes `ReplaceAllString(path, replacement)` (Go's `$1` /
 * `${1}` group references), the original goes to `X-Replaced-Path`; the query string is kept.
 */
import type { ReplacePathRegexConfig } from '../config/schema.ts';
import type { Middleware } from './types.ts';

export function replacePathRegex(cfg: ReplacePathRegexConfig): Middleware {
  const re = new RegExp(cfg.regex, 'g');
  // Go's ${1} and $1 both name a group; JS understands $1 (and $$ for a literal $, as Go).
  const replacement = cfg.replacement.replace(/\$\{(\d+)\}/g, '$$$1');
  return (next) => (ctx) => {
    const current = ctx.rawPath || '/';
    re.lastIndex = 0;
    if (cfg.replacement.length > 0 && re.test(current)) {
      re.lastIndex = 0;
      ctx.req.headers['x-replaced-path'] = current;
      ctx.rawPath = current.replace(re, replacement);
    }
    return next(ctx);
  };
}

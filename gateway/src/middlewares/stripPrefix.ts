/**
 * stripPrefix, as src `pkg/middlewares/stripprefix/strip_prefix.go`: the first prefix the decoded
 * path starts with (plain prefix, not segment-aware) is removed from the path and the raw path
 * (a `%XX` counting as one character), a leading "/" is ensured, `X-Forwarded-Prefix` is added,
 * and a result that `URL.JoinPath()` would normalise differently (`/api./x`, `//x`) is refused with 400.
 */
import path from 'node:path';
import type { StripPrefixConfig } from '../config/schema.ts';
import { decodePath, httpError, type Middleware } from './types.ts';

/** Removes `n` decoded characters from the front of an escaped path. */
function trimEscaped(raw: string, n: number): string {
  let i = 0;
  let count = 0;
  while (count < n && i < raw.length) {
    i += raw[i] === '%' && /^[0-9A-Fa-f]{2}$/.test(raw.slice(i + 1, i + 3)) ? 3 : 1;
    count++;
  }
  return raw.slice(i);
}

function ensureLeadingSlash(s: string): string {
  return s === '' || s.startsWith('/') ? s : `/${s}`;
}

/** Go `url.JoinPath()` on an absolute escaped path: path.Join plus one preserved trailing slash. */
function joinPathNormalised(p: string): string {
  if (p === '') return p;
  let out = path.posix.normalize(p);
  if (out !== '/' && out.endsWith('/') && !p.endsWith('/')) out = out.slice(0, -1);
  return out;
}

export function stripPrefix(cfg: StripPrefixConfig): Middleware {
  const prefixes = cfg.prefixes.map((p) => p.trim());
  return (next) => (ctx) => {
    const decoded = decodePath(ctx.rawPath);
    for (const prefix of prefixes) {
      if (!decoded.startsWith(prefix)) continue;
      const stripped = ensureLeadingSlash(trimEscaped(ctx.rawPath, prefix.length));
      if (joinPathNormalised(stripped) !== stripped) {
        httpError(ctx.res, 400, 'Bad Request\n');
        return;
      }
      ctx.rawPath = stripped;
      const prior = ctx.req.headers['x-forwarded-prefix'];
      ctx.req.headers['x-forwarded-prefix'] = prior ? `${prior}, ${prefix}` : prefix;
      return next(ctx);
    }
    return next(ctx);
  };
}

/**
 * headers, as src `pkg/middlewares/headers/{headers.go,header.go,secure.go}` (+ unrolled/secure):
 * CORS/custom handler first, then the secure handler, then the next handler.
 *  - CORS preflight (OPTIONS + Origin + Access-Control-Request-Method, with any CORS option set)
 *    is answered here: 200, empty, Allow-Credentials / -Headers / -Methods / -Origin and
 *    `Access-Control-Max-Age` (always, "0" when unset); the upstream is not called.
 *  - customRequestHeaders: set; "" deletes; `Host` sets the Host; `X-Forwarded-For: ""` stops the
 *    proxy from adding one. customResponseHeaders: set/delete over the upstream's.
 *  - Other responses: ACAO when the origin matches (list entry, `*`, or a regex partial match),
 *    Allow-Credentials, Expose-Headers, and `Vary: Origin` appended with addVaryHeader.
 *  - Security headers override the upstream's; HSTS only when the request is HTTPS (TLS or an
 *    sslProxyHeaders match) or forceSTSHeader, never with isDevelopment (unrolled secure.go).
 */
import type { ServerResponse } from 'node:http';
import type { HeadersConfig } from '../config/schema.ts';
import { goRegExp } from '../rules/matcher.ts';
import type { Ctx, Middleware } from './types.ts';

function first(v: string | string[] | undefined): string {
  return (Array.isArray(v) ? v[0] : v) ?? '';
}

export function headers(cfg: HeadersConfig): Middleware {
  const originList = cfg.accessControlAllowOriginList ?? [];
  const originRegexes = (cfg.accessControlAllowOriginListRegex ?? []).map(goRegExp);
  const allowAll = originList.includes('*');
  const hasCors =
    cfg.accessControlAllowCredentials !== undefined ||
    (cfg.accessControlAllowHeaders?.length ?? 0) > 0 ||
    (cfg.accessControlAllowMethods?.length ?? 0) > 0 ||
    originList.length > 0 ||
    originRegexes.length > 0 ||
    (cfg.accessControlExposeHeaders?.length ?? 0) > 0 ||
    cfg.accessControlMaxAge !== undefined ||
    cfg.addVaryHeader !== undefined;

  const originAllowed = (origin: string): string | undefined => {
    if (allowAll) return cfg.accessControlAllowCredentials && origin ? origin : '*';
    if (origin !== '' && originList.includes(origin)) return origin;
    if (origin !== '' && originRegexes.some((re) => re.test(origin))) return origin;
    return undefined;
  };

  const secure = secureHeaders(cfg);
  // Everything that does not depend on the request is computed once per configuration.
  const requestHeaders = Object.entries(cfg.customRequestHeaders ?? {}).map(([name, value]) => [name.toLowerCase(), value] as const);
  const responseHeaders = Object.entries(cfg.customResponseHeaders ?? {});
  const preflightAllowHeaders = (cfg.accessControlAllowHeaders ?? []).join(',');
  const preflightAllowMethods = (cfg.accessControlAllowMethods ?? []).join(',');
  const exposeHeaders = cfg.accessControlExposeHeaders?.length ? cfg.accessControlExposeHeaders.join(',') : undefined;
  const maxAge = String(cfg.accessControlMaxAge ?? 0);
  // The CORS/custom response step can only change something when one of these is configured
  // (originAllowed is always undefined without an origin list); skipping it saves a closure per request.
  const corsResponseStep =
    responseHeaders.length > 0 || allowAll || originList.length > 0 || originRegexes.length > 0 || !!cfg.accessControlAllowCredentials || exposeHeaders !== undefined || !!cfg.addVaryHeader;

  const corsResponse = (res: ServerResponse, origin: string): void => {
    for (const [name, value] of responseHeaders) {
      if (value === '') res.removeHeader(name);
      else res.setHeader(name, value);
    }
    const acao = originAllowed(origin);
    if (acao !== undefined && (origin !== '' || allowAll)) res.setHeader('Access-Control-Allow-Origin', acao);
    if (cfg.accessControlAllowCredentials) res.setHeader('Access-Control-Allow-Credentials', 'true');
    if (exposeHeaders !== undefined) res.setHeader('Access-Control-Expose-Headers', exposeHeaders);
    if (cfg.addVaryHeader) {
      const vary = res.getHeader('Vary');
      const v = Array.isArray(vary) ? vary.join(',') : vary === undefined ? '' : String(vary);
      if (v !== 'Origin') res.setHeader('Vary', v === '' ? 'Origin' : `${v},Origin`);
    }
  };

  return (next) => (ctx) => {
    const h = ctx.req.headers;
    const origin = first(h.origin);
    if (hasCors && ctx.req.method === 'OPTIONS' && origin !== '') {
      const acrm = first(h['access-control-request-method']);
      if (acrm !== '') {
        const res = ctx.res;
        if (cfg.accessControlAllowCredentials) res.setHeader('Access-Control-Allow-Credentials', 'true');
        let allowHeaders = preflightAllowHeaders;
        if (allowHeaders === '*' && cfg.accessControlAllowCredentials) allowHeaders = first(h['access-control-request-headers']);
        if (allowHeaders !== '') res.setHeader('Access-Control-Allow-Headers', allowHeaders);
        let allowMethods = preflightAllowMethods;
        if (allowMethods === '*' && cfg.accessControlAllowCredentials) allowMethods = acrm;
        if (allowMethods !== '') res.setHeader('Access-Control-Allow-Methods', allowMethods);
        const acao = originAllowed(origin);
        if (acao !== undefined) res.setHeader('Access-Control-Allow-Origin', acao);
        res.setHeader('Access-Control-Max-Age', maxAge);
        res.statusCode = 200;
        res.setHeader('Content-Length', '0');
        res.end();
        return;
      }
    }

    for (const [key, value] of requestHeaders) {
      if (value === '') {
        delete h[key];
        if (key === 'x-forwarded-for') ctx.suppressXForwardedFor = true;
      } else h[key] = value;
    }

    // One step per request: hooks run innermost-first, so the secure headers are set before the
    // CORS/custom ones, as two separately pushed steps (CORS first, then secure) would do.
    const values = secure?.(ctx);
    if (corsResponseStep) {
      ctx.onResponseHeaders.push((res: ServerResponse) => {
        if (values) for (const [k, v] of values) res.setHeader(k, v);
        corsResponse(res, origin);
      });
    } else if (values) {
      ctx.onResponseHeaders.push((res) => {
        for (const [k, v] of values) res.setHeader(k, v);
      });
    }
    return next(ctx);
  };
}

/** unrolled/secure's response headers for a request, or undefined when none is configured. */
function secureHeaders(cfg: HeadersConfig): ((ctx: Ctx) => Array<[string, string]>) | undefined {
  const fixed: Array<[string, string]> = [];
  if (cfg.customFrameOptionsValue) fixed.push(['X-Frame-Options', cfg.customFrameOptionsValue]);
  else if (cfg.frameDeny) fixed.push(['X-Frame-Options', 'DENY']);
  if (cfg.contentTypeNosniff) fixed.push(['X-Content-Type-Options', 'nosniff']);
  if (cfg.browserXssFilter) fixed.push(['X-XSS-Protection', '1; mode=block']);
  if (cfg.contentSecurityPolicy) fixed.push(['Content-Security-Policy', cfg.contentSecurityPolicy]);
  if (cfg.permissionsPolicy) fixed.push(['Permissions-Policy', cfg.permissionsPolicy]);
  if (cfg.referrerPolicy) fixed.push(['Referrer-Policy', cfg.referrerPolicy]);
  let sts: string | undefined;
  if (cfg.stsSeconds && cfg.stsSeconds > 0) {
    sts = `max-age=${cfg.stsSeconds}`;
    if (cfg.stsIncludeSubdomains) sts += '; includeSubDomains';
    if (cfg.stsPreload) sts += '; preload';
  }
  if (fixed.length === 0 && sts === undefined) return undefined;
  const sslHeaders = Object.entries(cfg.sslProxyHeaders ?? {}).map(([k, v]) => [k.toLowerCase(), v] as const);
  return (ctx) => {
    if (sts === undefined || cfg.isDevelopment) return fixed;
    const isSsl = ctx.scheme === 'https' || sslHeaders.some(([k, v]) => first(ctx.req.headers[k]) === v);
    return isSsl || cfg.forceSTSHeader ? [...fixed, ['Strict-Transport-Security', sts]] : fixed;
  };
}

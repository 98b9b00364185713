/**
 * forwardAuth, as src `pkg/middlewares/auth/forward.go` (Traefik v3.7: tri-state
 * trustForwardHeader, X-Forwarded-Port, authSigninURL, maxResponseBodySize):
 *  - subrequest: GET (or the original method with preserveRequestMethod) to exactly `address`, no
 *    body unless forwardBody, client headers (or only authRequestHeaders) minus hop-by-hop ones,
 *    an empty User-Agent when the client sent none, and X-Forwarded-For/-Method/-Proto/-Host/-Uri/-Port
 *    (Uri = path+query as seen at this point of the chain); redirects are not followed; 30 s timeout.
 *  - trustForwardHeader true: incoming X-Forwarded-* kept, missing ones filled; false: every managed
 *    X-header deleted then set; unset: the five legacy ones overwritten, others left, no Port.
 *  - 2xx: each authResponseHeaders name is deleted from the request then copied from the answer
 *    (so a client cannot spoof it), likewise for authResponseHeadersRegex; addAuthCookiesToResponse
 *    cookies replace the upstream's of the same name.
 *  - non-2xx: status, body and headers (minus hop-by-hop) go to the client, Location made absolute
 *    against the auth server unless preserveLocationHeader; 401 → 302 to authSigninURL when set.
 *  - auth server unreachable: 500 (499 when the client went away); body over maxBodySize or answer
 *    over maxResponseBodySize: 401.
 */
import { Agent, request } from 'undici';
import type { ForwardAuthConfig } from '../config/schema.ts';
import { goRegExp } from '../rules/matcher.ts';
import { managedXHeaders, forwardedPort } from '../proxy/forwarded.ts';
import { plainAnswer, requestURI, type Ctx, type Middleware } from './types.ts';

const hopHeaders = ['connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade'];

const authAgent = new Agent({ headersTimeout: 30_000, bodyTimeout: 30_000, keepAliveTimeout: 4_000 });

function values(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

function connectionListed(h: Record<string, string | string[] | undefined>): string[] {
  return values(h.connection)
    .flatMap((v) => v.split(','))
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
}

function cookieName(setCookie: string): string {
  return setCookie.split('=', 1)[0]?.trim() ?? '';
}

async function readBody(req: Ctx['req'], limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (limit >= 0 && size > limit) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Builds the auth subrequest's headers (forward.go writeHeader). Exported for the table tests. */
export function authRequestHeaders(cfg: ForwardAuthConfig, ctx: Ctx): Record<string, string[]> {
  const src = ctx.req.headers;
  const trusted = cfg.trustForwardHeader === true;
  const legacy = cfg.trustForwardHeader === undefined;
  const out: Record<string, string[]> = {};
  let allow: Set<string> | undefined;
  if (cfg.authRequestHeaders.length > 0) {
    allow = new Set(cfg.authRequestHeaders.map((n) => n.toLowerCase()));
    if (trusted) for (const m of managedXHeaders) allow.add(m);
  }
  for (const [name, v] of Object.entries(src)) {
    if (allow && !allow.has(name)) continue;
    out[name] = values(v);
  }
  for (const name of [...hopHeaders, ...connectionListed(src)]) if (name !== 'proxy-authorization') delete out[name];
  if (!src['user-agent']) out['user-agent'] = [''];

  const host = src.host ?? '';
  const set = (name: string, value: string) => {
    if (trusted && out[name]?.length) return;
    out[name] = [value];
  };
  if (!trusted && !legacy) {
    for (const name of Object.keys(out)) if (managedXHeaders.has(name.replace(/_/g, '-'))) delete out[name];
  }
  if (legacy) for (const name of Object.keys(out)) if (name.includes('_') && managedXHeaders.has(name.replace(/_/g, '-'))) delete out[name];
  const priorXff = trusted ? values(src['x-forwarded-for']).join(', ') : '';
  out['x-forwarded-for'] = [priorXff ? `${priorXff}, ${ctx.clientIp}` : ctx.clientIp];
  set('x-forwarded-method', ctx.req.method ?? 'GET');
  set('x-forwarded-proto', ctx.scheme);
  if (host !== '') set('x-forwarded-host', host);
  else if (!trusted) delete out['x-forwarded-host'];
  set('x-forwarded-uri', requestURI(ctx));
  if (!legacy) set('x-forwarded-port', forwardedPort(host, ctx.scheme));
  // Go keeps Host and Content-Length outside the header map: the subrequest has its own.
  delete out.host;
  delete out['content-length'];
  return out;
}

export function forwardAuth(cfg: ForwardAuthConfig): Middleware {
  const respNames = cfg.authResponseHeaders.map((n) => n.toLowerCase());
  const respRegex = cfg.authResponseHeadersRegex ? goRegExp(cfg.authResponseHeadersRegex) : undefined;
  const cookieNames = new Set(cfg.addAuthCookiesToResponse);

  return (next) => async (ctx) => {
    const { req, res } = ctx;
    if (cfg.forwardBody && req.method !== 'CONNECT') {
      const body = ctx.body ?? (await readBody(req, cfg.maxBodySize));
      if (body === undefined) {
        plainAnswer(res, 401, '');
        return;
      }
      ctx.body = body;
    }
    const flat: string[] = [];
    for (const [k, vs] of Object.entries(authRequestHeaders(cfg, ctx))) for (const v of vs) flat.push(k, v);

    const abort = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) abort.abort();
    };
    res.once('close', onClose);
    let answer: Awaited<ReturnType<typeof request>>;
    let body: Buffer | undefined;
    try {
      answer = await request(cfg.address, {
        method: (cfg.preserveRequestMethod ? req.method : 'GET') as 'GET',
        headers: flat,
        body: cfg.forwardBody && ctx.body && ctx.body.length > 0 ? ctx.body : undefined,
        dispatcher: authAgent,
        signal: abort.signal,
      });
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of answer.body) {
        size += (chunk as Buffer).length;
        if (cfg.maxResponseBodySize >= 0 && size > cfg.maxResponseBodySize) {
          answer.body.destroy();
          body = undefined;
          break;
        }
        chunks.push(chunk as Buffer);
      }
      if (cfg.maxResponseBodySize < 0 || size <= cfg.maxResponseBodySize) body = Buffer.concat(chunks);
    } catch {
      res.off('close', onClose);
      if (abort.signal.aborted) {
        ctx.log.DownstreamStatus = 499;
        return;
      }
      plainAnswer(res, 500, '');
      return;
    }
    res.off('close', onClose);
    if (body === undefined) {
      plainAnswer(res, 401, '');
      return;
    }
    const ah = answer.headers;
    if (cfg.headerField) {
      const v = values(ah[cfg.headerField.toLowerCase()])[0];
      if (v) ctx.log.ClientUsername = v;
    }

    if (answer.statusCode < 200 || answer.statusCode > 299) {
      if (cfg.authSigninURL && answer.statusCode === 401) {
        res.setHeader('Location', cfg.authSigninURL);
        plainAnswer(res, 302, '');
        return;
      }
      const drop = new Set([...hopHeaders, ...connectionListed(ah), 'content-length']);
      for (const [k, v] of Object.entries(ah)) if (v !== undefined && !drop.has(k)) res.setHeader(k, v);
      const loc = values(ah.location)[0];
      if (loc && !cfg.preserveLocationHeader) {
        try {
          res.setHeader('Location', new URL(loc, cfg.address).toString());
        } catch {
          /* keep it as sent */
        }
      }
      res.statusCode = answer.statusCode;
      res.setHeader('Content-Length', body.length);
      res.end(body);
      return;
    }

    for (const name of respNames) {
      delete req.headers[name];
      const v = ah[name];
      if (v !== undefined) req.headers[name] = Array.isArray(v) ? v.join(', ') : v;
    }
    if (respRegex) {
      for (const name of Object.keys(req.headers)) if (respRegex.test(canonical(name))) delete req.headers[name];
      for (const [name, v] of Object.entries(ah)) {
        if (v !== undefined && respRegex.test(canonical(name))) req.headers[name] = Array.isArray(v) ? v.join(', ') : v;
      }
    }
    if (cookieNames.size > 0) {
      const authCookies = values(ah['set-cookie']).filter((c) => cookieNames.has(cookieName(c)));
      if (authCookies.length > 0) {
        ctx.onResponseHeaders.push((r) => {
          const raw = r.getHeader('set-cookie');
          const upstream = (Array.isArray(raw) ? raw : raw === undefined ? [] : [String(raw)]).filter((c) => !cookieNames.has(cookieName(c)));
          r.setHeader('Set-Cookie', [...upstream, ...authCookies]);
        });
      }
    }
    return next(ctx);
  };
}

/** Go's textproto.CanonicalMIMEHeaderKey, for regexes written against canonical names. */
function canonical(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_m, sep: string, c: string) => sep + c.toUpperCase());
}

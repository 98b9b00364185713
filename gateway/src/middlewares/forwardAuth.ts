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
import { Agent, type Dispatcher } from 'undici';
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
  for (const name in src) {
    if (allow && !allow.has(name)) continue;
    out[name] = values(src[name]);
  }
  for (const name of hopHeaders) delete out[name];
  if (src.connection !== undefined) for (const name of connectionListed(src)) if (name !== 'proxy-authorization') delete out[name];
  if (!src['user-agent']) out['user-agent'] = [''];

  const host = src.host ?? '';
  const set = (name: string, value: string) => {
    if (trusted && out[name]?.length) return;
    out[name] = [value];
  };
  // every managed X-header starts with "x": other names skip the `_` rewrite
  if (!trusted && !legacy) {
    for (const name in out) if (name.charCodeAt(0) === 120 && managedXHeaders.has(name.indexOf('_') === -1 ? name : name.replace(/_/g, '-'))) delete out[name];
  }
  if (legacy) for (const name in out) if (name.charCodeAt(0) === 120 && name.includes('_') && managedXHeaders.has(name.replace(/_/g, '-'))) delete out[name];
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

interface AuthAnswer {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  /** undefined when over maxResponseBodySize */
  body: Buffer | undefined;
}

/**
 * One auth subrequest through undici's dispatcher interface: the answer is collected in a handler,
 * with no AbortController, response Readable or async iteration per request.
 */
class AuthCall implements Dispatcher.DispatchHandler {
  settle: (err: Error | undefined, answer?: AuthAnswer) => void = () => {};
  cancelled = false;
  private controller: Dispatcher.DispatchController | undefined;
  private statusCode = 0;
  private headers: AuthAnswer['headers'] = {};
  private chunks: Buffer[] = [];
  private size = 0;
  private tooLarge = false;

  constructor(private readonly limit: number) {}

  /** The client went away: stop the subrequest (reported as 499). */
  cancel(): void {
    this.cancelled = true;
    this.controller?.abort(new Error('client closed the request'));
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.cancelled) controller.abort(new Error('client closed the request'));
  }

  onResponseStart(_c: Dispatcher.DispatchController, statusCode: number, headers: AuthAnswer['headers']): void {
    this.statusCode = statusCode;
    this.headers = headers;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.size += chunk.length;
    if (this.limit >= 0 && this.size > this.limit) {
      this.tooLarge = true;
      controller.abort(new Error('auth response body too large'));
      return;
    }
    this.chunks.push(chunk);
  }

  onResponseEnd(): void {
    const body = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    this.settle(undefined, { statusCode: this.statusCode, headers: this.headers, body });
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    if (this.tooLarge && !this.cancelled) this.settle(undefined, { statusCode: this.statusCode, headers: this.headers, body: undefined });
    else this.settle(err);
  }
}

export function forwardAuth(cfg: ForwardAuthConfig): Middleware {
  const respNames = cfg.authResponseHeaders.map((n) => n.toLowerCase());
  const respRegex = cfg.authResponseHeadersRegex ? goRegExp(cfg.authResponseHeadersRegex) : undefined;
  const cookieNames = new Set(cfg.addAuthCookiesToResponse);

  // `address` is fixed per configuration: parsed once (origin + path and query, as undici's request() splits it)
  const address = new URL(cfg.address);
  const target = { origin: address.origin, path: address.pathname + address.search };

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
    const subHeaders = authRequestHeaders(cfg, ctx);
    for (const k in subHeaders) for (const v of subHeaders[k] as string[]) flat.push(k, v);

    const call = new AuthCall(cfg.maxResponseBodySize);
    const onClose = () => {
      if (!res.writableFinished) call.cancel();
    };
    res.once('close', onClose);
    let answer: AuthAnswer;
    try {
      answer = await new Promise<AuthAnswer>((resolve, reject) => {
        call.settle = (err, a) => (err ? reject(err) : resolve(a as AuthAnswer));
        authAgent.dispatch(
          {
            origin: target.origin,
            path: target.path,
            method: (cfg.preserveRequestMethod ? req.method : 'GET') as Dispatcher.HttpMethod,
            headers: flat,
            body: cfg.forwardBody && ctx.body && ctx.body.length > 0 ? ctx.body : null,
          },
          call,
        );
      });
    } catch {
      res.off('close', onClose);
      if (call.cancelled) {
        ctx.log.DownstreamStatus = 499;
        return;
      }
      plainAnswer(res, 500, '');
      return;
    }
    res.off('close', onClose);
    const body = answer.body;
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

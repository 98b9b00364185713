import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isConnectionError, type Logger } from '@linkport/common';
import type { Config } from '../config.ts';
import { chooseTarget, decide, type Decision } from '../decide.ts';
import type { Link } from '../links/link.ts';
import { passwordTag } from '../links/link.ts';
import type { LinkStore } from '../links/link-store.ts';
import type { LinksRepository } from '../links/links.repository.ts';
import type { ClickProducer } from '../clicks/click-producer.ts';
import { requestLogFields, requestTraceparent } from '@linkport/common';
import type { Metrics, Route } from '../metrics.ts';
import { newVisitorId, PasswordCookies, readCookie, type VisitorHasher } from '../visitor.ts';
import { gonePage, lockedPage, mediaPublicUrl, notFoundPage, passwordPage, previewPage } from './pages.ts';
import type { PasswordLimiter } from './password-limiter.ts';
import { clientInfo, type TrustedProxies } from './proxies.ts';
import type { QrRenderer } from './qr.ts';
import { BodyTooLargeError, countryOf, header, prefersJson, readForm, safeHost } from './request.ts';

export interface HandlerDeps {
  config: Config;
  store: LinkStore;
  repo: LinksRepository;
  producer: ClickProducer;
  metrics: Metrics;
  log: Logger;
  hasher: VisitorHasher;
  cookies: PasswordCookies;
  qr: QrRenderer;
  proxies: TrustedProxies;
  limiter: PasswordLimiter;
  ready: () => Promise<{ ok: boolean; checks: Record<string, string> }>;
}

/** Codes are matched before any lookup: anything else (unicode, %2F, %00, `..`, 65+ chars) is a 404. */
const CODE_PATH = /^\/([A-Za-z0-9_-]{1,64})(\+|\/qr\.svg|\/qr\.png)?$/;
const VISITOR_COOKIE = 'lp_vid';
const HTML = 'text/html; charset=utf-8';
const ROBOTS = 'User-agent: *\nDisallow: /\n';

/**
 * The hot path as one node:http listener: route → lookup (LinkStore, synchronous on a local hit)
 * → decide() → respond, with the click handed to the producer after the response is written.
 * Reserved paths are matched first and contain characters ('/', '.') no code may have, so they
 * never collide with codes.
 */
export function createHandler(deps: HandlerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const { config, store, metrics, log } = deps;
  const decideOpts = { permanentMaxAgeS: config.PERMANENT_MAX_AGE_S };

  /** Cached entry (negative ones included) or the tiers below. */
  function lookup(code: string): Promise<Link | null> | Link | null {
    const hit = store.peek(code);
    return hit ? hit.v : store.get(code);
  }

  function notFound(req: IncomingMessage, res: ServerResponse): void {
    metrics.c.not_found_total++;
    if (prefersJson(req)) {
      send(res, req, 404, 'application/json', '{"error":{"code":"NOT_FOUND","message":"Link not found"}}', 'no-store');
    } else {
      send(res, req, 404, HTML, notFoundPage, 'no-store');
    }
  }

  let lastUnavailableLog = 0;
  /**
   * Every failure is a 503 with Retry-After, never a 500 (nothing a client sent causes one). A
   * PostgreSQL outage (a lookup that no cache could answer) is expected and logged at most once a
   * second; anything else is a bug and logged each time.
   */
  function failed(req: IncomingMessage, res: ServerResponse, err: unknown): void {
    if (isConnectionError(err)) {
      metrics.c.unavailable_total++;
      const now = Date.now();
      if (now - lastUnavailableLog >= 1_000) {
        lastUnavailableLog = now;
        log.warn({ ...requestLogFields(req), err: err instanceof Error ? err.message : String(err), unavailable: metrics.c.unavailable_total }, 'PostgreSQL unreachable: uncached links answer 503');
      }
    } else {
      metrics.c.errors_total++;
      log.error({ ...requestLogFields(req), err, url: req.url }, 'redirect failed');
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.setHeader('Retry-After', '1');
    if (prefersJson(req)) {
      send(res, req, 503, 'application/json', '{"error":{"code":"SERVICE_UNAVAILABLE","message":"Service temporarily unavailable, retry shortly"}}', 'no-store');
    } else {
      send(res, req, 503, 'text/plain; charset=utf-8', 'Service temporarily unavailable\n', 'no-store');
    }
  }

  function respond(req: IncomingMessage, res: ServerResponse, code: string, query: string, link: Link | null): void {
    const ua = header(req, 'user-agent');
    const now = Date.now();
    let visitorKey = '';
    if (link && link.abVariants.length > 0) {
      visitorKey = readCookie(req.headers.cookie, VISITOR_COOKIE) ?? '';
      if (!/^[A-Za-z0-9_-]{8,64}$/.test(visitorKey)) {
        visitorKey = newVisitorId();
        res.setHeader('Set-Cookie', `${VISITOR_COOKIE}=${visitorKey}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax`);
      }
    }
    const passwordOk =
      link?.passwordTag != null && deps.cookies.verify(code, link.passwordTag, readCookie(req.headers.cookie, PasswordCookies.cookieName(code)), now);
    const client = clientInfo(req, deps.proxies);
    // The country header is a claim of the edge in front; from anyone else it is the client's say-so.
    const country = client.viaTrustedProxy ? countryOf(req, config.COUNTRY_HEADER) : null;
    const d: Decision = decide(link, { now, query, userAgent: ua, country, visitorKey, passwordOk }, decideOpts);
    switch (d.kind) {
      case 'redirect':
        metrics.redirected(d.status);
        res.writeHead(d.status, { Location: d.location, 'Cache-Control': d.cacheControl, 'Content-Length': '0' });
        res.end();
        if (d.count && req.method === 'GET') {
          // The rules are re-run for the analytics dimensions (no state, a hash for A/B at most).
          const chosen = chooseTarget(link!, { userAgent: ua, country, visitorKey });
          deps.producer.record({
            id: randomUUID(),
            linkId: link!.id,
            code,
            ts: now,
            visitor: deps.hasher.hash(client.ip, ua, now),
            ua: ua.slice(0, 512),
            referrer: header(req, 'referer').slice(0, 1024),
            country: country ?? '',
            tp: requestTraceparent(req),
            target: chosen.url,
            rule: chosen.rule,
            location: d.location === chosen.url ? '' : d.location,
          });
        }
        return;
      case 'not_found':
        return notFound(req, res);
      case 'gone':
        metrics.c.gone_total++;
        return send(res, req, 410, HTML, gonePage(d.reason), 'no-store');
      case 'password':
        metrics.c.password_prompts_total++;
        return send(res, req, 200, HTML, passwordPage(query ? `${code}?${query}` : code, false), 'no-store');
    }
  }

  async function submitPassword(req: IncomingMessage, res: ServerResponse, code: string, query: string): Promise<void> {
    const form = await readForm(req).catch((err: unknown) => (err instanceof BodyTooLargeError ? 'too-large' : null));
    if (form === 'too-large') {
      // no `Connection: close`: readForm drains the rest of the body (see there for why)
      res.writeHead(413, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end('413 Payload Too Large');
      return;
    }
    const link = await lookup(code);
    if (!link || link.status !== 'active') return notFound(req, res);
    const self = `/${code}${query ? `?${query}` : ''}`;
    if (!link.passwordTag) {
      res.writeHead(303, { Location: self, 'Cache-Control': 'no-store', 'Content-Length': '0' });
      res.end();
      return;
    }
    // Limits before any password work: the attempt is reserved (counted) first, so concurrent
    // guesses cannot slip past a check that has not yet seen their failures.
    const ip = clientInfo(req, deps.proxies).ip;
    const verdict = await deps.limiter.attempt(code, ip);
    if (!verdict.allowed) return tooManyAttempts(req, res, verdict.retryAfterMs, verdict.scope);
    const given = form?.get('password') ?? '';
    let hash: string | null;
    try {
      hash = given ? await deps.repo.checkPassword(code, given.slice(0, 1024)) : null;
    } catch (err) {
      // Not a guess that was judged: give the attempt back.
      await deps.limiter.refund(code, ip);
      throw err;
    }
    if (!hash) {
      metrics.c.password_failures_total++;
      return send(res, req, 403, HTML, passwordPage(query ? `${code}?${query}` : code, true), 'no-store');
    }
    await deps.limiter.refund(code, ip);
    const { value, maxAge } = deps.cookies.issue(code, passwordTag(hash));
    const secure = (config.SHORT_BASE_URL ?? '').startsWith('https:') || header(req, 'x-forwarded-proto') === 'https';
    res.writeHead(303, {
      Location: self,
      'Cache-Control': 'no-store',
      'Content-Length': '0',
      'Set-Cookie': `${PasswordCookies.cookieName(code)}=${value}; Path=/${code}; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`,
    });
    res.end();
  }

  /** RFC 6585 §4: 429 with Retry-After (seconds, rounded up so a client never retries too early). */
  function tooManyAttempts(req: IncomingMessage, res: ServerResponse, retryAfterMs: number, scope: 'client' | 'link'): void {
    const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
    res.setHeader('Retry-After', String(seconds));
    if (prefersJson(req)) {
      const message =
        scope === 'client'
          ? `Too many password attempts from this address; retry in ${seconds} s`
          : `Too many password attempts on this link; retry in ${seconds} s`;
      send(res, req, 429, 'application/json', JSON.stringify({ error: { code: 'TOO_MANY_ATTEMPTS', message, details: { retryAfterSeconds: seconds, scope } } }), 'no-store');
    } else {
      send(res, req, 429, HTML, lockedPage(seconds), 'no-store');
    }
  }

  async function preview(req: IncomingMessage, res: ServerResponse, code: string): Promise<void> {
    const link = await lookup(code);
    if (!link || link.status !== 'active') return notFound(req, res);
    // With PostgreSQL down a cached link still gets its page, without the extras (degrade, not fail).
    const extra = await deps.repo.previewDetails(link.id).catch((err: unknown) => {
      if (isConnectionError(err)) return { description: null, imageKey: null };
      throw err;
    });
    const html = previewPage({
      code,
      shortUrl: `${shortBase(req)}/${code}`,
      destination: link.passwordTag ? null : link.destination,
      title: link.title,
      description: extra.description,
      imageUrl: extra.imageKey && config.MEDIA_PUBLIC_BASE_URL ? mediaPublicUrl(config.MEDIA_PUBLIC_BASE_URL, extra.imageKey) : null,
      createdAt: link.createdAt,
    });
    send(res, req, 200, HTML, html, 'no-store');
  }

  async function qrCode(req: IncomingMessage, res: ServerResponse, code: string, kind: 'svg' | 'png'): Promise<void> {
    const link = await lookup(code);
    if (!link || link.status !== 'active') return notFound(req, res);
    const url = `${shortBase(req)}/${code}`;
    const body = kind === 'svg' ? await deps.qr.svg(url) : await deps.qr.png(url);
    send(res, req, 200, kind === 'svg' ? 'image/svg+xml' : 'image/png', body, 'public, max-age=86400');
  }

  function shortBase(req: IncomingMessage): string {
    return config.SHORT_BASE_URL?.replace(/\/+$/, '') ?? `http://${safeHost(req)}`;
  }

  async function reserved(req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean> {
    switch (path) {
      case '/health/live':
        send(res, req, 200, 'application/json', '{"status":"ok"}', 'no-store');
        return true;
      case '/health/ready': {
        const r = await deps.ready();
        send(res, req, r.ok ? 200 : 503, 'application/json', JSON.stringify({ status: r.ok ? 'ok' : 'unavailable', checks: r.checks }), 'no-store');
        return true;
      }
      case '/metrics':
        send(res, req, 200, 'text/plain; version=0.0.4; charset=utf-8', await metrics.render(), 'no-store');
        return true;
      case '/favicon.ico':
        res.writeHead(204, { 'Cache-Control': 'public, max-age=86400' });
        res.end();
        return true;
      case '/robots.txt':
        send(res, req, 200, 'text/plain; charset=utf-8', ROBOTS, 'public, max-age=86400');
        return true;
      default:
        return false;
    }
  }

  async function slow(req: IncomingMessage, res: ServerResponse, path: string, query: string): Promise<void> {
    if (await reserved(req, res, path)) return;
    const m = CODE_PATH.exec(path);
    if (!m) return notFound(req, res);
    const code = m[1]!;
    const suffix = m[2];
    const method = req.method;
    if (method === 'POST' && !suffix) return submitPassword(req, res, code, query);
    if (method !== 'GET' && method !== 'HEAD') {
      res.setHeader('Allow', suffix ? 'GET, HEAD' : 'GET, HEAD, POST');
      return send(res, req, 405, 'text/plain; charset=utf-8', 'Method not allowed\n', 'no-store');
    }
    if (suffix === '+') return preview(req, res, code);
    if (suffix === '/qr.svg') return qrCode(req, res, code, 'svg');
    if (suffix === '/qr.png') return qrCode(req, res, code, 'png');
    const link = await store.get(code);
    respond(req, res, code, query, link);
  }

  return (req, res) => {
    const t0 = performance.now();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const query = q < 0 ? '' : url.slice(q + 1);
    // Fast path: GET/HEAD of a plain code already in the local cache answers synchronously.
    if ((req.method === 'GET' || req.method === 'HEAD') && path.length <= 65) {
      const m = CODE_PATH.exec(path);
      if (m && m[2] === undefined) {
        const hit = store.peek(m[1]!);
        if (hit) {
          try {
            respond(req, res, m[1]!, query, hit.v);
          } catch (err) {
            failed(req, res, err);
          }
          metrics.observe(req.method, '/:code', res.statusCode, (performance.now() - t0) / 1000);
          return;
        }
      }
    }
    slow(req, res, path, query)
      .catch((err: unknown) => failed(req, res, err))
      .finally(() => metrics.observe(req.method, routeOf(path), res.statusCode, (performance.now() - t0) / 1000));
  };
}

const RESERVED = new Set<Route>(['/health/live', '/health/ready', '/metrics', '/favicon.ico', '/robots.txt']);

/** The route template of a path, for metric labels: never the code itself. */
export function routeOf(path: string): Route {
  if (RESERVED.has(path as Route)) return path as Route;
  const m = CODE_PATH.exec(path);
  if (!m) return '';
  return m[2] === undefined ? '/:code' : m[2] === '+' ? '/:code+' : m[2] === '/qr.svg' ? '/:code/qr.svg' : '/:code/qr.png';
}

function send(res: ServerResponse, req: IncomingMessage, status: number, type: string, body: string | Buffer, cacheControl: string): void {
  const buf = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(status, {
    'Content-Type': type,
    'Content-Length': String(buf.length),
    'Cache-Control': cacheControl,
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(req.method === 'HEAD' ? undefined : buf);
}

/**
 * Ports of traefik `pkg/middlewares/auth/forward_test.go` (docs/research/traefik-v3.md §1.8, cases 1–19) against a
 * real auth server and a real backend on port 0.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { authRequestHeaders } from '../src/middlewares/forwardAuth.ts';
import type { Ctx } from '../src/middlewares/types.ts';
import { forwardAuthSchema } from '../src/config/schema.ts';
import { call, gateway, route, upstream } from './helper.ts';

async function setup(t: test.TestContext, auth: Parameters<typeof upstream>[1], fa: Record<string, unknown> = {}, backend?: Parameters<typeof upstream>[1]) {
  const authSrv = await upstream(t, auth);
  const back = await upstream(t, backend);
  const gw = await gateway(t, route(back.url, { fa: { forwardAuth: { address: `${authSrv.url}/auth`, ...fa } } }));
  return { authSrv, back, gw };
}

void test('fail passthrough: 403 body and headers reach the client, backend not called', async (t) => {
  const { back, gw } = await setup(t, (_q, res) => {
    res.setHeader('Proxy-Authenticate', 'test');
    res.statusCode = 403;
    res.end('Forbidden\n');
  });
  const r = await call(gw.url);
  assert.equal(r.status, 403);
  assert.equal(r.body, 'Forbidden\n');
  assert.equal(r.headers['proxy-authenticate'], 'test');
  assert.equal(back.seen.length, 0);
});

void test('fail response headers: exactly the auth headers (Go http.Error shape) plus Date', async (t) => {
  const { gw } = await setup(t, (_q, res) => {
    res.setHeader('Set-Cookie', 'example=testing; Path=/');
    res.setHeader('X-Foo', 'bar');
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.statusCode = 403;
    res.end('Forbidden\n');
  });
  const r = await call(gw.url);
  assert.equal(r.status, 403);
  const names = Object.keys(r.headers).filter((n) => n !== 'connection' && n !== 'keep-alive').sort();
  assert.deepEqual(names, ['content-length', 'content-type', 'date', 'set-cookie', 'x-content-type-options', 'x-foo']);
  assert.deepEqual(r.headers['set-cookie'], ['example=testing; Path=/']);
});

void test('redirect: 302 passed through, not followed, hop-by-hop headers dropped', async (t) => {
  const { back, gw } = await setup(t, (_q, res) => {
    res.writeHead(302, { Location: 'http://example.com/redirect-test', 'Keep-Alive': 'timeout=5', Trailer: 'X-T', Upgrade: 'foo', TE: 'trailers' });
    res.end('<a href="http://example.com/redirect-test">Found</a>.\n');
  });
  const r = await call(gw.url);
  assert.equal(r.status, 302);
  assert.equal(r.headers.location, 'http://example.com/redirect-test');
  assert.ok(r.body.length > 0);
  for (const h of ['trailer', 'upgrade', 'te', 'transfer-encoding']) assert.equal(r.headers[h], undefined, h);
  assert.equal(back.seen.length, 0);
});

void test('Location: made absolute against the auth server, or kept with preserveLocationHeader', async (t) => {
  const auth = (_q: IncomingMessage, res: import('node:http').ServerResponse) => {
    res.writeHead(401, { Location: '/index.html' });
    res.end();
  };
  const a = await setup(t, auth);
  const r1 = await call(a.gw.url);
  assert.equal(r1.status, 401);
  assert.equal(r1.headers.location, `${a.authSrv.url}/index.html`);
  const b = await setup(t, auth, { preserveLocationHeader: true });
  const r2 = await call(b.gw.url);
  assert.equal(r2.headers.location, '/index.html');
});

void test('success: authResponseHeaders + regex replace client values, auth cookies merged', async (t) => {
  const { back, gw } = await setup(
    t,
    (_q, res) => {
      res.setHeader('X-Auth-User', 'user@example.com');
      res.setHeader('X-Auth-Secret', 'secret');
      res.setHeader('X-Auth-Group', ['group1', 'group2']);
      res.setHeader('Foo-Bar', 'auth-value');
      res.setHeader('Set-Cookie', ['authCookie=Auth', 'authCookieNotAdded=Auth']);
      res.end('Success');
    },
    { authResponseHeaders: ['X-Auth-User', 'X-Auth-Group'], authResponseHeadersRegex: '^Foo-', addAuthCookiesToResponse: ['authCookie'] },
    (_q, res) => {
      res.setHeader('Set-Cookie', ['authCookie=Backend', 'backendCookie=Backend']);
      res.end('traefik');
    },
  );
  const r = await call(gw.url, { headers: { 'X-Auth-Group': 'admin_group', 'Foo-Bar': 'client-value', 'Foo-Baz': 'client-value' } });
  assert.equal(r.status, 200);
  assert.equal(r.body, 'traefik');
  const h = back.seen[0]!.headers;
  assert.equal(h['x-auth-user'], 'user@example.com');
  assert.equal(h['x-auth-secret'], undefined);
  assert.equal(h['x-auth-group'], 'group1, group2');
  assert.equal(h['foo-bar'], 'auth-value');
  assert.equal(h['foo-baz'], undefined);
  assert.deepEqual(r.headers['set-cookie'], ['backendCookie=Backend', 'authCookie=Auth']);
});

void test('forwardBody: the auth server gets the exact body, then the backend', async (t) => {
  const body = 'hello world';
  const { authSrv, back, gw } = await setup(t, (_q, res) => res.end('ok'), { forwardBody: true, maxBodySize: body.length });
  const r = await call(gw.url, { method: 'POST', body });
  assert.equal(r.status, 200);
  assert.equal(authSrv.seen.length, 1);
  assert.equal(authSrv.seen[0]!.body, body);
  assert.equal(back.seen.length, 1);
  assert.equal(back.seen[0]!.body, body);
});

void test('forwardBody with an empty body', async (t) => {
  const { authSrv, gw } = await setup(t, (_q, res) => res.end('ok'), { forwardBody: true });
  const r = await call(gw.url, { method: 'POST', body: '' });
  assert.equal(r.status, 200);
  assert.equal(authSrv.seen[0]!.body, '');
});

void test('forwardBody over maxBodySize: 401, neither auth nor backend called', async (t) => {
  const { authSrv, back, gw } = await setup(t, (_q, res) => res.end('ok'), { forwardBody: true, maxBodySize: 4 });
  const r = await call(gw.url, { method: 'POST', body: 'too long body' });
  assert.equal(r.status, 401);
  assert.equal(authSrv.seen.length, 0);
  assert.equal(back.seen.length, 0);
});

void test('without forwardBody the auth server gets no body, the backend gets it', async (t) => {
  const { authSrv, back, gw } = await setup(t, (_q, res) => res.end('ok'));
  const r = await call(gw.url, { method: 'POST', body: 'payload' });
  assert.equal(r.status, 200);
  assert.equal(authSrv.seen[0]!.body, '');
  assert.equal(authSrv.seen[0]!.method, 'GET');
  assert.equal(back.seen[0]!.body, 'payload');
  assert.equal(back.seen[0]!.method, 'POST');
});

void test('preserveRequestMethod', async (t) => {
  const a = await setup(t, (_q, res) => res.end('ok'), { preserveRequestMethod: true });
  await call(a.gw.url, { method: 'POST', body: 'x' });
  assert.equal(a.authSrv.seen[0]!.method, 'POST');
  const b = await setup(t, (_q, res) => res.end('ok'), { preserveRequestMethod: false });
  await call(b.gw.url, { method: 'POST', body: 'x' });
  assert.equal(b.authSrv.seen[0]!.method, 'GET');
  assert.equal(b.back.seen[0]!.method, 'POST');
});

void test('auth server unreachable: 500, backend not called', async (t) => {
  const back = await upstream(t);
  const dead = await upstream(t);
  const deadUrl = dead.url;
  await new Promise<void>((r) => dead.server.close(() => r()));
  const gw = await gateway(t, route(back.url, { fa: { forwardAuth: { address: `${deadUrl}/auth` } } }));
  const r = await call(gw.url);
  assert.equal(r.status, 500);
  assert.equal(back.seen.length, 0);
});

void test('maxResponseBodySize', async (t) => {
  const forbidden = (_q: IncomingMessage, res: import('node:http').ServerResponse) => {
    res.statusCode = 403;
    res.end('Forbidden');
  };
  const a = await setup(t, forbidden, { maxResponseBodySize: 1 });
  const r1 = await call(a.gw.url);
  assert.equal(r1.status, 401);
  assert.equal(r1.body, '');
  const b = await setup(t, forbidden, { maxResponseBodySize: -1 });
  const r2 = await call(b.gw.url);
  assert.equal(r2.status, 403);
  assert.equal(r2.body, 'Forbidden');
  const c = await setup(t, (_q, res) => res.end('ok'), { maxResponseBodySize: 100 });
  assert.equal((await call(c.gw.url)).body, 'upstream');
  const d = await setup(t, (_q, res) => res.end('a long body that exceeds'), { maxResponseBodySize: 1 });
  assert.equal((await call(d.gw.url)).status, 401);
});

void test('authSigninURL', async (t) => {
  const unauthorized = (_q: IncomingMessage, res: import('node:http').ServerResponse) => {
    res.statusCode = 401;
    res.end('no');
  };
  const a = await setup(t, unauthorized, { authSigninURL: 'https://login.example.com/' });
  const r1 = await call(a.gw.url);
  assert.equal(r1.status, 302);
  assert.equal(r1.headers.location, 'https://login.example.com/');
  const b = await setup(t, unauthorized);
  assert.equal((await call(b.gw.url)).status, 401);
  const c = await setup(
    t,
    (_q, res) => {
      res.statusCode = 403;
      res.end('no');
    },
    { authSigninURL: 'https://login.example.com/' },
  );
  assert.equal((await call(c.gw.url)).status, 403);
  const d = await setup(t, (_q, res) => res.end('ok'), { authSigninURL: 'https://login.example.com/' });
  assert.equal((await call(d.gw.url)).status, 200);
  assert.equal(d.back.seen.length, 1);
});

// --- writeHeader table tests (request GET http://foo.bar/path?q=1) ---

function ctxFor(headers: Record<string, string>, host = 'foo.bar'): Ctx {
  const h: Record<string, string> = { ...headers };
  if (host) h.host = host;
  return {
    req: { headers: h, method: 'GET' } as unknown as IncomingMessage,
    res: undefined as never,
    rawPath: '/path',
    rawQuery: '?q=1',
    clientIp: '10.0.0.1',
    clientPort: 1234,
    scheme: 'http',
    log: {} as never,
    onResponseHeaders: [],
  };
}
const cfg = (o: Record<string, unknown>) => forwardAuthSchema.parse({ address: 'http://auth/', ...o });

void test('trusted mode keeps client X-Forwarded-*', () => {
  const h = authRequestHeaders(cfg({ trustForwardHeader: true }), ctxFor({ 'x-forwarded-host': 'fii.bir', 'x-forwarded-uri': '/forward?q=1', 'x-forwarded-method': 'OPTIONS' }));
  assert.deepEqual(h['x-forwarded-host'], ['fii.bir']);
  assert.deepEqual(h['x-forwarded-uri'], ['/forward?q=1']);
  assert.deepEqual(h['x-forwarded-method'], ['OPTIONS']);
});

void test('untrusted mode sets X-Forwarded-* from the request and drops _ variants', () => {
  const h = authRequestHeaders(cfg({ trustForwardHeader: false }), ctxFor({ 'x-forwarded-proto': 'https', x_forwarded_for: '1.1.1.1', 'x-forwarded-host': 'evil' }));
  assert.deepEqual(h['x-forwarded-host'], ['foo.bar']);
  assert.deepEqual(h['x-forwarded-uri'], ['/path?q=1']);
  assert.deepEqual(h['x-forwarded-method'], ['GET']);
  assert.deepEqual(h['x-forwarded-proto'], ['http']);
  assert.deepEqual(h['x-forwarded-port'], ['80']);
  assert.deepEqual(h['x-forwarded-for'], ['10.0.0.1']);
  assert.equal(h.x_forwarded_for, undefined);
  const noHost = authRequestHeaders(cfg({ trustForwardHeader: false }), ctxFor({}, ''));
  assert.equal(noHost['x-forwarded-host'], undefined);
});

void test('hop-by-hop headers removed from the subrequest, Proxy-Authorization kept, empty User-Agent', () => {
  const h = authRequestHeaders(
    cfg({ trustForwardHeader: false }),
    ctxFor({ connection: 'close', 'keep-alive': 'x', te: 'trailers', trailer: 'x', 'transfer-encoding': 'chunked', upgrade: 'x', 'proxy-authenticate': 'x', 'proxy-authorization': 'x', 'x-customheader': 'x' }),
  );
  for (const n of ['connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade']) assert.equal(h[n], undefined, n);
  for (const n of ['proxy-authenticate', 'proxy-authorization', 'x-customheader']) assert.deepEqual(h[n], ['x'], n);
  assert.deepEqual(h['user-agent'], ['']);
});

void test('authRequestHeaders filters, X-Forwarded-* still added', () => {
  const h = authRequestHeaders(cfg({ trustForwardHeader: false, authRequestHeaders: ['X-CustomHeader', 'X-Absent'] }), ctxFor({ 'x-customheader': 'v', 'content-type': 'text/plain' }));
  assert.deepEqual(h['x-customheader'], ['v']);
  assert.equal(h['content-type'], undefined);
  assert.equal(h['x-absent'], undefined);
  assert.deepEqual(h['x-forwarded-uri'], ['/path?q=1']);
});

void test('legacy mode (trust unset) keeps X-Forwarded-Prefix and sends no X-Forwarded-Port', () => {
  const h = authRequestHeaders(cfg({}), ctxFor({ 'x-forwarded-prefix': '/pre', 'x-forwarded-host': 'evil' }));
  assert.deepEqual(h['x-forwarded-prefix'], ['/pre']);
  assert.deepEqual(h['x-forwarded-host'], ['foo.bar']);
  assert.equal(h['x-forwarded-port'], undefined);
});

void test('X-Forwarded-Uri is the URI as seen at this point of the chain (after stripPrefix)', async (t) => {
  const authSrv = await upstream(t, (_q, res) => res.end('ok'));
  const back = await upstream(t);
  const gw = await gateway(t, route(back.url, { strip: { stripPrefix: { prefixes: ['/api'] } }, fa: { forwardAuth: { address: `${authSrv.url}/auth?mode=optional`, trustForwardHeader: false } } }));
  await call(`${gw.url}/api/thing?x=1`, { headers: { 'X-Forwarded-Uri': '/spoof' } });
  assert.equal(authSrv.seen[0]!.url, '/auth?mode=optional');
  assert.equal(authSrv.seen[0]!.headers['x-forwarded-uri'], '/thing?x=1');
  assert.equal(authSrv.seen[0]!.headers['x-forwarded-method'], 'GET');
});

void test('client cancels during auth: logged as 499, backend not called', async (t) => {
  const { Writable } = await import('node:stream');
  const http = await import('node:http');
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  let authHit!: () => void;
  const hit = new Promise<void>((r) => (authHit = r));
  const authSrv = await upstream(t, () => {});
  authSrv.server.on('request', () => authHit());
  const back = await upstream(t);
  const gw = await gateway(t, route(back.url, { fa: { forwardAuth: { address: `${authSrv.url}/auth` } } }), {}, { accessLog: sink });
  const req = http.request(`${gw.url}/x`);
  req.on('error', () => {});
  req.end();
  await hit;
  req.destroy();
  const end = Date.now() + 2000;
  while (lines.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  assert.equal((JSON.parse(lines[0]!) as { DownstreamStatus: number }).DownstreamStatus, 499);
  assert.equal(back.seen.length, 0);
});

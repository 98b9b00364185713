/** Port of traefik `pkg/middlewares/headers/header_test.go` / `secure_test.go` cases (docs/research/traefik-v3.md §1.8). */
import test from 'node:test';
import assert from 'node:assert/strict';
import { call, gateway, route, upstream } from './helper.ts';

const preflight = (origin = 'https://foo.bar.org') => ({ method: 'OPTIONS', headers: { Origin: origin, 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'origin' } });

async function withHeaders(t: test.TestContext, headers: Record<string, unknown>, backend?: Parameters<typeof upstream>[1]) {
  const up = await upstream(t, backend);
  const gw = await gateway(t, route(up.url, { h: { headers } }));
  return { up, gw };
}

void test('preflight "Simple": answered by the gateway, upstream not called', async (t) => {
  const { up, gw } = await withHeaders(t, { accessControlAllowMethods: ['GET', 'OPTIONS', 'PUT'], accessControlAllowOriginList: ['https://foo.bar.org'], accessControlMaxAge: 600 });
  const r = await call(gw.url, preflight());
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-length'], '0');
  assert.equal(r.headers['access-control-allow-origin'], 'https://foo.bar.org');
  assert.equal(r.headers['access-control-max-age'], '600');
  assert.equal(r.headers['access-control-allow-methods'], 'GET,OPTIONS,PUT');
  assert.equal(up.seen.length, 0);
});

void test('preflight "Wildcard origin", "Allow Credentials", "Allow Headers", "Nil MaxAge"', async (t) => {
  const a = await withHeaders(t, { accessControlAllowOriginList: ['*'], accessControlAllowMethods: ['GET'] });
  assert.equal((await call(a.gw.url, preflight())).headers['access-control-allow-origin'], '*');
  const b = await withHeaders(t, { accessControlAllowOriginList: ['https://foo.bar.org'], accessControlAllowCredentials: true, accessControlAllowHeaders: ['origin', 'X-Foo'] });
  const r = await call(b.gw.url, preflight());
  assert.equal(r.headers['access-control-allow-credentials'], 'true');
  assert.equal(r.headers['access-control-allow-headers'], 'origin,X-Foo');
  assert.equal(r.headers['access-control-max-age'], '0');
  const c = await withHeaders(t, { accessControlAllowOriginList: ['*'], accessControlAllowCredentials: true, accessControlAllowHeaders: ['*'] });
  const rc = await call(c.gw.url, preflight());
  assert.equal(rc.headers['access-control-allow-origin'], 'https://foo.bar.org', 'wildcard + credentials echoes the origin');
  assert.equal(rc.headers['access-control-allow-headers'], 'origin', 'wildcard + credentials echoes the request headers');
});

void test('preflight from an unlisted origin gets no ACAO; "No Request Headers" is not a preflight', async (t) => {
  const { up, gw } = await withHeaders(t, { accessControlAllowOriginList: ['https://foo.bar.org'], accessControlAllowMethods: ['GET'] });
  const r = await call(gw.url, preflight('https://evil.org'));
  assert.equal(r.status, 200);
  assert.equal(r.headers['access-control-allow-origin'], undefined);
  const plain = await call(gw.url, { method: 'OPTIONS', headers: { Origin: 'https://foo.bar.org' } });
  assert.equal(plain.body, 'upstream');
  assert.equal(up.seen.length, 1);
});

void test('non-preflight: regexp, partial regexp and malformed origins; expose headers; Vary appended', async (t) => {
  const { gw } = await withHeaders(
    t,
    { accessControlAllowOriginListRegex: ['^https://([a-z]+)\\.bar\\.org$', 'partial'], accessControlExposeHeaders: ['X-Id', 'X-Other'], addVaryHeader: true },
    (_q, res) => {
      res.setHeader('Vary', 'Accept-Encoding');
      res.end('ok');
    },
  );
  const r = await call(gw.url, { headers: { Origin: 'https://foo.bar.org' } });
  assert.equal(r.headers['access-control-allow-origin'], 'https://foo.bar.org');
  assert.equal(r.headers['access-control-expose-headers'], 'X-Id,X-Other');
  assert.equal(r.headers.vary, 'Accept-Encoding,Origin');
  assert.equal((await call(gw.url, { headers: { Origin: 'https://a-partial-match.com' } })).headers['access-control-allow-origin'], 'https://a-partial-match.com');
  assert.equal((await call(gw.url, { headers: { Origin: 'https://foo.bar.org.evil' } })).headers['access-control-allow-origin'], undefined);
  assert.equal((await call(gw.url, { headers: { Origin: 'not a url' } })).headers['access-control-allow-origin'], undefined);
});

void test('"CustomRequestHeaders Not Hijacked by CORS"; custom response headers override and delete', async (t) => {
  const { up, gw } = await withHeaders(
    t,
    { customRequestHeaders: { 'X-Custom': 'value', 'X-Remove': '' }, customResponseHeaders: { 'X-Resp': 'gw', 'X-Drop': '' }, accessControlAllowOriginList: ['https://foo.bar.org'] },
    (_q, res) => {
      res.setHeader('X-Resp', 'upstream');
      res.setHeader('X-Drop', 'x');
      res.end('ok');
    },
  );
  const r = await call(gw.url, { method: 'GET', headers: { Origin: 'https://foo.bar.org', 'X-Remove': 'gone' } });
  assert.equal(up.seen[0]!.headers['x-custom'], 'value');
  assert.equal(up.seen[0]!.headers['x-remove'], undefined);
  assert.equal(r.headers['x-resp'], 'gw');
  assert.equal(r.headers['x-drop'], undefined);
  assert.equal(r.headers['access-control-allow-origin'], 'https://foo.bar.org');
});

void test('X-Forwarded-For: "" suppresses the proxy XFF', async (t) => {
  const { up, gw } = await withHeaders(t, { customRequestHeaders: { 'X-Forwarded-For': '' } });
  await call(gw.url);
  assert.equal(up.seen[0]!.headers['x-forwarded-for'], undefined);
});

void test('security headers override the upstream; HSTS only for HTTPS or forceSTSHeader', async (t) => {
  const secure = { frameDeny: true, contentTypeNosniff: true, referrerPolicy: 'no-referrer', stsSeconds: 315360000, stsIncludeSubdomains: true, sslProxyHeaders: { 'X-Forwarded-Proto': 'https' } };
  const { gw } = await withHeaders(t, secure, (_q, res) => {
    res.setHeader('X-Frame-Options', 'SAMEORIGIN');
    res.end('ok');
  });
  const r = await call(gw.url);
  assert.equal(r.headers['x-frame-options'], 'DENY');
  assert.equal(r.headers['x-content-type-options'], 'nosniff');
  assert.equal(r.headers['referrer-policy'], 'no-referrer');
  assert.equal(r.headers['strict-transport-security'], undefined, 'plain HTTP from an untrusted peer: the entrypoint reset X-Forwarded-Proto');
  const spoofed = await call(gw.url, { headers: { 'X-Forwarded-Proto': 'https' } });
  assert.equal(spoofed.headers['strict-transport-security'], undefined);
  const up = await upstream(t);
  const trusted = await gateway(t, route(up.url, { h: { headers: secure } }), {}, { trustedIPs: ['127.0.0.1'] });
  const viaLb = await call(trusted.url, { headers: { 'X-Forwarded-Proto': 'https' } });
  assert.equal(viaLb.headers['strict-transport-security'], 'max-age=315360000; includeSubDomains');
  const forced = await gateway(t, route(up.url, { h: { headers: { stsSeconds: 60, forceSTSHeader: true } } }));
  assert.equal((await call(forced.url)).headers['strict-transport-security'], 'max-age=60');
});

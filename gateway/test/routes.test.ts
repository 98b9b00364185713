/**
 * The shipped gateway/dynamic files, rendered with an environment, against real upstreams: the
 * docs/architecture.md "Request paths" table (routes, auth, limits, Hasura paths, redirect catch-all).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { loadDynamicDir } from '../src/config/load.ts';
import { buildGateway } from '../src/app.ts';
import { call, upstream, type Upstream } from './helper.ts';

const dir = path.resolve(import.meta.dirname, '../dynamic');

async function stack(t: test.TestContext, extraEnv: Record<string, string> = {}) {
  const tag = (name: string) => (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
    res.setHeader('X-Upstream', name);
    res.end(`${name} ${req.url}`);
  };
  const core = await upstream(t, (req, res) => {
    if (req.url?.startsWith('/v1/core/auth/verify')) {
      const auth = req.headers.authorization;
      const optional = req.url.includes('mode=optional');
      if (auth === 'Bearer good') {
        res.writeHead(200, { 'X-User-Id': 'u1', 'X-User-Role': 'user', 'X-Auth-Method': 'jwt', 'X-Auth-Scopes': '', Authorization: 'Bearer good' });
        return res.end();
      }
      if (!auth && optional) {
        res.writeHead(200, { 'X-User-Role': 'anonymous', 'X-Auth-Method': 'anonymous' });
        return res.end();
      }
      res.writeHead(401, { 'Content-Type': 'application/json', 'WWW-Authenticate': 'Bearer' });
      return res.end('{"error":{"code":"UNAUTHORIZED"}}');
    }
    tag('core')(req, res);
  });
  const ups: Record<string, Upstream> = { core, media: await upstream(t, tag('media')), hasura: await upstream(t, tag('hasura')), redirect: await upstream(t, tag('redirect')) };
  const env = {
    CORE_URL: ups.core!.url,
    MEDIA_URL: ups.media!.url,
    HASURA_URL: ups.hasura!.url,
    REDIRECT_URL: ups.redirect!.url,
    CORS_ORIGINS: 'https://app.example.com',
    SHORT_LINK_HOST: '',
    ...extraEnv,
  };
  const trusted = extraEnv.GATEWAY_TRUSTED_IPS;
  const gw = buildGateway(await loadDynamicDir(dir, env), trusted ? { trustedIPs: trusted.split(',') } : {});
  const { port } = await gw.listen(0);
  t.after(() => gw.close());
  return { ups, url: `http://127.0.0.1:${port}` };
}

void test('API routes require forwardAuth; identity headers replace client ones; request id added', async (t) => {
  const { ups, url } = await stack(t);
  const denied = await call(`${url}/v1/core/users/me`);
  assert.equal(denied.status, 401);
  assert.equal(denied.body, '{"error":{"code":"UNAUTHORIZED"}}');
  assert.equal(ups.core!.seen.filter((s) => !s.url.startsWith('/v1/core/auth/verify')).length, 0);

  const ok = await call(`${url}/v1/core/users/me`, { headers: { Authorization: 'Bearer good', 'X-User-Id': 'spoofed', 'X-User-Role': 'admin', 'X-Request-Id': 'req-123' } });
  assert.equal(ok.status, 200);
  assert.equal(ok.body, 'core /v1/core/users/me');
  assert.equal(ok.headers['x-request-id'], 'req-123');
  const seen = ups.core!.seen.at(-1)!;
  assert.equal(seen.headers['x-user-id'], 'u1');
  assert.equal(seen.headers['x-user-role'], 'user');
  assert.equal(seen.headers.authorization, 'Bearer good');
  assert.equal(seen.headers['x-request-id'], 'req-123');
  const verify = ups.core!.seen.findLast((s) => s.url === '/v1/core/auth/verify')!;
  assert.equal(verify.headers['x-forwarded-uri'], '/v1/core/users/me');
  assert.equal(verify.headers['x-request-id'], 'req-123');

  const media = await call(`${url}/v1/media/uploads`, { method: 'POST', headers: { Authorization: 'Bearer good' } });
  assert.equal(media.body, 'media /v1/media/uploads');
  const generated = media.headers['x-request-id'] as string;
  assert.match(generated, /^[0-9a-f-]{36}$/);
  assert.equal(ups.media!.seen[0]!.headers['x-request-id'], generated);
  assert.equal(media.headers['x-frame-options'], 'DENY');
  assert.equal(media.headers['x-content-type-options'], 'nosniff');
  assert.equal(media.headers['referrer-policy'], 'strict-origin-when-cross-origin');
});

void test('credential endpoints, JWKS and API docs need no token; auth endpoints are strictly limited', async (t) => {
  const { url } = await stack(t);
  for (const p of ['/v1/core/openapi.json', '/v1/core/docs/', '/v1/media/openapi.json', '/v1/media/docs/']) {
    const r = await call(`${url}${p}`);
    assert.equal(r.status, 200, p);
    assert.equal(r.body, `${p.startsWith('/v1/core') ? 'core' : 'media'} ${p}`);
  }
  assert.equal((await call(`${url}/v1/core/openapi.json`, { method: 'POST' })).status, 401, 'only GET/HEAD are public');
  assert.equal((await call(`${url}/v1/core/.well-known/jwks.json`)).body, 'core /v1/core/.well-known/jwks.json');
  const statuses: number[] = [];
  for (let i = 0; i < 7; i++) statuses.push((await call(`${url}/v1/core/auth/login`, { method: 'POST', body: '{}' })).status);
  assert.deepEqual(statuses.slice(0, 5), [200, 200, 200, 200, 200]);
  assert.equal(statuses[6], 429);
});

void test('links: GraphQL → /v1/graphql (anonymous allowed), healthz → /healthz, console → the page core serves, nothing else of Hasura', async (t) => {
  const { ups, url } = await stack(t);
  const anon = await call(`${url}/v1/links/graphql`, { method: 'POST', body: '{"query":"{__typename}"}' });
  assert.equal(anon.body, 'hasura /v1/graphql');
  assert.equal(ups.hasura!.seen[0]!.headers['x-auth-method'], 'anonymous');
  assert.equal(ups.hasura!.seen[0]!.headers['x-replaced-path'], '/v1/links/graphql');
  assert.equal((await call(`${url}/v1/links/graphql`, { method: 'POST', headers: { Authorization: 'Bearer bad' } })).status, 401);
  assert.equal((await call(`${url}/v1/links/healthz`)).body, 'hasura /healthz');
  // RESTified endpoints: /v1/links/api/<url> → Hasura's /api/rest/<url>, query kept, forwardAuth as GraphQL.
  const rest = await call(`${url}/v1/links/api/links/abc/stats?days=7`, { headers: { Authorization: 'Bearer good' } });
  assert.equal(rest.body, 'hasura /api/rest/links/abc/stats?days=7');
  assert.equal(ups.hasura!.seen.at(-1)!.headers['x-user-id'], 'u1');
  assert.equal(ups.hasura!.seen.at(-1)!.headers['x-replaced-path'], '/v1/links/api/links/abc/stats');
  assert.equal((await call(`${url}/v1/links/api/links`, { headers: { Authorization: 'Bearer bad' } })).status, 401);
  assert.equal((await call(`${url}/v1/links/console`)).body, 'core /v1/core/console');
  for (const p of ['/v1/links/v1/metadata', '/v1/metadata', '/v2/query', '/v1/links/graphql/x']) {
    assert.notEqual((await call(`${url}${p}`)).headers['x-upstream'], 'hasura', p);
  }
});

void test('CORS preflight answered at the gateway before auth; ACAO on responses', async (t) => {
  const { ups, url } = await stack(t);
  const pre = await call(`${url}/v1/media/uploads`, { method: 'OPTIONS', headers: { Origin: 'https://app.example.com', 'Access-Control-Request-Method': 'POST' } });
  assert.equal(pre.status, 200);
  assert.equal(pre.headers['access-control-allow-origin'], 'https://app.example.com');
  assert.equal(pre.headers['access-control-allow-credentials'], 'true');
  assert.equal(ups.core!.seen.length, 0, 'no verify call for a preflight');
  const other = await call(`${url}/v1/media/uploads`, { method: 'OPTIONS', headers: { Origin: 'https://evil.example.com', 'Access-Control-Request-Method': 'POST' } });
  assert.equal(other.headers['access-control-allow-origin'], undefined);
  const r = await call(`${url}/v1/core/x`, { headers: { Origin: 'https://app.example.com', Authorization: 'Bearer good' } });
  assert.equal(r.headers['access-control-allow-origin'], 'https://app.example.com');
  assert.equal(r.headers.vary, 'Origin');
});

void test('private by default: metrics, health probes and auth/verify are short-link 404s, on every host', async (t) => {
  for (const env of [{}, { SHORT_LINK_HOST: 'lp.to' }] as Record<string, string>[]) {
    const { ups, url } = await stack(t, env);
    const paths = [
      '/metrics',
      '/metrics?x=1',
      '/%6Detrics',
      '/health/ready',
      '/health/live',
      '/v1/core/health/ready',
      '/v1/media/health/live',
      '/v1/core/auth/verify',
      '/v1/core/auth/verify?mode=optional',
    ];
    for (const p of paths) {
      for (const host of ['127.0.0.1', 'lp.to']) {
        const r = await call(`${url}${p}`, { headers: { host, Authorization: 'Bearer good' } });
        // the redirect service gets a path no code can match, so it answers its ordinary 404
        assert.equal(r.body, 'redirect /.not-public' + (p.includes('?') ? p.slice(p.indexOf('?')) : ''), `${p} on ${host}`);
      }
    }
    for (const name of ['core', 'media', 'hasura'] as const) {
      assert.ok(ups[name]!.seen.every((s) => !/health|metrics/.test(s.url)), `${name} reached`);
    }
    assert.equal(ups.core!.seen.length, 0, 'not even forwardAuth ran');
    // the gateway's own /ping is not a route: buildGateway answers it before routing (see proxy.test.ts)
  }
});

void test('Authorization never reaches a client: stripped from every answer, forwardAuth still gets it upstream', async (t) => {
  const { ups, url } = await stack(t);
  ups.media!.server.removeAllListeners('request');
  ups.media!.server.on('request', (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
    res.setHeader('Authorization', req.headers.authorization ?? 'none');
    res.end('echo');
  });
  const r = await call(`${url}/v1/media/x`, { headers: { Authorization: 'Bearer good' } });
  assert.equal(r.status, 200);
  assert.equal(r.body, 'echo');
  assert.equal(r.headers.authorization, undefined);
  const denied = await call(`${url}/v1/core/x`, { headers: { Authorization: 'Bearer bad' } });
  assert.equal(denied.status, 401);
  assert.equal(denied.headers.authorization, undefined);
  const short = await call(`${url}/abc`, { headers: { Authorization: 'Bearer good' } });
  assert.equal(short.headers.authorization, undefined);
});

void test('body limits: the services\' own, answered 413 by the gateway before any upstream (or forwardAuth) sees the body', async (t) => {
  const { ups, url } = await stack(t);
  const big = (n: number) => 'a'.repeat(n);
  const cases: Array<[string, Record<string, string>, number, number]> = [
    ['/v1/core/auth/login', {}, 65_536, 413],
    ['/v1/core/api-keys', { Authorization: 'Bearer good' }, 65_536, 413],
    ['/v1/media/uploads', { Authorization: 'Bearer good' }, 65_536, 413],
    ['/v1/media/uploads/abc/complete', { Authorization: 'Bearer good' }, 1_048_576, 413],
    ['/v1/links/graphql', {}, 2_097_152, 413],
  ];
  for (const [p, headers, limit] of cases) {
    const over = await call(`${url}${p}`, { method: 'POST', headers, body: big(limit + 1) });
    assert.equal(over.status, 413, p);
    assert.equal(over.body, 'Request Entity Too Large');
    const at = await call(`${url}${p}`, { method: 'POST', headers, body: big(limit) });
    assert.equal(at.status, 200, `${p} at the limit`);
  }
  for (const u of Object.values(ups)) assert.ok(u.seen.every((s) => s.body.length <= 2_097_152));
});

void test('client address: the peer unless GATEWAY_TRUSTED_IPS names the proxies in front; never a header an untrusted peer sent', async (t) => {
  const login = (url: string, xff?: string) =>
    call(`${url}/v1/core/auth/login`, { method: 'POST', body: '{}', headers: xff ? { 'X-Forwarded-For': xff } : {} }).then((r) => r.status);
  // no trusted proxy: X-Forwarded-For is dropped at the entrypoint, every spoofed value shares the peer's bucket
  const direct = await stack(t);
  const spoofed: number[] = [];
  for (let i = 0; i < 6; i++) spoofed.push(await login(direct.url, `198.51.100.${i}`));
  assert.deepEqual(spoofed, [200, 200, 200, 200, 200, 429]);
  assert.ok(direct.ups.core!.seen.every((s) => s.headers['x-forwarded-for'] === '127.0.0.1'), 'the spoofed header never reached core');

  // behind a CDN (here: the loopback peer stands for Cloudflare's ranges): the address the CDN appended
  const cdn = await stack(t, { GATEWAY_TRUSTED_IPS: '127.0.0.0/8,10.0.0.0/8' });
  const a: number[] = [];
  for (let i = 0; i < 6; i++) a.push(await login(cdn.url, `6.6.6.${i}, 203.0.113.7`));
  assert.deepEqual(a, [200, 200, 200, 200, 200, 429], 'the client-written first entries do not choose the bucket');
  assert.equal(await login(cdn.url, '203.0.113.8'), 200, 'another client, its own bucket');
  assert.equal(await login(cdn.url, '203.0.113.7, 10.1.2.3'), 429, 'a trusted hop after the client is skipped');
});

void test('redirect: lowest-priority catch-all, and everything on the short-link host', async (t) => {
  const a = await stack(t);
  assert.equal((await call(`${a.url}/abc123`)).body, 'redirect /abc123');
  assert.equal((await call(`${a.url}/abc123/qr.svg`)).body, 'redirect /abc123/qr.svg');
  assert.equal((await call(`${a.url}/v1/core/x`, { headers: { host: 'lp.to' } })).status, 401);
  const b = await stack(t, { SHORT_LINK_HOST: 'lp.to' });
  assert.equal((await call(`${b.url}/v1/core/x`, { headers: { host: 'LP.to:443' } })).body, 'redirect /v1/core/x');
});

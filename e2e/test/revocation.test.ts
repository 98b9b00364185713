/**
 * Revocation bounds (issue 11 §3) with real servers: core instances on port 0, the Node gateway
 * built from the shipped gateway/dynamic files, and an echo server standing for every other
 * upstream. Core's clock is the helper's (moved by `advance`); nothing else is faked.
 *
 *  - the JWT minted for an API key only travels on the gateway → upstream hop;
 *  - a revoked API key (and a replayed minted JWT) is refused at once by the instance that revoked
 *    it and within 5 s (REVOCATION_BOUND_MS) by every other instance;
 *  - logout and password change end the session's access tokens within the same bound;
 *  - the same three revocations close, within 5 s, the GraphQL WebSockets (a running subscription
 *    on a real engine process) opened with those credentials — core announces each revocation on
 *    PostgreSQL's `linkport_revocations` channel, the engine listens and closes with 4401
 *    (hasura/engine/src/subscriptions/revocation.ts) — and leaves every other connection open.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import type { FastifyInstance } from 'fastify';
import { buildGateway, gatewayEnvSchema, loadDynamicDir } from '@linkport/gateway';
import { REVOCATION_BOUND_MS } from '@linkport/core-service';
import { bearer, build, jwtPayload, newUser, useFileDatabase } from '@linkport/core-service/testing';

useFileDatabase();

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function call(base: string, path: string, opts: { method?: string; headers?: Record<string, string>; body?: unknown } = {}): Promise<Reply> {
  const u = new URL(path, base);
  const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        method: opts.method ?? 'GET',
        agent: false,
        headers: { ...opts.headers, ...(payload !== undefined && { 'content-type': 'application/json' }) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/**
 * Every upstream but core (media, Hasura, redirect): answers the headers it received, and tries to
 * hand Authorization back.
 */
async function echoUpstream(t: test.TestContext): Promise<string> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      // as the redirect service answers a path no short code matches
      if (req.url?.startsWith('/.not-public')) {
        res.statusCode = 404;
        return res.end('Link not found');
      }
      res.setHeader('content-type', 'application/json');
      if (req.headers.authorization) res.setHeader('authorization', req.headers.authorization);
      res.end(JSON.stringify({ url: req.url, headers: req.headers }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

/** The production routes (gateway/dynamic) in front of one core instance. */
async function gatewayFor(t: test.TestContext, coreUrl: string, echo: string): Promise<string> {
  const dir = gatewayEnvSchema.parse({}).GATEWAY_DYNAMIC_DIR;
  const env = { CORE_URL: coreUrl, MEDIA_URL: echo, HASURA_URL: echo, REDIRECT_URL: echo, CORS_ORIGINS: '', SHORT_LINK_HOST: '' };
  const gw = buildGateway(await loadDynamicDir(dir, env));
  const { port } = await gw.listen(0, '127.0.0.1');
  t.after(() => gw.close());
  return `http://127.0.0.1:${port}`;
}

async function twoInstances(t: test.TestContext) {
  const b = await build(t);
  const other = await b.another();
  const echo = await echoUpstream(t);
  const gwA = await gatewayFor(t, await listen(b.app), echo);
  const gwB = await gatewayFor(t, await listen(other), echo);
  return { ...b, gwA, gwB };
}

const errorCode = (r: Reply) => (JSON.parse(r.body) as { error: { code: string } }).error.code;

void test('API key: the minted JWT stays on the gateway → upstream hop, lives ≤ 60 s, and dies with the key within 5 s everywhere', async (t) => {
  const { app, gwA, gwB, advance } = await twoInstances(t);
  const s = await newUser(app);
  const created = await app.inject({ method: 'POST', url: '/v1/core/api-keys', headers: bearer(s.access), payload: { name: 'ci', scopes: ['media:read', 'media:write'] } });
  const key = created.json<{ id: string; key: string }>();

  // The upstream receives a minted JWT; the client never sees it.
  const through = await call(gwA, '/v1/media/assets', { headers: bearer(key.key) });
  assert.equal(through.status, 200, through.body);
  assert.equal(through.headers.authorization, undefined, 'Authorization stripped from the answer');
  const seen = JSON.parse(through.body) as { headers: Record<string, string> };
  const minted = seen.headers.authorization!.replace(/^Bearer /, '');
  assert.notEqual(minted, key.key);
  assert.doesNotMatch(through.body.replace(minted, ''), /eyJ/, 'no other token in the body');
  const claims = jwtPayload(minted);
  assert.ok(Number(claims.exp) - Number(claims.iat) <= 60, 'minted JWTs live at most 60 s');
  assert.equal(claims.api_key_id, key.id);

  // The forwardAuth endpoint is not routed: asking it through the gateway yields no token.
  for (const p of ['/v1/core/auth/verify', '/v1/core/auth/verify?mode=optional']) {
    const v = await call(gwA, p, { headers: bearer(key.key) });
    assert.equal(v.status, 404, p);
    assert.equal(v.headers.authorization, undefined);
    assert.doesNotMatch(v.body, /eyJ/);
  }

  // Instance B has the key and the minted token in its caches.
  assert.equal((await call(gwB, '/v1/media/assets', { headers: bearer(key.key) })).status, 200);
  assert.equal((await call(gwB, '/v1/media/assets', { headers: bearer(minted) })).status, 200);

  const revoked = await call(gwA, `/v1/core/api-keys/${key.id}`, { method: 'DELETE', headers: bearer(s.access) });
  assert.equal(revoked.status, 204, revoked.body);

  // The instance that revoked: at once, for the key and for a replayed minted JWT.
  const keyA = await call(gwA, '/v1/media/assets', { headers: bearer(key.key) });
  assert.equal(keyA.status, 401);
  assert.equal(errorCode(keyA), 'API_KEY_REVOKED');
  const mintedA = await call(gwA, '/v1/media/assets', { headers: bearer(minted) });
  assert.equal(mintedA.status, 401);
  assert.equal(errorCode(mintedA), 'API_KEY_REVOKED');

  // The other instance: still within its cache halfway (real time passes too), refused once the bound has passed.
  advance(REVOCATION_BOUND_MS / 2);
  assert.equal((await call(gwB, '/v1/media/assets', { headers: bearer(key.key) })).status, 200, 'the cache is what the bound bounds');
  advance(REVOCATION_BOUND_MS / 2);
  for (const token of [key.key, minted]) {
    const r = await call(gwB, '/v1/media/assets', { headers: bearer(token) });
    assert.equal(r.status, 401, `${token.slice(0, 3)} on B after ${REVOCATION_BOUND_MS} ms`);
    assert.equal(errorCode(r), 'API_KEY_REVOKED');
  }
  assert.ok(REVOCATION_BOUND_MS <= 5_000);
});

void test('sessions: logout and password change end the access tokens within 5 s everywhere', async (t) => {
  const { app, gwA, gwB, advance } = await twoInstances(t);

  // logout (this session only)
  const s = await newUser(app);
  assert.equal((await call(gwB, '/v1/media/assets', { headers: bearer(s.access) })).status, 200);
  assert.equal(jwtPayload(s.access).sid !== undefined, true, 'session tokens name their session');
  const out = await call(gwA, '/v1/core/auth/logout', { method: 'POST', body: { refresh_token: s.refresh } });
  assert.equal(out.status, 204, out.body);
  const a = await call(gwA, '/v1/media/assets', { headers: bearer(s.access) });
  assert.equal(a.status, 401);
  assert.equal(errorCode(a), 'SESSION_REVOKED');
  assert.equal((await call(gwA, '/v1/core/me', { headers: bearer(s.access) })).status, 401, 'core itself refuses it too');
  advance(REVOCATION_BOUND_MS / 2);
  assert.equal((await call(gwB, '/v1/media/assets', { headers: bearer(s.access) })).status, 200, 'B within its cache');
  advance(REVOCATION_BOUND_MS / 2);
  const b = await call(gwB, '/v1/media/assets', { headers: bearer(s.access) });
  assert.equal(b.status, 401);
  assert.equal(errorCode(b), 'SESSION_REVOKED');

  // password change: the other device's session ends, the caller continues with the new pair
  const u = await newUser(app);
  const login = await app.inject({ method: 'POST', url: '/v1/core/auth/login', payload: { email: u.email, password: u.password } });
  const otherDevice = login.json<{ access_token: string }>().access_token;
  assert.equal((await call(gwB, '/v1/media/assets', { headers: bearer(otherDevice) })).status, 200);
  const changed = await call(gwA, '/v1/core/me/password', {
    method: 'POST',
    headers: bearer(u.access),
    body: { current_password: u.password, new_password: `${u.password}-new` },
  });
  assert.equal(changed.status, 200, changed.body);
  const fresh = (JSON.parse(changed.body) as { access_token: string }).access_token;
  for (const old of [u.access, otherDevice]) assert.equal((await call(gwA, '/v1/media/assets', { headers: bearer(old) })).status, 401);
  advance(REVOCATION_BOUND_MS);
  for (const old of [u.access, otherDevice]) assert.equal((await call(gwB, '/v1/media/assets', { headers: bearer(old) })).status, 401);
  for (const gw of [gwA, gwB]) assert.equal((await call(gw, '/v1/media/assets', { headers: bearer(fresh) })).status, 200);
});

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** The GraphQL engine as its own process (hasura/engine/src/server.ts) on the core test database. */
async function engineProcess(t: test.TestContext, b: Awaited<ReturnType<typeof build>>, coreUrl: string): Promise<string> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'hasura/engine/src/server.ts'], {
    cwd: repo,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      ...process.env,
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      HASURA_GRAPHQL_DATABASE_URL: b.db.roleUrl('links_admin'),
      HASURA_GRAPHQL_ADMIN_SECRET: 'e2e-admin-secret',
      HASURA_GRAPHQL_JWT_SECRET: JSON.stringify({ jwk_url: `${coreUrl}/v1/core/.well-known/jwks.json`, issuer: b.config.JWT_ISSUER, audience: b.config.JWT_AUDIENCE }),
      HASURA_GRAPHQL_UNAUTHORIZED_ROLE: 'anonymous',
      HASURA_GRAPHQL_METADATA_DIR: path.join(repo, 'hasura/metadata'),
    },
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()).slice(-4000));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  t.after(async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`engine exited: ${stderr}`);
    const ok = await call(url, '/health/ready').then((r) => r.status === 200, () => false);
    if (ok) return url.replace('http', 'ws') + '/v1/graphql';
    if (Date.now() > deadline) throw new Error(`engine not ready: ${stderr}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A graphql-transport-ws connection running one subscription; resolves once its first result arrived. */
async function subscribed(t: test.TestContext, url: string, token: string) {
  const ws = new WebSocket(url, 'graphql-transport-ws');
  t.after(() => ws.terminate());
  const closed = new Promise<{ code: number; reason: string; at: number }>((r) => ws.once('close', (code, reason) => r({ code, reason: reason.toString(), at: Date.now() })));
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.once('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { headers: { Authorization: `Bearer ${token}` } } })));
    ws.on('message', (raw) => {
      const m = JSON.parse(String(raw)) as { type: string; payload?: unknown };
      if (m.type === 'connection_ack') ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: 'subscription { links_links(limit: 1) { id } }' } }));
      else if (m.type === 'next') resolve();
      else if (m.type === 'error') reject(new Error(JSON.stringify(m.payload)));
    });
    closed.then((c) => reject(new Error(`closed before the first result: ${c.code} ${c.reason}`)), () => undefined);
  });
  return { ws, closed };
}

/** Asserts `conn` gets closed with 4401 within the bound after `from`. */
async function closedWithin(conn: Awaited<ReturnType<typeof subscribed>>, from: number, what: string): Promise<number> {
  const bound = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 5_000 + 500).unref());
  const c = await Promise.race([conn.closed, bound]);
  assert.notEqual(c, 'timeout', `${what}: still open after 5 s`);
  const { code, at } = c as { code: number; at: number };
  assert.equal(code, 4401, what);
  assert.ok(at - from <= 5_000, `${what}: closed after ${at - from} ms`);
  return at - from;
}

void test('WebSockets: logout, password change and API key revoke close the GraphQL subscriptions they opened within 5 s (4401); other connections stay', async (t) => {
  const b = await build(t);
  const coreUrl = await listen(b.app);
  const url = await engineProcess(t, b, coreUrl);
  const { app } = b;

  // logout: that session only
  const s = await newUser(app);
  const bystander = await newUser(app);
  const c1 = await subscribed(t, url, s.access);
  const other = await subscribed(t, url, bystander.access);
  let at = Date.now();
  const out = await app.inject({ method: 'POST', url: '/v1/core/auth/logout', payload: { refresh_token: s.refresh } });
  assert.equal(out.statusCode, 204, out.body);
  const logoutMs = await closedWithin(c1, at, 'logout');

  // password change: every session of the user, the caller's new pair works
  const u = await newUser(app);
  const login = await app.inject({ method: 'POST', url: '/v1/core/auth/login', payload: { email: u.email, password: u.password } });
  const otherDevice = login.json<{ access_token: string }>().access_token;
  const c2 = await subscribed(t, url, u.access);
  const c3 = await subscribed(t, url, otherDevice);
  at = Date.now();
  const changed = await app.inject({ method: 'POST', url: '/v1/core/me/password', headers: bearer(u.access), payload: { current_password: u.password, new_password: `${u.password}-new` } });
  assert.equal(changed.statusCode, 200, changed.body);
  const pwMs = Math.max(await closedWithin(c2, at, 'password change'), await closedWithin(c3, at, 'password change, other device'));
  const fresh = changed.json<{ access_token: string }>().access_token;
  const c4 = await subscribed(t, url, fresh);

  // API key: the JWT minted for it (what the gateway forwards to the engine) dies with the key
  const created = await app.inject({ method: 'POST', url: '/v1/core/api-keys', headers: bearer(bystander.access), payload: { name: 'ws', scopes: ['links:read'] } });
  assert.equal(created.statusCode, 201, created.body);
  const key = created.json<{ id: string; key: string }>();
  const verified = await app.inject({ method: 'GET', url: '/v1/core/auth/verify', headers: bearer(key.key) });
  assert.equal(verified.statusCode, 200, verified.body);
  const minted = String(verified.headers.authorization).replace(/^Bearer /, '');
  assert.equal(jwtPayload(minted).api_key_id, key.id);
  const c5 = await subscribed(t, url, minted);
  at = Date.now();
  const del = await app.inject({ method: 'DELETE', url: `/v1/core/api-keys/${key.id}`, headers: bearer(bystander.access) });
  assert.equal(del.statusCode, 204, del.body);
  const keyMs = await closedWithin(c5, at, 'API key revoke');

  // Nothing else was closed: the bystander's session (whose API key was revoked) and the new pair.
  await new Promise((r) => setTimeout(r, 300));
  for (const c of [other, c4]) assert.equal(c.ws.readyState, WebSocket.OPEN);
  t.diagnostic(`closed after: logout ${logoutMs} ms, password change ${pwMs} ms, API key revoke ${keyMs} ms`);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestDatabase } from '@linkport/devstack/testing';
import { build, newUser, uniqueEmail, bearer, errorCode, jwtPayload, sql, useFileDatabase } from '../helper.ts';

useFileDatabase();

async function auditActions(db: TestDatabase, userId: string): Promise<string[]> {
  const rows = await sql<{ action: string }>(db, 'SELECT action FROM core.audit_events WHERE user_id = $1 ORDER BY id', [userId]);
  return rows.map((r) => r.action);
}

function cookieOf(setCookie: string | string[] | undefined): string {
  const all = Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : [];
  const c = all.find((x) => x.startsWith('lp_refresh='));
  assert.ok(c, `no lp_refresh cookie in ${JSON.stringify(all)}`);
  return c;
}

void test('register answers OAuth 2 token fields, the user without password_hash, and an httpOnly Lax cookie', async (t) => {
  const { app, db } = await build(t);
  const email = uniqueEmail();
  const res = await app.inject({ method: 'POST', url: '/v1/core/auth/register', payload: { email: `  ${email.toUpperCase()} `, password: 'correct horse battery', display_name: 'Ada' } });
  assert.equal(res.statusCode, 201, res.body);
  const body = res.json();
  assert.equal(body.token_type, 'Bearer');
  assert.equal(body.expires_in, 900);
  assert.equal(typeof body.access_token, 'string');
  assert.match(body.refresh_token, /^[A-Za-z0-9_-]{43}$/);
  assert.deepEqual(Object.keys(body.user).sort(), ['created_at', 'display_name', 'email', 'id', 'role', 'updated_at']);
  assert.equal(body.user.email, email, 'trimmed and lower-cased');
  assert.equal(res.headers['cache-control'], 'no-store');
  assert.ok(!res.body.includes('argon2'), 'no hash in the response');
  const cookie = cookieOf(res.headers['set-cookie']);
  assert.match(cookie, /HttpOnly/);
  assert.match(cookie, /SameSite=Lax/);
  assert.match(cookie, /Path=\/v1\/core\/auth/);
  assert.doesNotMatch(cookie, /Secure/, 'PUBLIC_BASE_URL is http');

  const claims = jwtPayload(body.access_token);
  assert.equal(claims.sub, body.user.id);
  assert.equal(claims.iss, 'linkport');
  assert.equal(claims.aud, 'linkport');
  assert.equal(Number(claims.exp) - Number(claims.iat), 900);
  assert.deepEqual(claims['https://hasura.io/jwt/claims'], {
    'x-hasura-user-id': body.user.id,
    'x-hasura-default-role': 'user',
    'x-hasura-allowed-roles': ['user'],
  });
  assert.equal(claims.scope, undefined, 'password sessions carry no scope');

  const dup = await app.inject({ method: 'POST', url: '/v1/core/auth/register', payload: { email, password: 'another password' } });
  assert.equal(errorCode(dup, 409), 'EMAIL_TAKEN');
  assert.deepEqual(await auditActions(db, body.user.id), ['user.registered']);
});

void test('the cookie is Secure when PUBLIC_BASE_URL is https', async (t) => {
  const { app } = await build(t, { env: { PUBLIC_BASE_URL: 'https://links.example.com' } });
  const res = await app.inject({ method: 'POST', url: '/v1/core/auth/register', payload: { email: uniqueEmail(), password: 'password-123' } });
  assert.match(cookieOf(res.headers['set-cookie']), /; Secure/);
});

void test('login: right password → tokens; wrong password and unknown email → the same 401; audit records both', async (t) => {
  const { app, db } = await build(t);
  const s = await newUser(app);
  const ok = await app.inject({ method: 'POST', url: '/v1/core/auth/login', payload: { email: s.email.toUpperCase(), password: s.password } });
  assert.equal(ok.statusCode, 200, ok.body);
  assert.equal(ok.json().user.id, s.userId);
  assert.equal(jwtPayload(ok.json().access_token).sub, s.userId);

  const wrong = await app.inject({ method: 'POST', url: '/v1/core/auth/login', payload: { email: s.email, password: 'not it at all' } });
  const unknown = await app.inject({ method: 'POST', url: '/v1/core/auth/login', payload: { email: uniqueEmail('ghost'), password: 'not it at all' } });
  assert.equal(errorCode(wrong, 401), 'INVALID_CREDENTIALS');
  assert.equal(errorCode(unknown, 401), 'INVALID_CREDENTIALS');
  assert.equal(wrong.json().error.message, unknown.json().error.message);
  assert.deepEqual(await auditActions(db, s.userId), ['user.registered', 'login.succeeded', 'login.failed']);
});

void test('refresh rotates: the new pair works, the old refresh token is single-use', async (t) => {
  const { app } = await build(t);
  const s = await newUser(app);
  const r1 = await app.inject({ method: 'POST', url: '/v1/core/auth/refresh', payload: { refresh_token: s.refresh } });
  assert.equal(r1.statusCode, 200, r1.body);
  const t1 = r1.json();
  assert.notEqual(t1.refresh_token, s.refresh);
  assert.equal(t1.token_type, 'Bearer');
  assert.equal(jwtPayload(t1.access_token).sub, s.userId);
  const me = await app.inject({ method: 'GET', url: '/v1/core/me', headers: bearer(t1.access_token) });
  assert.equal(me.statusCode, 200);

  // The cookie works as well as the body field.
  const r2 = await app.inject({ method: 'POST', url: '/v1/core/auth/refresh', cookies: { lp_refresh: t1.refresh_token } });
  assert.equal(r2.statusCode, 200, r2.body);
  assert.equal(cookieOf(r2.headers['set-cookie']).split(';')[0], `lp_refresh=${r2.json().refresh_token}`);

  const none = await app.inject({ method: 'POST', url: '/v1/core/auth/refresh' });
  assert.equal(errorCode(none, 401), 'INVALID_REFRESH_TOKEN');
  const bogus = await app.inject({ method: 'POST', url: '/v1/core/auth/refresh', payload: { refresh_token: 'x'.repeat(43) } });
  assert.equal(errorCode(bogus, 401), 'INVALID_REFRESH_TOKEN');
});

void test('reusing a rotated refresh token revokes the whole family (RFC 9700 §4.14.2) with a distinct code', async (t) => {
  const { app, db } = await build(t);
  const s = await newUser(app);
  const other = await app.inject({ method: 'POST', url: '/v1/core/auth/login', payload: { email: s.email, password: s.password } });
  const otherRefresh = other.json().refresh_token as string;

  const r1 = await app.inject({ method: 'POST', url: '/v1/core/auth/refresh', payload: { refresh_token: s.refresh } });
  const current = r1.json().refresh_token as string;
  const replay = await app.inject({ method: 'POST', url: '/v1/core/auth/refresh', payload: { refresh_token: s.refresh } });
  assert.equal(errorCode(replay, 401), 'REFRESH_TOKEN_REUSED');
  const after = await app.inject({ method: 'POST', url: '/v1/core/auth/refresh', payload: { refresh_token: current } });
  assert.equal(errorCode(after, 401), 'INVALID_REFRESH_TOKEN', 'the legitimate child is revoked too');
  const unrelated = await app.inject({ method: 'POST', url: '/v1/core/auth/refresh', payload: { refresh_token: otherRefresh } });
  assert.equal(unrelated.statusCode, 200, 'another login (family) is untouched');
  assert.ok((await auditActions(db, s.userId)).includes('refresh.reuse_detected'));
});

void test('concurrent refreshes with one token: exactly one wins, the other is treated as reuse', async (t) => {
  const { app } = await build(t);
  const s = await newUser(app);
  const [a, b] = await Promise.all([
    app.inject({ method: 'POST', url: '/v1/core/auth/refresh', payload: { refresh_token: s.refresh } }),
    app.inject({ method: 'POST', url: '/v1/core/auth/refresh', payload: { refresh_token: s.refresh } }),
  ]);
  assert.deepEqual([a.statusCode, b.statusCode].sort(), [200, 401]);
});

void test('an expired refresh token is refused', async (t) => {
  const { app, advance } = await build(t, { env: { REFRESH_TOKEN_TTL_DAYS: '1' } });
  const s = await newUser(app);
  advance(86_400_000 + 1000);
  const res = await app.inject({ method: 'POST', url: '/v1/core/auth/refresh', payload: { refresh_token: s.refresh } });
  assert.equal(errorCode(res, 401), 'REFRESH_TOKEN_EXPIRED');
});

void test('logout ends this session only; logout {all: true} ends every session', async (t) => {
  const { app } = await build(t);
  const s = await newUser(app);
  const second = (await app.inject({ method: 'POST', url: '/v1/core/auth/login', payload: { email: s.email, password: s.password } })).json();
  const third = (await app.inject({ method: 'POST', url: '/v1/core/auth/login', payload: { email: s.email, password: s.password } })).json();

  const out = await app.inject({ method: 'POST', url: '/v1/core/auth/logout', payload: { refresh_token: s.refresh } });
  assert.equal(out.statusCode, 204);
  assert.match(cookieOf(out.headers['set-cookie']), /Expires=Thu, 01 Jan 1970/);
  assert.equal(errorCode(await app.inject({ method: 'POST', url: '/v1/core/auth/refresh', payload: { refresh_token: s.refresh } }), 401), 'INVALID_REFRESH_TOKEN');
  const r2 = await app.inject({ method: 'POST', url: '/v1/core/auth/refresh', payload: { refresh_token: second.refresh_token } });
  assert.equal(r2.statusCode, 200, 'the other session lives on');

  const again = await app.inject({ method: 'POST', url: '/v1/core/auth/logout', cookies: { lp_refresh: s.refresh } });
  assert.equal(again.statusCode, 204, 'idempotent (RFC 7009 §2.2)');

  const all = await app.inject({ method: 'POST', url: '/v1/core/auth/logout', payload: { refresh_token: third.refresh_token, all: true } });
  assert.equal(all.statusCode, 204);
  for (const rt of [r2.json().refresh_token, third.refresh_token]) {
    const r = await app.inject({ method: 'POST', url: '/v1/core/auth/refresh', payload: { refresh_token: rt } });
    assert.equal(r.statusCode, 401);
  }
});

void test('logout {all: true} with only an access token; without any credential it is a 400', async (t) => {
  const { app } = await build(t);
  const s = await newUser(app);
  const res = await app.inject({ method: 'POST', url: '/v1/core/auth/logout', headers: bearer(s.access), payload: { all: true } });
  assert.equal(res.statusCode, 204);
  assert.equal((await app.inject({ method: 'POST', url: '/v1/core/auth/refresh', payload: { refresh_token: s.refresh } })).statusCode, 401);
  assert.equal(errorCode(await app.inject({ method: 'POST', url: '/v1/core/auth/logout' }), 400), 'MISSING_CREDENTIAL');
  const forged = await app.inject({ method: 'POST', url: '/v1/core/auth/logout', headers: bearer('a.b.c'), payload: { all: true } });
  assert.equal(errorCode(forged, 401), 'INVALID_TOKEN');
  const other = await newUser(app);
  const key = (await app.inject({ method: 'POST', url: '/v1/core/api-keys', headers: bearer(other.access), payload: { name: 'k', scopes: ['links:write'] } })).json();
  const minted = (await app.inject({ method: 'GET', url: '/v1/core/auth/verify', headers: bearer(key.key) })).headers.authorization as string;
  const viaKey = await app.inject({ method: 'POST', url: '/v1/core/auth/logout', headers: { authorization: minted }, payload: { all: true } });
  assert.equal(errorCode(viaKey, 403), 'SESSION_REQUIRED');
  assert.equal((await app.inject({ method: 'POST', url: '/v1/core/auth/refresh', payload: { refresh_token: other.refresh } })).statusCode, 200, 'an API key cannot end sessions');
});

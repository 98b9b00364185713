import { test } from 'node:test';
import assert from 'node:assert/strict';
import { build, newUser, uniqueEmail, bearer, errorCode, sql, useFileDatabase } from './helper.ts';

useFileDatabase();

void test('GET /me needs a valid session JWT and never shows the hash', async (t) => {
  const { app } = await build(t);
  const s = await newUser(app, { display_name: 'Grace Hopper' });
  const res = await app.inject({ method: 'GET', url: '/v1/core/me', headers: bearer(s.access) });
  assert.equal(res.statusCode, 200);
  const { created_at, updated_at, ...rest } = res.json<Record<string, unknown>>();
  assert.deepEqual(rest, { id: s.userId, email: s.email, display_name: 'Grace Hopper', role: 'user' });
  assert.ok(!Number.isNaN(Date.parse(String(created_at))) && !Number.isNaN(Date.parse(String(updated_at))));
  assert.ok(!('password_hash' in res.json()));
  assert.equal(errorCode(await app.inject({ method: 'GET', url: '/v1/core/me' }), 401), 'UNAUTHORIZED');
  assert.equal(errorCode(await app.inject({ method: 'GET', url: '/v1/core/me', headers: bearer('not-a-jwt') }), 401), 'INVALID_TOKEN');
  const tampered = s.access.slice(0, -4) + (s.access.endsWith('AAAA') ? 'BBBB' : 'AAAA');
  assert.equal(errorCode(await app.inject({ method: 'GET', url: '/v1/core/me', headers: bearer(tampered) }), 401), 'INVALID_TOKEN');
  // Identity headers alone are never trusted.
  const spoof = await app.inject({ method: 'GET', url: '/v1/core/me', headers: { 'x-user-id': s.userId, 'x-auth-method': 'jwt' } });
  assert.equal(spoof.statusCode, 401);
});

void test('an expired access token is refused with TOKEN_EXPIRED', async (t) => {
  const { app, advance } = await build(t);
  const s = await newUser(app);
  advance(16 * 60_000);
  assert.equal(errorCode(await app.inject({ method: 'GET', url: '/v1/core/me', headers: bearer(s.access) }), 401), 'TOKEN_EXPIRED');
});

void test('PATCH /me: display name and email (normalised); duplicate email 409; empty patch 400', async (t) => {
  const { app } = await build(t);
  const s = await newUser(app);
  const taken = await newUser(app);
  const newEmail = uniqueEmail('renamed');
  const res = await app.inject({ method: 'PATCH', url: '/v1/core/me', headers: bearer(s.access), payload: { email: ` ${newEmail.toUpperCase()}`, display_name: '  Zoë   Ünïcode 🚀 ' } });
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.json().email, newEmail);
  assert.equal(res.json().display_name, 'Zoë Ünïcode 🚀');
  assert.ok(Date.parse(res.json().updated_at) >= Date.parse(res.json().created_at));
  const login = await app.inject({ method: 'POST', url: '/v1/core/auth/login', payload: { email: newEmail, password: s.password } });
  assert.equal(login.statusCode, 200, 'logs in with the new email');

  const cleared = await app.inject({ method: 'PATCH', url: '/v1/core/me', headers: bearer(s.access), payload: { display_name: null } });
  assert.equal(cleared.json().display_name, null);
  assert.equal(errorCode(await app.inject({ method: 'PATCH', url: '/v1/core/me', headers: bearer(s.access), payload: { email: taken.email } }), 409), 'EMAIL_TAKEN');
  assert.equal(errorCode(await app.inject({ method: 'PATCH', url: '/v1/core/me', headers: bearer(s.access), payload: {} }), 400), 'VALIDATION_FAILED');
  assert.equal(errorCode(await app.inject({ method: 'PATCH', url: '/v1/core/me', headers: bearer(s.access), payload: { role: 'admin' } }), 400), 'VALIDATION_FAILED');
});

void test('POST /me/password: needs the current password, revokes every other session, answers a fresh pair', async (t) => {
  const { app, db } = await build(t);
  const s = await newUser(app);
  const other = (await app.inject({ method: 'POST', url: '/v1/core/auth/login', payload: { email: s.email, password: s.password } })).json();

  const wrong = await app.inject({ method: 'POST', url: '/v1/core/me/password', headers: bearer(s.access), payload: { current_password: 'wrong-one', new_password: 'new password 123' } });
  assert.equal(errorCode(wrong, 403), 'WRONG_PASSWORD');
  const weak = await app.inject({ method: 'POST', url: '/v1/core/me/password', headers: bearer(s.access), payload: { current_password: s.password, new_password: 'short' } });
  assert.equal(errorCode(weak, 400), 'VALIDATION_FAILED');
  assert.equal(weak.json().error.details[0].path, 'new_password');

  const res = await app.inject({ method: 'POST', url: '/v1/core/me/password', headers: bearer(s.access), payload: { current_password: s.password, new_password: 'new password 123' } });
  assert.equal(res.statusCode, 200, res.body);
  const fresh = res.json();
  for (const rt of [s.refresh, other.refresh_token]) {
    assert.equal((await app.inject({ method: 'POST', url: '/v1/core/auth/refresh', payload: { refresh_token: rt } })).statusCode, 401, 'earlier sessions are revoked');
  }
  assert.equal((await app.inject({ method: 'POST', url: '/v1/core/auth/refresh', payload: { refresh_token: fresh.refresh_token } })).statusCode, 200, 'this client continues');
  assert.equal((await app.inject({ method: 'POST', url: '/v1/core/auth/login', payload: { email: s.email, password: s.password } })).statusCode, 401);
  assert.equal((await app.inject({ method: 'POST', url: '/v1/core/auth/login', payload: { email: s.email, password: 'new password 123' } })).statusCode, 200);

  const rows = await sql<{ n: number }>(db, "SELECT count(*)::int AS n FROM core.audit_events WHERE user_id = $1 AND action = 'password.changed'", [s.userId]);
  assert.equal(rows[0]?.n, 1);
});

void test('DELETE /me: needs the password; the user, sessions and keys are gone (FK cascade); tokens stop working', async (t) => {
  const { app, db } = await build(t);
  const s = await newUser(app);
  const keep = await newUser(app);
  const key = (await app.inject({ method: 'POST', url: '/v1/core/api-keys', headers: bearer(s.access), payload: { name: 'ci', scopes: ['links:read'] } })).json();
  assert.equal(errorCode(await app.inject({ method: 'DELETE', url: '/v1/core/me', headers: bearer(s.access), payload: { password: 'nope-nope' } }), 403), 'WRONG_PASSWORD');
  assert.equal(errorCode(await app.inject({ method: 'DELETE', url: '/v1/core/me', headers: bearer(s.access) }), 400), 'VALIDATION_FAILED');

  const res = await app.inject({ method: 'DELETE', url: '/v1/core/me', headers: bearer(s.access), payload: { password: s.password } });
  assert.equal(res.statusCode, 204);
  assert.equal(res.body, '');

  const count = async (text: string, id: string) => (await sql<{ n: number }>(db, text, [id]))[0]!.n;
  assert.equal(await count('SELECT count(*)::int AS n FROM core.users WHERE id = $1', s.userId), 0);
  assert.equal(await count('SELECT count(*)::int AS n FROM core.refresh_tokens WHERE user_id = $1', s.userId), 0);
  assert.equal(await count('SELECT count(*)::int AS n FROM core.api_keys WHERE user_id = $1', s.userId), 0);
  assert.equal(await count("SELECT count(*)::int AS n FROM core.audit_events WHERE user_id = $1 AND action = 'user.deleted'", s.userId), 1);
  assert.equal(await count('SELECT count(*)::int AS n FROM core.users WHERE id = $1', keep.userId), 1, 'nobody else is touched');

  assert.equal(errorCode(await app.inject({ method: 'GET', url: '/v1/core/me', headers: bearer(s.access) }), 401), 'ACCOUNT_NOT_FOUND');
  assert.equal((await app.inject({ method: 'GET', url: '/v1/core/auth/verify', headers: bearer(key.key) })).statusCode, 401);
  assert.equal((await app.inject({ method: 'POST', url: '/v1/core/auth/refresh', payload: { refresh_token: s.refresh } })).statusCode, 401);
  assert.equal((await app.inject({ method: 'POST', url: '/v1/core/auth/login', payload: { email: s.email, password: s.password } })).statusCode, 401);
});

void test('an admin user is X-User-Role admin at verify, but never Hasura admin in the token', async (t) => {
  const { app, db } = await build(t);
  const s = await newUser(app);
  await sql(db, "UPDATE core.users SET role = 'admin' WHERE id = $1", [s.userId]);
  const login = (await app.inject({ method: 'POST', url: '/v1/core/auth/login', payload: { email: s.email, password: s.password } })).json();
  assert.equal(login.user.role, 'admin');
  const v = await app.inject({ method: 'GET', url: '/v1/core/auth/verify', headers: bearer(login.access_token) });
  assert.equal(v.headers['x-user-role'], 'admin');
  const claims = JSON.parse(Buffer.from(login.access_token.split('.')[1], 'base64url').toString());
  assert.deepEqual(claims['https://hasura.io/jwt/claims']['x-hasura-allowed-roles'], ['user']);
  assert.equal(claims.role, 'admin', 'the platform role, for services verifying the JWT themselves (media)');
  const plain = JSON.parse(Buffer.from(s.access.split('.')[1]!, 'base64url').toString());
  assert.equal(plain.role, 'user');
});

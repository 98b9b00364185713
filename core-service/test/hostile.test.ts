import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRedis } from '@linkport/common';
import { build, newUser, uniqueEmail, bearer, errorCode, sql, useFileDatabase } from './helper.ts';

useFileDatabase();

const register = (payload: unknown) => ({
  method: 'POST' as const,
  url: '/v1/core/auth/register',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(payload),
});

void test('malformed JSON, empty JSON body, wrong content type, oversized body → 4xx with the error shape', async (t) => {
  const { app } = await build(t);
  const raw = (body: string, contentType = 'application/json') =>
    app.inject({ method: 'POST', url: '/v1/core/auth/login', headers: { 'content-type': contentType }, body });
  assert.equal(errorCode(await raw('{"email": "a@b.c", "password": '), 400), 'MALFORMED_JSON');
  assert.equal(errorCode(await raw('{"__proto__": {"admin": true}, "email": 1}'), 400), 'MALFORMED_JSON', 'prototype poisoning is refused');
  assert.equal(errorCode(await raw(''), 400), 'MALFORMED_JSON');
  assert.equal(errorCode(await raw('email=a@b.c&password=x', 'application/x-www-form-urlencoded'), 415), 'UNSUPPORTED_MEDIA_TYPE');
  assert.equal(errorCode(await raw('{"email":"a@b.c","password":"12345678"}', 'text/plain'), 415), 'UNSUPPORTED_MEDIA_TYPE');
  const big = JSON.stringify({ email: 'a@b.c', password: 'x'.repeat(70 * 1024) });
  assert.equal(errorCode(await raw(big), 413), 'PAYLOAD_TOO_LARGE');
  assert.equal(errorCode(await app.inject({ method: 'POST', url: '/v1/core/auth/login' }), 400), 'VALIDATION_FAILED');
  assert.equal(errorCode(await app.inject({ method: 'GET', url: '/v1/core/nowhere' }), 404), 'ROUTE_NOT_FOUND');
  assert.equal(errorCode(await app.inject({ method: 'PUT', url: '/v1/core/me' }), 404), 'ROUTE_NOT_FOUND');
});

void test('wrong types and missing fields → 400 listing each field', async (t) => {
  const { app } = await build(t);
  const res = await app.inject(register({ email: ['a@b.c'], password: 12345678, display_name: { first: 'x' } }));
  assert.equal(errorCode(res, 400), 'VALIDATION_FAILED');
  const paths = (res.json().error.details as { path: string }[]).map((d) => d.path).sort();
  assert.deepEqual(paths, ['display_name', 'email', 'password']);
  for (const payload of [[], 'string', 42, null, { email: uniqueEmail() }, { password: 'long enough' }, { email: uniqueEmail(), password: 'long enough', display_name: 7 }]) {
    assert.equal(errorCode(await app.inject(register(payload)), 400), 'VALIDATION_FAILED', JSON.stringify(payload));
  }
});

void test('SQL-looking strings are plain data', async (t) => {
  const { app, db } = await build(t);
  const name = "Robert'); DROP TABLE core.users;--";
  const s = await newUser(app, { display_name: name, password: "' OR '1'='1' --" });
  const me = await app.inject({ method: 'GET', url: '/v1/core/me', headers: bearer(s.access) });
  assert.equal(me.json().display_name, name);
  const login = await app.inject({ method: 'POST', url: '/v1/core/auth/login', payload: { email: s.email, password: "' OR '1'='1' --" } });
  assert.equal(login.statusCode, 200);
  const inj = await app.inject({ method: 'POST', url: '/v1/core/auth/login', payload: { email: `x'--@example.com`, password: "' OR 1=1 --" } });
  assert.equal(errorCode(inj, 401), 'INVALID_CREDENTIALS');
  const bad = await app.inject({ method: 'POST', url: '/v1/core/auth/login', payload: { email: "' OR 1=1 --", password: 'x' } });
  assert.equal(errorCode(bad, 400), 'VALIDATION_FAILED');
  const del = await app.inject({ method: 'DELETE', url: "/v1/core/api-keys/1'%20OR%20'1'='1", headers: bearer(s.access) });
  assert.equal(errorCode(del, 400), 'VALIDATION_FAILED');
  const rows = await sql<{ name: string }>(db, 'SELECT display_name AS name FROM core.users WHERE id = $1', [s.userId]);
  assert.deepEqual(rows, [{ name }], 'stored verbatim, and the table is still there');
});

void test('unicode: emails are NFC + lower-cased (one account per visual address); names refuse invisible tricks', async (t) => {
  const { app } = await build(t);
  const composed = `Zoë.${Date.now()}@Exämple.com`;
  const decomposed = composed.normalize('NFD');
  assert.notEqual(composed, decomposed);
  const s = await newUser(app, { email: decomposed.toUpperCase() });
  assert.equal(s.email, composed.toLowerCase().normalize('NFC'));
  const login = await app.inject({ method: 'POST', url: '/v1/core/auth/login', payload: { email: composed, password: s.password } });
  assert.equal(login.statusCode, 200, 'the composed spelling finds the decomposed registration');
  assert.equal(errorCode(await app.inject(register({ email: ` ${composed} `, password: 'password-123' })), 409), 'EMAIL_TAKEN');
  const [local, domain] = composed.toLowerCase().split('@') as [string, string];
  const punycode = `${local}@${new URL(`http://${domain}`).hostname}`;
  assert.match(punycode, /@xn--/);
  assert.equal(errorCode(await app.inject(register({ email: punycode, password: 'password-123' })), 409), 'EMAIL_TAKEN', 'the IDNA ASCII form is the same address');

  for (const email of ['a@b', 'no-at-sign', 'two@@example.com', 'nul\u0000@example.com', `${'a'.repeat(250)}@example.com`, '   ', 'a@exa mple.com', '\u202Eevil@example.com']) {
    assert.equal(errorCode(await app.inject(register({ email, password: 'password-123' })), 400), 'VALIDATION_FAILED', JSON.stringify(email));
  }
  for (const display_name of ['bad\u0000name', 'rtl\u202Eoverride', 'zero\u200Bwidth', '\uD800lone', '   ', 'x'.repeat(101), 'bell\u0007']) {
    const res = await app.inject(register({ email: uniqueEmail(), password: 'password-123', display_name }));
    assert.equal(errorCode(res, 400), 'VALIDATION_FAILED', JSON.stringify(display_name));
  }
  for (const display_name of ['李小龍', 'محمد', 'नमस्ते', '👩‍💻 dev', 'Ｆｕｌｌｗｉｄｔｈ', 'e\u0301'.repeat(3)]) {
    const res = await app.inject(register({ email: uniqueEmail(), password: 'password-123', display_name }));
    assert.equal(res.statusCode, 201, `${display_name}: ${res.body}`);
    assert.equal(res.json().user.display_name, display_name.normalize('NFC'));
  }
});

void test('request ids: a sane incoming X-Request-Id is kept and echoed; anything else is replaced', async (t) => {
  const { app } = await build(t);
  const kept = await app.inject({ method: 'GET', url: '/v1/core/me', headers: { 'x-request-id': 'gw-1234.abcd' } });
  assert.equal(kept.headers['x-request-id'], 'gw-1234.abcd');
  assert.equal(kept.json().error.requestId, 'gw-1234.abcd');
  const replaced = await app.inject({ method: 'GET', url: '/health/live', headers: { 'x-request-id': `<script> or ${'x'.repeat(200)}` } });
  assert.match(String(replaced.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  const fresh = await app.inject({ method: 'GET', url: '/health/live' });
  assert.match(String(fresh.headers['x-request-id']), /^[0-9a-f-]{36}$/);
});

void test('health: live and ready (PostgreSQL and Redis checked) under both prefixes', async (t) => {
  const { app } = await build(t);
  for (const prefix of ['', '/v1/core']) {
    assert.deepEqual((await app.inject({ method: 'GET', url: `${prefix}/health/live` })).json(), { status: 'ok' });
    const ready = await app.inject({ method: 'GET', url: `${prefix}/health/ready` });
    assert.equal(ready.statusCode, 200);
    assert.deepEqual(ready.json(), { status: 'ok', checks: { postgres: 'ok', redis: 'ok' } });
  }
});

void test('ready turns 503 when Redis is gone, and login still works (the throttle fails open)', async (t) => {
  const built = await build(t);
  const s = await newUser(built.app);
  // The helper owns the server process; shut it down through the protocol instead.
  const admin = createRedis(built.redisUrl, { maxRetriesPerRequest: 0 });
  await admin.call('SHUTDOWN', 'NOSAVE').catch(() => undefined);
  admin.disconnect();
  const ready = await built.app.inject({ method: 'GET', url: '/health/ready' });
  assert.equal(ready.statusCode, 503);
  assert.equal(ready.json().checks.redis, 'failing');
  const login = await built.app.inject({ method: 'POST', url: '/v1/core/auth/login', payload: { email: s.email, password: s.password } });
  assert.equal(login.statusCode, 200, login.body);
});

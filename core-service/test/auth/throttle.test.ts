import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { defaultHashParams } from '../../src/lib/passwords.ts';
import { build, newUser, uniqueEmail, errorCode, useFileDatabase } from '../helper.ts';

useFileDatabase();

const login = (email: string, password: string, ip = '203.0.113.7') => ({
  method: 'POST' as const,
  url: '/v1/core/auth/login',
  // inject() comes from 127.0.0.1, a trusted proxy (TRUST_PROXY=loopback…), so this is the client.
  headers: { 'x-forwarded-for': ip },
  payload: { email, password },
});

void test('per account: after N failures even the right password gets 429 with Retry-After, from any IP', async (t) => {
  const { app } = await build(t, { env: { LOGIN_MAX_FAILURES_PER_ACCOUNT: '3', LOGIN_MAX_FAILURES_PER_IP: '100', LOGIN_THROTTLE_WINDOW_SECONDS: '600' } });
  const s = await newUser(app);
  for (let i = 0; i < 3; i++) {
    assert.equal(errorCode(await app.inject(login(s.email, 'wrong-password', `198.51.100.${i}`)), 401), 'INVALID_CREDENTIALS');
  }
  const blocked = await app.inject(login(s.email, s.password, '192.0.2.99'));
  assert.equal(errorCode(blocked, 429), 'LOGIN_THROTTLED');
  const retry = Number(blocked.headers['retry-after']);
  assert.ok(retry > 590 && retry <= 600, `Retry-After ${retry}`);
  assert.equal(blocked.json().error.details.retryAfterSeconds, retry);
  // Another account from the same IP is unaffected.
  const other = await newUser(app);
  assert.equal((await app.inject(login(other.email, other.password))).statusCode, 200);
});

void test('per account: the window ends and a success resets the count', async (t) => {
  const { app } = await build(t, { env: { LOGIN_MAX_FAILURES_PER_ACCOUNT: '2', LOGIN_THROTTLE_WINDOW_SECONDS: '1' } });
  const s = await newUser(app);
  await app.inject(login(s.email, 'wrong-password'));
  assert.equal((await app.inject(login(s.email, s.password))).statusCode, 200, 'one failure is below the limit');
  await app.inject(login(s.email, 'wrong-password'));
  assert.equal((await app.inject(login(s.email, s.password))).statusCode, 200, 'the success reset the counter');
  await app.inject(login(s.email, 'wrong-password'));
  await app.inject(login(s.email, 'wrong-password'));
  assert.equal((await app.inject(login(s.email, s.password))).statusCode, 429);
  // Redis expires the window on its own clock (1 s here): wait it out rather than mocking Redis.
  await new Promise((r) => setTimeout(r, 1100));
  assert.equal((await app.inject(login(s.email, s.password))).statusCode, 200);
});

void test('per IP: failures across many accounts (credential stuffing) block that IP only', async (t) => {
  const { app } = await build(t, { env: { LOGIN_MAX_FAILURES_PER_ACCOUNT: '100', LOGIN_MAX_FAILURES_PER_IP: '4' } });
  const s = await newUser(app);
  for (let i = 0; i < 4; i++) await app.inject(login(uniqueEmail('victim'), 'guess-guess', '203.0.113.50'));
  const blocked = await app.inject(login(s.email, s.password, '203.0.113.50'));
  assert.equal(errorCode(blocked, 429), 'LOGIN_THROTTLED');
  assert.ok(Number(blocked.headers['retry-after']) >= 1);
  assert.equal((await app.inject(login(s.email, s.password, '203.0.113.51'))).statusCode, 200, 'another IP is fine');
});

void test('a wrong current password on /me/password counts against the same throttle', async (t) => {
  const { app } = await build(t, { env: { LOGIN_MAX_FAILURES_PER_ACCOUNT: '2' } });
  const s = await newUser(app);
  const change = (current: string) =>
    app.inject({ method: 'POST', url: '/v1/core/me/password', headers: { authorization: `Bearer ${s.access}` }, payload: { current_password: current, new_password: 'a brand new password' } });
  assert.equal(errorCode(await change('nope-nope'), 403), 'WRONG_PASSWORD');
  assert.equal(errorCode(await change('nope-nope'), 403), 'WRONG_PASSWORD');
  assert.equal(errorCode(await change(s.password), 429), 'LOGIN_THROTTLED');
});

void test('unknown email costs the same argon2id work as a wrong password (no timing oracle)', async (t) => {
  // Production cost here: the signal is the hash, not the surrounding I/O.
  const { app } = await build(t, { app: { hashParams: defaultHashParams } });
  const s = await newUser(app);
  const time = async (email: string) => {
    const t0 = performance.now();
    const res = await app.inject(login(email, 'definitely-wrong', '203.0.113.9'));
    assert.equal(res.statusCode, 401);
    return performance.now() - t0;
  };
  await time(uniqueEmail()); // warm the dummy hash
  const known: number[] = [];
  const unknown: number[] = [];
  for (let i = 0; i < 6; i++) {
    known.push(await time(s.email));
    unknown.push(await time(uniqueEmail('nobody')));
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const ratio = median(unknown) / median(known);
  // Without the dummy verification the ratio is below 0.1; the wide band absorbs a busy CI machine.
  assert.ok(ratio > 0.4 && ratio < 2.5, `unknown/known median time ratio ${ratio.toFixed(2)} (${median(unknown).toFixed(1)} vs ${median(known).toFixed(1)} ms)`);
});

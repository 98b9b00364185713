/**
 * core's `/metrics` after known traffic: RED per route template (a user id in the path never
 * becomes a label), login outcomes, pool and Redis saturation, process metrics.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseExposition, sampleValue } from '@linkport/common';
import { bearer, build, newUser, useFileDatabase } from './helper.ts';

useFileDatabase();

const login = (email: string, password: string) => ({
  method: 'POST' as const,
  url: '/v1/core/auth/login',
  headers: { 'x-forwarded-for': '203.0.113.9' },
  payload: { email, password },
});

void test('metrics count logins by outcome and requests by route template', async (t) => {
  const { app } = await build(t, { env: { LOGIN_MAX_FAILURES_PER_ACCOUNT: '2', LOGIN_MAX_FAILURES_PER_IP: '100' } });
  const a = await newUser(app);
  const b = await newUser(app);
  assert.equal((await app.inject(login(a.email, 'wrong-password'))).statusCode, 401);
  assert.equal((await app.inject(login(a.email, 'wrong-password'))).statusCode, 401);
  assert.equal((await app.inject(login(a.email, a.password))).statusCode, 429);
  assert.equal((await app.inject(login(b.email, b.password))).statusCode, 200);
  assert.equal((await app.inject({ ...login(b.email, b.password), payload: { email: 'nope' } })).statusCode, 400);
  for (let i = 0; i < 3; i++) assert.equal((await app.inject({ method: 'GET', url: '/v1/core/me', headers: bearer(b.access) })).statusCode, 200);
  assert.equal((await app.inject({ method: 'GET', url: '/v1/core/no-such-route' })).statusCode, 404);

  const res = await app.inject({ method: 'GET', url: '/metrics' });
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  const s = parseExposition(res.body);
  const logins = (outcome: string) => sampleValue(s, 'linkport_core_logins_total', { outcome });
  assert.deepEqual([logins('failed'), logins('throttled'), logins('success'), logins('rejected')], [2, 1, 1, 1]);

  const req = (labels: Record<string, string>) => sampleValue(s, 'http_server_request_duration_seconds_count', labels);
  assert.equal(req({ method: 'POST', route: '/v1/core/auth/register', status_code: '201' }), 2);
  assert.equal(req({ method: 'POST', route: '/v1/core/auth/login' }), 5);
  assert.equal(req({ method: 'GET', route: '/v1/core/me', status_code: '200' }), 3);
  assert.equal(req({ route: '', status_code: '404' }), 1, 'unmatched paths share one series');
  assert.ok(!s.some((x) => x.labels.route?.includes('no-such-route')));
  assert.equal(sampleValue(s, 'pg_pool_max_connections', { pool: 'core' }), 10);
  assert.ok(sampleValue(s, 'pg_pool_connections', { pool: 'core' }) >= 1);
  assert.equal(sampleValue(s, 'pg_pool_waiting_clients', { pool: 'core' }), 0);
  assert.ok(sampleValue(s, 'redis_command_duration_seconds_count', { client: 'core', outcome: 'ok' }) >= 1, 'the throttle used Redis');
  assert.ok(s.some((x) => x.name === 'nodejs_eventloop_lag_p99_seconds'));
});

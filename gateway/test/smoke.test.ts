import test from 'node:test';
import assert from 'node:assert/strict';
import { call, gateway, route, upstream } from './helper.ts';

void test('proxies with X-Forwarded-* and Traefik 404', async (t) => {
  const up = await upstream(t);
  const gw = await gateway(t, route(up.url, {}, [], 'PathPrefix(`/api`)'));
  const r = await call(`${gw.url}/api/x?y=1`, { headers: { 'X-Forwarded-For': '6.6.6.6' } });
  assert.equal(r.status, 200);
  assert.equal(r.body, 'upstream');
  const seen = up.seen[0]!;
  assert.equal(seen.url, '/api/x?y=1');
  assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
  assert.equal(seen.headers['x-real-ip'], '127.0.0.1');
  assert.equal(seen.headers['x-forwarded-proto'], 'http');
  assert.equal(seen.headers['x-forwarded-host'], `127.0.0.1:${gw.port}`);
  assert.equal(seen.headers['x-forwarded-port'], String(gw.port));
  assert.ok(seen.headers['x-forwarded-server']);
  const nf = await call(`${gw.url}/nope`);
  assert.equal(nf.status, 404);
  assert.equal(nf.body, '404 page not found\n');
  assert.equal(nf.headers['content-type'], 'text/plain; charset=utf-8');
  assert.equal(nf.headers['x-content-type-options'], 'nosniff');
});

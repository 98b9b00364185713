/**
 * Traefik-named metrics (src/metrics.ts) after known traffic through a real gateway: exact counts
 * per entrypoint, router and service, status code and method; an unmatched request counts on the
 * entrypoint only; a method outside the usual verbs (WebDAV's PROPFIND) is EXTENSION_METHOD. The
 * probe server serves them, never the public port.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { serveProbes, sampleValue, scrape } from '@linkport/common';
import { GatewayMetrics } from '../src/metrics.ts';
import { call, gateway, route, upstream } from './helper.ts';

void test('gateway metrics carry Traefik names and count exactly what was served', async (t) => {
  const up = await upstream(t, (req, res) => {
    res.statusCode = req.url === '/fail' ? 502 : 200;
    res.end('x');
  });
  const metrics = new GatewayMetrics();
  const { url } = await gateway(t, route(up.url, {}, [], 'PathPrefix(`/api`) || Path(`/fail`)'), {}, { metrics, entryPoint: 'web' });
  for (let i = 0; i < 3; i++) assert.equal((await call(`${url}/api/x${i}`)).status, 200);
  assert.equal((await call(`${url}/api/y`, { method: 'POST', body: 'b', headers: { 'content-length': '1' } })).status, 200);
  assert.equal((await call(`${url}/fail`)).status, 502);
  assert.equal((await call(`${url}/nowhere`)).status, 404);
  assert.equal((await call(`${url}/api/z`, { method: 'PROPFIND' })).status, 200);

  const probes = await serveProbes({ host: '127.0.0.1', port: 0, checks: [], metrics: () => metrics.render() });
  t.after(() => probes.close());
  const s = await scrape(`${probes.url}/metrics`);
  const ep = { entrypoint: 'web', protocol: 'http' };
  assert.equal(sampleValue(s, 'traefik_entrypoint_requests_total', { ...ep, code: '200', method: 'GET' }), 3);
  assert.equal(sampleValue(s, 'traefik_entrypoint_requests_total', { ...ep, code: '200', method: 'POST' }), 1);
  assert.equal(sampleValue(s, 'traefik_entrypoint_requests_total', { ...ep, code: '502' }), 1);
  assert.equal(sampleValue(s, 'traefik_entrypoint_requests_total', { ...ep, code: '404' }), 1);
  assert.equal(sampleValue(s, 'traefik_entrypoint_requests_total', { method: 'EXTENSION_METHOD' }), 1);
  assert.equal(sampleValue(s, 'traefik_entrypoint_requests_total'), 7);
  assert.equal(sampleValue(s, 'traefik_entrypoint_request_duration_seconds_count', ep), 7);
  // The 404 matched no router: entrypoint only.
  assert.equal(sampleValue(s, 'traefik_service_requests_total', { service: 's@file' }), 6);
  assert.equal(sampleValue(s, 'traefik_service_requests_total', { service: 's@file', code: '502', method: 'GET' }), 1);
  assert.equal(sampleValue(s, 'traefik_router_requests_total', { router: 'r@file', service: 's@file' }), 6);
  assert.equal(sampleValue(s, 'traefik_service_request_duration_seconds_bucket', { service: 's@file', le: '+Inf' }), 6);
  assert.equal(sampleValue(s, 'traefik_open_connections', ep), 0);
  assert.ok(s.some((x) => x.name === 'process_cpu_seconds_total'), 'process metrics are exposed');
  // Traefik's default buckets.
  const les = s.filter((x) => x.name === 'traefik_entrypoint_request_duration_seconds_bucket' && x.labels.code === '404').map((x) => x.labels.le);
  assert.deepEqual(les, ['0.1', '0.3', '1.2', '5', '+Inf']);
  // Not on the public entrypoint.
  assert.equal((await call(`${url}/metrics`)).status, 404);
});

void test('config reloads are counted', async (t) => {
  const up = await upstream(t);
  const metrics = new GatewayMetrics();
  await gateway(t, route(up.url, {}), {}, { metrics });
  metrics.reloaded();
  metrics.reloaded();
  const text = await metrics.render();
  assert.equal(sampleValue(text, 'traefik_config_reloads_total'), 2);
  assert.ok(Math.abs(sampleValue(text, 'traefik_config_last_reload_success') - Date.now() / 1000) < 5);
});

void test('request metrics: one series per label set across routers and entrypoints, buckets cumulative as prom-client writes them', async () => {
  const metrics = new GatewayMetrics({ buckets: [0.3, 0.1] });
  const base = { entryPoint: 'web', method: 'GET', protocol: 'http' as const, code: 200 };
  metrics.request({ ...base, router: 'a@file', service: 's@file', seconds: 0.05 });
  metrics.request({ ...base, router: 'b@file', service: 's@file', seconds: 0.2 });
  metrics.request({ ...base, router: 'b@file', service: 's@file', seconds: 2 });
  metrics.request({ ...base, entryPoint: 'websecure', router: 'a@file', service: 's@file', seconds: 0.1 });
  const text = await metrics.render();
  const lines = (name: string) => text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  // the entrypoint series does not split by router, the service one does not split by router or entrypoint
  assert.deepEqual(lines('traefik_entrypoint_requests_total'), [
    'traefik_entrypoint_requests_total{code="200",method="GET",protocol="http",entrypoint="web"} 3',
    'traefik_entrypoint_requests_total{code="200",method="GET",protocol="http",entrypoint="websecure"} 1',
  ]);
  assert.deepEqual(lines('traefik_service_requests_total'), ['traefik_service_requests_total{code="200",method="GET",protocol="http",service="s@file"} 4']);
  assert.equal(lines('traefik_router_requests_total').length, 2);
  assert.deepEqual(lines('traefik_service_request_duration_seconds_bucket'), [
    'traefik_service_request_duration_seconds_bucket{le="0.1",code="200",method="GET",protocol="http",service="s@file"} 2',
    'traefik_service_request_duration_seconds_bucket{le="0.3",code="200",method="GET",protocol="http",service="s@file"} 3',
    'traefik_service_request_duration_seconds_bucket{le="+Inf",code="200",method="GET",protocol="http",service="s@file"} 4',
  ]);
  assert.deepEqual(lines('traefik_service_request_duration_seconds_sum'), ['traefik_service_request_duration_seconds_sum{code="200",method="GET",protocol="http",service="s@file"} 2.35']);
  assert.deepEqual(lines('traefik_service_request_duration_seconds_count'), ['traefik_service_request_duration_seconds_count{code="200",method="GET",protocol="http",service="s@file"} 4']);
  assert.match(text, /# TYPE traefik_service_request_duration_seconds histogram/);
  assert.match(text, /# TYPE traefik_router_requests_total counter/);
  const json = await metrics.registry.getMetricsAsJSON();
  const hist = json.find((m) => m.name === 'traefik_entrypoint_request_duration_seconds');
  assert.ok(hist?.values.some((v) => v.labels.le === '+Inf' && v.labels.entrypoint === 'web' && v.value === 3));
});

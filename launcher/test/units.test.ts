import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveConfig } from '../src/config.ts';
import { services } from '../src/services.ts';
import { waves } from '../src/stack.ts';

void test('start order: core first, then what fetches its JWKS or calls its forwardAuth', () => {
  const order = waves(services).map((w) => w.map((s) => s.name).sort());
  assert.deepEqual(order, [['core', 'events', 'redirect', 'web', 'worker'], ['engine', 'gateway', 'media']]);
});

void test('dependencies on services that do not exist are ignored', () => {
  const gateway = services.find((s) => s.name === 'gateway')!;
  assert.deepEqual(waves([gateway]).map((w) => w.map((s) => s.name)), [['gateway']]);
});

void test('config: port overrides, HASURA_URL replaces the engine, data dir override', () => {
  const cfg = resolveConfig({ env: { GATEWAY_PORT: '9090', HASURA_URL: 'http://hasura:8080/', LINKPORT_DATA_DIR: '/tmp/x' } });
  assert.equal(cfg.publicBaseUrl, 'http://localhost:9090');
  assert.equal(cfg.corsOrigins, 'http://localhost:9090');
  assert.equal(cfg.hasuraUrl, 'http://hasura:8080');
  assert.equal(cfg.dataDir, '/tmp/x');
  assert.ok(!cfg.selected.some((s) => s.def.name === 'engine'));
  assert.throws(() => resolveConfig({ env: { CORE_PORT: 'abc' } }), /CORE_PORT=abc is not a port/);
});

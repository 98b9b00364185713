/**
 * Upstream's RESTified endpoint tests (server/tests-py/test_endpoints.py `TestCustomEndpoints`,
 * http), their YAML copied to ./upstream (its README says what was adapted), run by the
 * conformance runner against the engine.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { createTestDatabase } from '@linkport/devstack/testing';
import { buildApp } from '../../src/app.ts';
import { loadEngineConfig } from '../../src/config.ts';
import { runConformance } from '../../conformance/runner.ts';

void test('upstream REST endpoint suite passes', async (t) => {
  const db = await createTestDatabase({ migrated: false });
  t.after(() => db.drop());
  const app = await buildApp(loadEngineConfig({ HASURA_GRAPHQL_DATABASE_URL: db.adminUrl, LOG_LEVEL: 'silent', HASURA_GRAPHQL_ENABLE_CONSOLE: 'false' }));
  t.after(() => app.close());
  await app.listen({ host: '127.0.0.1', port: 0 });
  const lines: string[] = [];
  const report = await runConformance({
    url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
    suiteDir: path.join(import.meta.dirname, 'upstream'),
    log: (l) => lines.push(l),
  });
  t.diagnostic(`${report.passed} passed, ${report.failed} failed, ${report.skipped} skipped`);
  assert.deepEqual(lines.filter((l) => !l.startsWith('PASS')), []);
  assert.ok(report.passed >= 60, `${report.passed} passed`);
});

/**
 * Upstream's allow-list tests (server/tests-py/test_allowlist_queries.py, `TestAllowlistQueries`
 * over HTTP and WebSocket, `TestAllowlistMetadata.test_rename_query_collection`), their YAML
 * copied to ./upstream (see its README), run by the conformance runner against the engine with
 * HASURA_GRAPHQL_ENABLE_ALLOWLIST=true as upstream's `hge_env` mark sets it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { createTestDatabase } from '@linkport/devstack/testing';
import { buildApp } from '../../src/app.ts';
import { loadEngineConfig } from '../../src/config.ts';
import { runConformance } from '../../conformance/runner.ts';

void test('upstream allow-list suite passes over HTTP and WebSocket', async (t) => {
  const db = await createTestDatabase({ migrated: false });
  t.after(() => db.drop());
  const app = await buildApp(loadEngineConfig({ HASURA_GRAPHQL_DATABASE_URL: db.adminUrl, LOG_LEVEL: 'silent', HASURA_GRAPHQL_ENABLE_ALLOWLIST: 'true', HASURA_GRAPHQL_ENABLE_CONSOLE: 'false' }));
  t.after(() => app.close());
  await app.listen({ host: '127.0.0.1', port: 0 });
  const lines: string[] = [];
  const report = await runConformance({
    url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
    suiteDir: path.join(import.meta.dirname, 'upstream'),
    transports: ['http', 'websocket'],
    log: (l) => lines.push(l),
  });
  t.diagnostic(`${report.passed} passed, ${report.failed} failed, ${report.skipped} skipped`);
  assert.deepEqual(lines.filter((l) => !l.startsWith('PASS')), []);
  // 6 query tests × 2 transports × (as given, + admin role where the case sends no headers) + update_query (4) + rename (5).
  assert.ok(report.passed >= 20, `${report.passed} passed:\n${lines.join('\n')}`);
});

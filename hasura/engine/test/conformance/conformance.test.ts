/**
 * CI guard for the conformance runner and the engine together: a small fixed subset of Hasura's
 * own suite (docs/hasura-suite.md) that passes today must keep passing. The full run is
 * `npm run conformance -w @linkport/hasura-engine`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { runConformance } from '../../conformance/runner.ts';
import { defaultSuiteDir, suiteTestOptions } from '../../conformance/suite.ts';
import { startLocalEngine } from '../../conformance/local.ts';
import { compareBody } from '../../conformance/compare.ts';

const dirs = ['graphql_query/limits', 'graphql_query/offset', 'graphql_query/custom_schema', 'graphql_query/aggregations', 'graphql_query/boolexp/basic'];

void test('comparison follows validate.py: key order along the selection, numbers by value', () => {
  const q = '{ author { id name } }';
  assert.equal(compareBody({ data: { author: [{ id: 1, name: 'a' }] } }, { data: { author: [{ id: 1.0, name: 'a' }] } }, q).difference, undefined);
  assert.equal(compareBody({ data: { author: [{ id: 1, name: 'a' }] } }, { data: { author: [{ name: 'a', id: 1 }] } }, q).difference?.reason, 'key order');
  // Leaves (json values) and aliased selections compare without order.
  assert.equal(compareBody({ data: { a: [{ id: 1, name: 'a' }] } }, { data: { a: [{ name: 'a', id: 1 }] } }, '{ a: author { id name } }').difference, undefined);
  const err = compareBody({ errors: [{ message: 'x', extensions: { code: 'c', path: '$' } }] }, { errors: [{ message: 'y', extensions: { path: '$', code: 'c' } }] }, q);
  assert.equal(err.errorTextOnly, true);
});

void test('a fixed subset of the Hasura suite passes over HTTP and WebSocket', suiteTestOptions(), async (t) => {
  const engine = await startLocalEngine();
  t.after(() => engine.stop());
  const lines: string[] = [];
  const report = await runConformance({
    url: engine.url,
    suiteDir: defaultSuiteDir,
    dirs,
    missingExtensions: engine.missingExtensions,
    sqlRewrites: engine.sqlRewrites,
    // Subscriptions (live queries) are not served yet; the `subscription` transport waits for them.
    transports: ['http', 'websocket'],
    log: (l) => lines.push(l),
  });
  const failures = lines.filter((l) => l.startsWith('FAIL'));
  assert.deepEqual(failures, []);
  assert.ok(report.passed >= 148, `${report.passed} passed`);
});

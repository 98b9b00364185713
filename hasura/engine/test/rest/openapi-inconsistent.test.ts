/**
 * Upstream test_openapi.py `test_inconsistent_schema_openAPI`, which is Python rather than YAML
 * steps (so not in ./upstream/manifest.json): the openapi class' setup, then replace_metadata with
 * `allow_inconsistent_metadata` adding a collection whose query names fields the schema lacks and
 * an endpoint on it; the endpoint is reported inconsistent yet still listed by /api/swagger/json,
 * with the analysis' messages in the description — compared with
 * upstream/queries/openapi/openapi_inconsistent_schema.yaml by the conformance comparison.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import YAML from 'yaml';
import { createTestDatabase } from '@linkport/devstack/testing';
import { buildApp } from '../../src/app.ts';
import { loadEngineConfig } from '../../src/config.ts';
import { compareBody } from '../../conformance/compare.ts';

const DIR = path.join(import.meta.dirname, 'upstream/queries/openapi');

void test('an endpoint on an inconsistent collection query is listed with the analysis messages (upstream test_inconsistent_schema_openAPI)', async (t) => {
  const db = await createTestDatabase({ migrated: false });
  t.after(() => db.drop());
  const app = await buildApp(loadEngineConfig({ HASURA_GRAPHQL_DATABASE_URL: db.adminUrl, LOG_LEVEL: 'silent', HASURA_GRAPHQL_ENABLE_CONSOLE: 'false' }));
  t.after(() => app.close());
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const post = async (url: string, body: unknown) => {
    const r = await fetch(base + url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: r.status, body: await r.json() as Record<string, unknown> };
  };
  const setup = await post('/v1/query', YAML.parse(fs.readFileSync(path.join(DIR, 'setup.yaml'), 'utf8')));
  assert.equal(setup.status, 200, JSON.stringify(setup.body));

  const exported = await post('/v1/query', { type: 'export_metadata', args: {} });
  const metadata = {
    ...exported.body,
    query_collections: [{ name: 'wrong_queries', definition: { queries: [{ name: 'random_query', query: 'query { random_field_name test_table { random_col_name } }' }] } }],
    rest_endpoints: [{ definition: { query: { collection_name: 'wrong_queries', query_name: 'random_query' } }, url: 'some_url', methods: ['GET'], name: 'wrong_endpoint', comment: null }],
  };
  const replaced = await post('/v1/query', { type: 'replace_metadata', version: 2, args: { allow_inconsistent_metadata: true, metadata } });
  assert.equal(replaced.status, 200, JSON.stringify(replaced.body));
  const incons = await post('/v1/metadata', { type: 'get_inconsistent_metadata', args: {} });
  assert.equal(incons.body.is_consistent, false);
  const reasons = (incons.body.inconsistent_objects as Array<{ type: string; reason: string }>).map((o) => [o.type, o.reason]);
  assert.deepEqual(reasons, [['query_collections',
    'Inconsistent object: In query collection "wrong_queries" the query "random_query" is invalid with the following error(s): ' +
    '"$.test_table.random_col_name: field \'random_col_name\' not found in object \'test_table\'", "$.random_field_name: field \'random_field_name\' not found in object \'query_root\'". ' +
    'This query is being used in the following REST endpoint(s): "wrong_endpoint"']]);

  const [step] = YAML.parse(fs.readFileSync(path.join(DIR, 'openapi_inconsistent_schema.yaml'), 'utf8')) as Array<{ status: number; response: unknown }>;
  const res = await fetch(`${base}/api/swagger/json`);
  assert.equal(res.status, step!.status);
  const { difference } = compareBody(step!.response, await res.json(), undefined);
  assert.equal(difference, undefined, JSON.stringify(difference));
});

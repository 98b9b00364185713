import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { OPENAPI_FILE, openApiDocument } from '../src/openapi.ts';
import { build, useFileDatabase } from './helper.ts';

useFileDatabase();

interface Doc {
  openapi: string;
  paths: Record<string, Record<string, { responses?: Record<string, unknown> }>>;
}

void test('the committed openapi.json matches the routes (run `npm run openapi -w @linkport/core-service`)', async () => {
  const generated = await openApiDocument();
  const committed = fs.readFileSync(OPENAPI_FILE, 'utf8');
  assert.ok(committed === generated, 'core-service/openapi.json is stale: run `npm run openapi -w @linkport/core-service` and commit it');
});

void test('served at /v1/core/openapi.json, every route documents a 2xx response, no password_hash anywhere', async (t) => {
  const { app } = await build(t);
  const res = await app.inject({ method: 'GET', url: '/v1/core/openapi.json' });
  assert.equal(res.statusCode, 200);
  const doc = res.json<Doc>();
  assert.match(doc.openapi, /^3\./);
  assert.deepEqual(Object.keys(doc.paths).sort(), [
    '/v1/core/.well-known/jwks.json',
    '/v1/core/api-keys',
    '/v1/core/api-keys/{id}',
    '/v1/core/auth/login',
    '/v1/core/auth/logout',
    '/v1/core/auth/refresh',
    '/v1/core/auth/register',
    '/v1/core/auth/verify',
    '/v1/core/me',
    '/v1/core/me/password',
    '/v1/core/transfer/exports',
    '/v1/core/transfer/imports',
    '/v1/core/transfer/jobs',
    '/v1/core/transfer/jobs/{id}',
    '/v1/core/transfer/jobs/{id}/download',
    '/v1/core/transfer/jobs/{id}/problems',
  ]);
  for (const [p, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      assert.ok(Object.keys(op.responses ?? {}).some((c) => c.startsWith('2')), `${method} ${p} has no 2xx response schema`);
    }
  }
  assert.ok(!res.body.includes('password_hash'));
  assert.deepEqual(JSON.parse(fs.readFileSync(OPENAPI_FILE, 'utf8')), doc, 'the served document is the committed one');

  const ui = await app.inject({ method: 'GET', url: '/v1/core/docs/' });
  assert.equal(ui.statusCode, 200);
  assert.match(ui.body, /swagger/i);
});

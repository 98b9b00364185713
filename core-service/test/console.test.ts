import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Fastify from 'fastify';
import { consoleRoutes, defaultConsolePath } from '../src/modules/console/console.routes.ts';
import { build, useFileDatabase } from './helper.ts';

useFileDatabase();

void test('GET /v1/core/console serves the links GraphiQL page, which only speaks /v1/links/graphql', async (t) => {
  const { app } = await build(t);
  const res = await app.inject({ method: 'GET', url: '/v1/core/console' });
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /^text\/html/);
  assert.equal(res.body, fs.readFileSync(defaultConsolePath, 'utf8'));
  assert.match(res.body, /\/v1\/links\/graphql/);
  assert.doesNotMatch(res.body, /\/v1\/metadata|\/v2\/query|admin-secret/i, 'the page never touches admin APIs');
});

void test('a checkout without the page answers 404 with the error shape', async (t) => {
  const app = Fastify();
  t.after(() => app.close());
  await app.register(consoleRoutes, { prefix: '/v1/core', file: path.join(os.tmpdir(), 'no-such-console.html') });
  const res = await app.inject({ method: 'GET', url: '/v1/core/console' });
  assert.equal(res.statusCode, 404);
  assert.equal(res.json<{ error: { code: string } }>().error.code, 'NOT_FOUND');
});

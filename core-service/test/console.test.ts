import { test } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { build, useFileDatabase } from './helper.ts';

useFileDatabase();

void test('GET /v1/core/console serves the links GraphiQL page, self-contained (no CDN), which only speaks /v1/links/graphql', async (t) => {
  const { app } = await build(t);
  const res = await app.inject({ method: 'GET', url: '/v1/core/console' });
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /^text\/html/);
  assert.match(res.body, /\/v1\/links\/graphql/);
  // Everything the page runs is inlined from the npm packages: no script or stylesheet from elsewhere.
  assert.doesNotMatch(res.body, /<script[^>]+src=|<link[^>]+stylesheet/i);
  assert.match(res.body, /<script>[\s\S]*React[\s\S]*<\/script>/);
  assert.match(res.body, /GraphiQL/);
  assert.doesNotMatch(res.body, /<!-- (graphiql\.css|scripts) -->/, 'both markers replaced');
  assert.doesNotMatch(res.body, /\/v1\/metadata|\/v2\/query|x-hasura-admin-secret/i, 'the page never touches admin APIs');
});

void test('the console is gzipped when accepted and revalidates with its ETag', async (t) => {
  const { app } = await build(t);
  const plain = await app.inject({ method: 'GET', url: '/v1/core/console' });
  const gz = await app.inject({ method: 'GET', url: '/v1/core/console', headers: { 'accept-encoding': 'gzip, br' } });
  assert.equal(gz.headers['content-encoding'], 'gzip');
  assert.ok(gz.rawPayload.length < plain.rawPayload.length / 2);
  assert.equal(zlib.gunzipSync(gz.rawPayload).toString('utf8'), plain.body);
  const etag = String(plain.headers.etag);
  const again = await app.inject({ method: 'GET', url: '/v1/core/console', headers: { 'if-none-match': etag } });
  assert.equal(again.statusCode, 304);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Writable } from 'node:stream';
import { build, createUpload, pngOfSize, put } from './helper.ts';
import { openapiFile, renderOpenapi } from '../scripts/openapi.ts';

void test('the committed openapi.json matches the routes (regenerate: npm run openapi -w @linkport/media-service)', async (t) => {
  const rendered = await renderOpenapi();
  assert.equal(fs.readFileSync(openapiFile, 'utf8'), rendered, 'media-service/openapi.json is stale');
  const h = await build(t);
  const served = await h.app.inject({ method: 'GET', url: '/v1/media/openapi.json' });
  assert.equal(served.statusCode, 200);
  const doc = served.json();
  for (const p of ['/v1/media/uploads', '/v1/media/uploads/{id}/parts', '/v1/media/uploads/{id}/complete', '/v1/media/uploads/{id}/abort', '/v1/media/assets', '/v1/media/assets/{id}', '/v1/media/assets/{id}/download']) {
    assert.ok(doc.paths[p], p);
  }
  assert.deepEqual(doc.paths, JSON.parse(rendered).paths);
  const docs = await h.app.inject({ method: 'GET', url: '/v1/media/docs/' });
  assert.equal(docs.statusCode, 200);
  assert.match(docs.body, /swagger/i);
});

void test('health: live always, ready checks the database and the bucket', async (t) => {
  const h = await build(t);
  assert.equal((await h.app.inject({ method: 'GET', url: '/health/live' })).statusCode, 200);
  const ready = await h.app.inject({ method: 'GET', url: '/health/ready' });
  assert.equal(ready.statusCode, 200, ready.body);
  assert.deepEqual(ready.json().checks, { database: 'ok', storage: 'ok' });
  assert.equal((await h.app.inject({ method: 'GET', url: '/v1/media/health/ready' })).statusCode, 200, 'the gateway-facing path');
  assert.equal((await h.app.inject({ method: 'GET', url: '/v1/media/health/live' })).statusCode, 200);

  const broken = await build(t, { S3_BUCKET: 'no-such-bucket' });
  const res = await broken.app.inject({ method: 'GET', url: '/health/ready' });
  assert.equal(res.statusCode, 503);
  assert.deepEqual(res.json().checks, { database: 'ok', storage: 'failing' });
});

void test('every state change is logged with the asset id, and no presigned signature reaches the logs', async (t) => {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  const h = await build(t, { LOG_LEVEL: 'info' }, { logStream: stream });
  const user = await h.newUser();
  const up = await createUpload(h, user.auth, { filename: 'l.png', contentType: 'image/png', size: 64, visibility: 'private' });
  assert.ok(up.upload);
  assert.equal((await put(up.upload.url, up.upload.headers, pngOfSize(64))).status, 200);
  await h.app.inject({ method: 'POST', url: `/v1/media/uploads/${up.id}/complete`, headers: user.auth });
  const dl = await h.app.inject({ method: 'GET', url: `/v1/media/assets/${up.id}/download`, headers: user.auth });
  // A presigned URL pasted into a request line is logged without its credential.
  const signed = new URL(dl.headers.location as string);
  await h.app.inject({ method: 'GET', url: `/v1/media/nope${signed.search}`, headers: user.auth });
  await h.app.inject({ method: 'DELETE', url: `/v1/media/assets/${up.id}`, headers: user.auth });

  const events = lines.map((l) => JSON.parse(l) as { assetId?: string; status?: string; msg: string });
  const states = events.filter((e) => e.assetId === up.id).map((e) => e.status);
  assert.deepEqual(states, ['pending', 'ready', 'deleting', 'deleted']);
  const all = lines.join('\n');
  assert.ok(all.includes('X-Amz-Signature=[redacted]'), 'the request url was logged, redacted');
  assert.ok(!all.includes(signed.searchParams.get('X-Amz-Signature') ?? 'missing'), 'no signature in logs');
  assert.ok(!all.includes(user.token), 'no bearer token in logs');
});

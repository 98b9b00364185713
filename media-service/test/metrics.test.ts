/** media's `/metrics` after known traffic: presigned URLs by kind, RED per route template, pool. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseExposition, sampleValue } from '@linkport/common';
import { build, createUpload, pngOfSize, put } from './helper.ts';

void test('presigns issued are counted by kind; requests by route template', async (t) => {
  const h = await build(t);
  const user = await h.newUser();
  const body = pngOfSize(500);
  const ids: string[] = [];
  for (let i = 0; i < 2; i++) {
    const up = await createUpload(h, user.auth, { filename: `f${i}.png`, contentType: 'image/png', size: body.length, visibility: 'private' });
    assert.equal((await put(up.upload!.url, up.upload!.headers, body)).status, 200);
    assert.equal((await h.app.inject({ method: 'POST', url: `/v1/media/uploads/${up.id}/complete`, headers: user.auth })).statusCode, 200);
    ids.push(up.id);
  }
  assert.equal((await h.app.inject({ method: 'GET', url: `/v1/media/assets/${ids[0]}/download`, headers: user.auth })).statusCode, 302);
  // Refused: not a presign.
  assert.equal((await h.app.inject({ method: 'POST', url: '/v1/media/uploads', headers: user.auth, payload: { filename: 'x.exe' } })).statusCode, 400);

  const res = await h.app.inject({ method: 'GET', url: '/metrics' });
  assert.equal(res.statusCode, 200);
  const s = parseExposition(res.body);
  assert.equal(sampleValue(s, 'linkport_media_presigns_total', { kind: 'upload' }), 2);
  assert.equal(sampleValue(s, 'linkport_media_presigns_total', { kind: 'download' }), 1);
  assert.equal(sampleValue(s, 'linkport_media_presigns_total', { kind: 'part' }), 0);
  assert.equal(sampleValue(s, 'http_server_request_duration_seconds_count', { method: 'POST', route: '/v1/media/uploads/:id/complete', status_code: '200' }), 2);
  assert.equal(sampleValue(s, 'http_server_request_duration_seconds_count', { method: 'POST', route: '/v1/media/uploads', status_code: '400' }), 1);
  assert.ok(!s.some((x) => ids.some((id) => x.labels.route?.includes(id))), 'no asset id in a label');
  assert.ok(s.some((x) => x.name === 'pg_pool_max_connections' && x.labels.pool === 'media'));
});

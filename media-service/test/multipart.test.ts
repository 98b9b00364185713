import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HeadObjectCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { build, createUpload, put } from './helper.ts';

const MiB = 1024 * 1024;

/** An MP4-looking body: an ISO BMFF `ftyp` box (isom brand) then filler. */
function mp4(size: number): Buffer {
  const b = Buffer.alloc(size, 0x2a);
  Buffer.from('00000018667479706973736f6d0000020069736f6d69736f32', 'hex').copy(b);
  b.write('ftypisom', 4, 'latin1');
  return b;
}

void test('multipart end to end: equal presigned parts via fetch, complete with ETags, HeadObject size', async (t) => {
  const h = await build(t, { MEDIA_MULTIPART_PART_SIZE_BYTES: '5MiB' });
  const user = await h.newUser();
  const body = mp4(11 * MiB + 123);
  const up = await createUpload(h, user.auth, { filename: 'clip.mp4', contentType: 'video/mp4', size: body.length, visibility: 'private', multipart: true });
  assert.equal(up.mode, 'multipart');
  assert.equal(up.upload, null);
  assert.deepEqual(up.multipart, { partSize: 5 * MiB, partCount: 3 });

  const partsRes = await h.app.inject({ method: 'POST', url: `/v1/media/uploads/${up.id}/parts`, headers: user.auth, payload: {} });
  assert.equal(partsRes.statusCode, 200, partsRes.body);
  const { parts } = partsRes.json<{ parts: Array<{ partNumber: number; url: string; size: number; headers: Record<string, string> }> }>();
  assert.deepEqual(parts.map((p) => [p.partNumber, p.size]), [[1, 5 * MiB], [2, 5 * MiB], [3, MiB + 123]]);
  for (const p of parts) assert.equal(new URL(p.url).searchParams.get('X-Amz-SignedHeaders'), 'content-length;host');

  // A part of the wrong length is refused by storage (the signed content-length pins equal sizes).
  const first = parts[0];
  assert.ok(first);
  assert.equal((await put(first.url, first.headers, body.subarray(0, 5 * MiB - 1))).status, 403);

  const etags: Array<{ partNumber: number; etag: string }> = [];
  for (const p of parts) {
    const start = (p.partNumber - 1) * 5 * MiB;
    const res = await put(p.url, p.headers, body.subarray(start, start + p.size));
    assert.equal(res.status, 200, await res.text());
    const etag = res.headers.get('etag');
    assert.ok(etag);
    etags.push({ partNumber: p.partNumber, etag });
  }

  // A full 10 000-part list fits the complete route's body limit (validated, then refused as wrong).
  const huge = Array.from({ length: 10_000 }, (_, i) => ({ partNumber: i + 1, etag: '"0123456789abcdef0123456789abcdef"' }));
  const tooMany = await h.app.inject({ method: 'POST', url: `/v1/media/uploads/${up.id}/complete`, headers: user.auth, payload: { parts: huge } });
  assert.equal(tooMany.statusCode, 400, tooMany.body);
  assert.equal(tooMany.json().error.code, 'PARTS_REQUIRED');

  const missing = await h.app.inject({ method: 'POST', url: `/v1/media/uploads/${up.id}/complete`, headers: user.auth, payload: { parts: etags.slice(0, 2) } });
  assert.equal(missing.statusCode, 400);
  assert.equal(missing.json().error.code, 'PARTS_REQUIRED');

  const done = await h.app.inject({ method: 'POST', url: `/v1/media/uploads/${up.id}/complete`, headers: user.auth, payload: { parts: etags.reverse() } });
  assert.equal(done.statusCode, 200, done.body);
  assert.equal(done.json().status, 'ready');

  const head = await h.media().storage.client.send(new HeadObjectCommand({ Bucket: h.config.S3_BUCKET, Key: `private/${user.id}/${up.id}/clip.mp4` }));
  assert.equal(head.ContentLength, body.length);
  assert.equal(head.ContentType, 'video/mp4');
  const { rows } = await h.admin.query('SELECT count(*)::int AS n FROM media.upload_sessions');
  assert.equal(rows[0].n, 0);
});

void test('multipart abort aborts the storage upload and is idempotent', async (t) => {
  const h = await build(t, { MEDIA_MULTIPART_PART_SIZE_BYTES: '5MiB', MEDIA_MULTIPART_THRESHOLD_BYTES: '6MiB' });
  const user = await h.newUser();
  const up = await createUpload(h, user.auth, { filename: 'big.mp4', contentType: 'video/mp4', size: 7 * MiB, visibility: 'public' });
  assert.equal(up.mode, 'multipart', 'chosen by size above MEDIA_MULTIPART_THRESHOLD_BYTES');
  const listUploads = () => h.media().storage.client.send(new ListMultipartUploadsCommand({ Bucket: h.config.S3_BUCKET }));
  const before = await listUploads().catch(() => undefined);
  for (let i = 0; i < 2; i++) {
    const res = await h.app.inject({ method: 'POST', url: `/v1/media/uploads/${up.id}/abort`, headers: user.auth });
    assert.equal(res.statusCode, 204, res.body);
  }
  if (before) assert.equal((await listUploads()).Uploads?.length ?? 0, 0);
  const parts = await h.app.inject({ method: 'POST', url: `/v1/media/uploads/${up.id}/parts`, headers: user.auth, payload: {} });
  assert.equal(parts.statusCode, 404);
  const { rows } = await h.admin.query('SELECT status FROM media.assets WHERE id = $1', [up.id]);
  assert.equal(rows[0].status, 'deleted');
});

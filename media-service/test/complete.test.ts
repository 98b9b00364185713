import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { build, createUpload, pngOfSize, put, type Harness } from './helper.ts';

async function objectExists(h: Harness, key: string): Promise<boolean> {
  try {
    await h.media().storage.client.send(new HeadObjectCommand({ Bucket: h.config.S3_BUCKET, Key: key }));
    return true;
  } catch {
    return false;
  }
}

void test('complete rejects a size mismatch, a type mismatch and wrong leading bytes, deleting the object', async (t) => {
  const h = await build(t);
  const user = await h.newUser();
  const client = h.media().storage.client;
  const complete = (id: string) => h.app.inject({ method: 'POST', url: `/v1/media/uploads/${id}/complete`, headers: user.auth });

  // Storage holding other bytes than promised (a store that does not check signatures, or a writer
  // with bucket credentials) — written straight with the SDK.
  const sized = await createUpload(h, user.auth, { filename: 's.png', contentType: 'image/png', size: 100, visibility: 'private' });
  const sizedKey = `private/${user.id}/${sized.id}/s.png`;
  await client.send(new PutObjectCommand({ Bucket: h.config.S3_BUCKET, Key: sizedKey, Body: pngOfSize(90), ContentType: 'image/png' }));
  let res = await complete(sized.id);
  assert.equal(res.statusCode, 422);
  assert.equal(res.json().error.code, 'SIZE_MISMATCH');
  assert.deepEqual(res.json().error.details, { expected: 100, actual: 90 });
  assert.equal(await objectExists(h, sizedKey), false);

  const typed = await createUpload(h, user.auth, { filename: 't.png', contentType: 'image/png', size: 100, visibility: 'private' });
  const typedKey = `private/${user.id}/${typed.id}/t.png`;
  await client.send(new PutObjectCommand({ Bucket: h.config.S3_BUCKET, Key: typedKey, Body: pngOfSize(100), ContentType: 'text/html' }));
  res = await complete(typed.id);
  assert.equal(res.statusCode, 422);
  assert.equal(res.json().error.code, 'CONTENT_TYPE_MISMATCH');
  assert.equal(await objectExists(h, typedKey), false);

  // Through the presigned URL: right type and size, but HTML bytes declared as PNG.
  const html = Buffer.from('<html><script>alert(1)</script></html>'.padEnd(100, ' '));
  const sniffed = await createUpload(h, user.auth, { filename: 'x.png', contentType: 'image/png', size: html.length, visibility: 'public' });
  assert.ok(sniffed.upload);
  assert.equal((await put(sniffed.upload.url, sniffed.upload.headers, html)).status, 200);
  res = await complete(sniffed.id);
  assert.equal(res.statusCode, 422);
  assert.equal(res.json().error.code, 'CONTENT_MISMATCH');
  assert.equal(await objectExists(h, `public/${user.id}/${sniffed.id}/x.png`), false);

  // Rejected assets are failed, no longer count against the quota, and cannot be completed again.
  const { rows } = await h.admin.query('SELECT status FROM media.assets WHERE id = ANY($1) ORDER BY status', [[sized.id, typed.id, sniffed.id]]);
  assert.deepEqual(rows.map((r) => r.status), ['failed', 'failed', 'failed']);
  res = await complete(sniffed.id);
  assert.equal(res.statusCode, 409);
  assert.equal(res.json().error.code, 'UPLOAD_NOT_PENDING');
});

void test('complete before the upload answers 409 and leaves the upload pending', async (t) => {
  const h = await build(t);
  const user = await h.newUser();
  const up = await createUpload(h, user.auth, { filename: 'later.png', contentType: 'image/png', size: 64, visibility: 'private' });
  const res = await h.app.inject({ method: 'POST', url: `/v1/media/uploads/${up.id}/complete`, headers: user.auth });
  assert.equal(res.statusCode, 409);
  assert.equal(res.json().error.code, 'OBJECT_NOT_FOUND');
  assert.ok(up.upload);
  assert.equal((await put(up.upload.url, up.upload.headers, pngOfSize(64))).status, 200);
  const ok = await h.app.inject({ method: 'POST', url: `/v1/media/uploads/${up.id}/complete`, headers: user.auth });
  assert.equal(ok.statusCode, 200);
});

void test('a signed checksum header is part of the presigned PUT', async (t) => {
  const h = await build(t);
  const user = await h.newUser();
  const body = pngOfSize(256);
  const { createHash } = await import('node:crypto');
  const checksum = createHash('sha256').update(body).digest('base64');
  const up = await createUpload(h, user.auth, { filename: 'c.png', contentType: 'image/png', size: 256, visibility: 'private', checksum });
  assert.ok(up.upload);
  assert.equal(up.upload.headers['x-amz-checksum-sha256'], checksum);
  assert.match(new URL(up.upload.url).searchParams.get('X-Amz-SignedHeaders') ?? '', /x-amz-checksum-sha256/);
  const withoutHeader = { ...up.upload.headers };
  delete withoutHeader['x-amz-checksum-sha256'];
  assert.equal((await put(up.upload.url, withoutHeader, body)).status, 403);
  assert.equal((await put(up.upload.url, up.upload.headers, body)).status, 200);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { build, createUpload, pngOfSize, put, type Harness } from './helper.ts';

/**
 * A ready asset whose object is replaced behind media's back — with valid bucket credentials, the
 * one way left once the local S3 refuses anonymous writes — is quarantined and no longer served.
 */

async function readyAsset(h: Harness, auth: { authorization: string }, name: string, visibility: 'public' | 'private', size = 300) {
  const up = await createUpload(h, auth, { filename: name, contentType: 'image/png', size, visibility });
  assert.ok(up.upload);
  assert.equal((await put(up.upload.url, up.upload.headers, pngOfSize(size))).status, 200);
  const done = await h.app.inject({ method: 'POST', url: `/v1/media/uploads/${up.id}/complete`, headers: auth });
  assert.equal(done.statusCode, 200, done.body);
  return up.id;
}

const keyOf = (visibility: string, userId: string, id: string, name: string) => `${visibility}/${userId}/${id}/${name}`;

void test('a private object replaced with HTML after complete: the next read quarantines the asset, no URL, download 409', async (t) => {
  const h = await build(t);
  const user = await h.newUser();
  const id = await readyAsset(h, user.auth, 'cat.png', 'private');
  const { rows: before } = await h.admin.query('SELECT etag, verified_at FROM media.assets WHERE id = $1', [id]);
  assert.match(before[0].etag, /^"[0-9a-f]{32}"$/);
  assert.ok(before[0].verified_at instanceof Date, 'complete records when the object was verified');

  const fine = await h.app.inject({ method: 'GET', url: `/v1/media/assets/${id}`, headers: user.auth });
  assert.equal(fine.json().status, 'ready');
  assert.match(fine.json().url, /X-Amz-Signature=/);

  await h.media().storage.client.send(
    new PutObjectCommand({ Bucket: h.config.S3_BUCKET, Key: keyOf('private', user.id, id, 'cat.png'), Body: '<script>alert(1)</script>', ContentType: 'text/html' }),
  );
  const res = await h.app.inject({ method: 'GET', url: `/v1/media/assets/${id}`, headers: user.auth });
  assert.equal(res.statusCode, 200);
  assert.equal(res.json().status, 'quarantined');
  assert.equal(res.json().url, null);
  const dl = await h.app.inject({ method: 'GET', url: `/v1/media/assets/${id}/download`, headers: user.auth });
  assert.equal(dl.statusCode, 409);
  assert.equal(dl.json().error.code, 'ASSET_QUARANTINED');
  assert.equal(dl.headers.location, undefined);

  const { rows } = await h.admin.query('SELECT status, quarantine FROM media.assets WHERE id = $1', [id]);
  assert.equal(rows[0].status, 'quarantined');
  assert.equal(rows[0].quarantine.reason, 'etag');
  assert.equal(rows[0].quarantine.expected.size, 300);
  assert.equal(rows[0].quarantine.actual.contentType, 'text/html');
  // Listed as quarantined; the owner can still delete it.
  const list = await h.app.inject({ method: 'GET', url: '/v1/media/assets?status=quarantined', headers: user.auth });
  assert.deepEqual(
    list.json().items.map((a: { id: string }) => a.id),
    [id],
  );
  const del = await h.app.inject({ method: 'DELETE', url: `/v1/media/assets/${id}`, headers: user.auth });
  assert.equal(del.statusCode, 204);
});

void test('the periodic verifier quarantines a swapped public object (same size and type, other bytes) and removes it from the public prefix', async (t) => {
  const h = await build(t);
  const user = await h.newUser();
  const swapped = await readyAsset(h, user.auth, 'a.png', 'public');
  const untouched = await readyAsset(h, user.auth, 'b.png', 'public');
  const gone = await readyAsset(h, user.auth, 'c.png', 'private');
  const swappedKey = keyOf('public', user.id, swapped, 'a.png');
  const other = pngOfSize(300);
  other[299] = 1;
  await h.media().storage.client.send(new PutObjectCommand({ Bucket: h.config.S3_BUCKET, Key: swappedKey, Body: other, ContentType: 'image/png' }));
  await h.media().storage.client.send(new DeleteObjectCommand({ Bucket: h.config.S3_BUCKET, Key: keyOf('private', user.id, gone, 'c.png') }));
  // The public object is what anyone fetches from the bucket without asking media.
  const publicUrl = `${h.s3.endpoint}/${h.config.S3_BUCKET}/${swappedKey}`;
  assert.equal((await fetch(publicUrl)).status, 200);

  // Verified at complete: nothing is due until the interval passes.
  assert.deepEqual(await h.media().verifyStored(), { checked: 0, quarantined: 0, failed: 0 });
  assert.deepEqual(await h.media().verifyStored({ staleSeconds: 0 }), { checked: 3, quarantined: 2, failed: 0 });

  const { rows } = await h.admin.query("SELECT id, status, quarantine->>'reason' AS reason FROM media.assets ORDER BY filename");
  assert.deepEqual(
    rows.map((r) => [r.id, r.status, r.reason]),
    [
      [swapped, 'quarantined', 'etag'],
      [untouched, 'ready', null],
      [gone, 'quarantined', 'missing'],
    ],
  );
  assert.equal((await fetch(publicUrl)).status, 404, 'the swapped public object is no longer served');
  const ok = await fetch(`${h.s3.endpoint}/${h.config.S3_BUCKET}/${keyOf('public', user.id, untouched, 'b.png')}`);
  assert.equal(ok.status, 200);
  const view = await h.app.inject({ method: 'GET', url: `/v1/media/assets/${swapped}`, headers: user.auth });
  assert.equal(view.json().status, 'quarantined');
  assert.equal(view.json().url, null);
});

void test('storage down while re-checking: 503, not a URL for an unchecked object', async (t) => {
  const h = await build(t);
  const user = await h.newUser();
  const id = await readyAsset(h, user.auth, 'd.png', 'private');
  await h.s3.stop();
  const res = await h.app.inject({ method: 'GET', url: `/v1/media/assets/${id}/download`, headers: user.auth });
  assert.equal(res.statusCode, 503);
  assert.equal(res.json().error.code, 'STORAGE_UNAVAILABLE');
  const { rows } = await h.admin.query('SELECT status FROM media.assets WHERE id = $1', [id]);
  assert.equal(rows[0].status, 'ready');
});

void test('the issue 11 attack on a ready asset: an unsigned PUT is refused and the presigned URL replayed gets 412; the asset stays ready', async (t) => {
  const h = await build(t);
  const user = await h.newUser();
  const up = await createUpload(h, user.auth, { filename: 'p.png', contentType: 'image/png', size: 300, visibility: 'public' });
  assert.ok(up.upload);
  assert.equal((await put(up.upload.url, up.upload.headers, pngOfSize(300))).status, 200);
  assert.equal((await h.app.inject({ method: 'POST', url: `/v1/media/uploads/${up.id}/complete`, headers: user.auth })).statusCode, 200);
  const html = Buffer.from('<html><script>alert(1)</script></html>'.padEnd(300, ' '));
  const objectUrl = up.upload.url.split('?')[0] ?? '';
  const anonymous = await fetch(objectUrl, { method: 'PUT', headers: { 'content-type': 'text/html' }, body: html });
  assert.equal(anonymous.status, 403);
  const replay = await put(up.upload.url, up.upload.headers, html);
  assert.equal(replay.status, 412);
  const view = await h.app.inject({ method: 'GET', url: `/v1/media/assets/${up.id}`, headers: user.auth });
  assert.equal(view.json().status, 'ready');
  const served = await fetch(`${h.s3.endpoint}/${h.config.S3_BUCKET}/${keyOf('public', user.id, up.id, 'p.png')}`);
  assert.equal(served.headers.get('content-type'), 'image/png');
  assert.deepEqual(Buffer.from(await served.arrayBuffer()), pngOfSize(300));
});

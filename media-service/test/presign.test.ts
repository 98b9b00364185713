import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { build, createUpload, pngOfSize, put } from './helper.ts';

void test('a presigned PUT succeeds with the promised headers and complete marks the asset ready', async (t) => {
  const h = await build(t);
  const user = await h.newUser();
  const body = pngOfSize(1000);
  const up = await createUpload(h, user.auth, { filename: 'cat.png', contentType: 'image/png', size: body.length, visibility: 'private' });
  assert.equal(up.mode, 'single');
  assert.ok(up.upload);
  assert.deepEqual(up.upload.headers, { 'content-type': 'image/png', 'content-length': '1000', 'if-none-match': '*' });
  const signed = new URL(up.upload.url).searchParams.get('X-Amz-SignedHeaders');
  assert.equal(signed, 'content-length;content-type;host;if-none-match');
  // No default flexible-checksum params (docs/research/storage.md §3 "SDK gotcha").
  assert.equal(new URL(up.upload.url).searchParams.get('x-amz-checksum-crc32'), null);
  const expires = Number(new URL(up.upload.url).searchParams.get('X-Amz-Expires'));
  assert.ok(expires <= 600 && expires > 0);
  assert.ok(Date.parse(up.upload.expiresAt) - Date.now() <= 600_000);

  const res = await put(up.upload.url, up.upload.headers, body);
  assert.equal(res.status, 200, await res.text());

  const done = await h.app.inject({ method: 'POST', url: `/v1/media/uploads/${up.id}/complete`, headers: user.auth });
  assert.equal(done.statusCode, 200, done.body);
  assert.equal(done.json().status, 'ready');
  const again = await h.app.inject({ method: 'POST', url: `/v1/media/uploads/${up.id}/complete`, headers: user.auth });
  assert.equal(again.statusCode, 200);

  const asset = await h.app.inject({ method: 'GET', url: `/v1/media/assets/${up.id}`, headers: user.auth });
  assert.equal(asset.statusCode, 200);
  const { url } = asset.json<{ url: string }>();
  const got = await fetch(url);
  assert.equal(got.status, 200);
  assert.match(got.headers.get('content-disposition') ?? '', /^inline; filename="cat.png"/);
  assert.deepEqual(Buffer.from(await got.arrayBuffer()), body);

  const dl = await h.app.inject({ method: 'GET', url: `/v1/media/assets/${up.id}/download`, headers: user.auth });
  assert.equal(dl.statusCode, 302);
  const viaRedirect = await fetch(dl.headers.location as string);
  assert.equal(viaRedirect.status, 200);
  assert.match(viaRedirect.headers.get('content-disposition') ?? '', /^attachment; filename="cat.png"$/);

  const head = await h.media().storage.client.send(new HeadObjectCommand({ Bucket: h.config.S3_BUCKET, Key: `private/${user.id}/${up.id}/cat.png` }));
  assert.equal(head.ContentLength, 1000);
});

void test('storage refuses a tampered signature, another content type, a larger body, and an expired URL', async (t) => {
  const h = await build(t, { MEDIA_UPLOAD_URL_TTL_SECONDS: '1' });
  const user = await h.newUser();
  const body = pngOfSize(500);
  const up = await createUpload(h, user.auth, { filename: 'a.png', contentType: 'image/png', size: body.length, visibility: 'public' });
  assert.ok(up.upload);
  const { url, headers } = up.upload;

  const tampered = new URL(url);
  const sig = tampered.searchParams.get('X-Amz-Signature') ?? '';
  tampered.searchParams.set('X-Amz-Signature', (sig[0] === 'a' ? 'b' : 'a') + sig.slice(1));
  assert.equal((await put(tampered.toString(), headers, body)).status, 403);

  const otherKey = new URL(url);
  otherKey.pathname = otherKey.pathname.replace(/a\.png$/, 'evil.png');
  assert.equal((await put(otherKey.toString(), headers, body)).status, 403);

  assert.equal((await put(url, { ...headers, 'content-type': 'text/html' }, body)).status, 403);
  // The create-only precondition is signed: it cannot be dropped to allow overwriting.
  const withoutPrecondition: Record<string, string> = { ...headers };
  delete withoutPrecondition['if-none-match'];
  assert.equal((await put(url, withoutPrecondition, body)).status, 403);
  assert.equal((await put(url, headers, Buffer.concat([body, Buffer.alloc(100)]))).status, 403);

  await new Promise((r) => setTimeout(r, 2100));
  const late = await put(url, headers, body);
  assert.equal(late.status, 403);
  assert.match(await late.text(), /expired/i);
});

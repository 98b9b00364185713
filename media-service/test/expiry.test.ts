import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { build, createUpload, pngOfSize, put } from './helper.ts';

void test('the expiry job removes stale pending uploads (objects, multipart sessions, rows) and nothing else', async (t) => {
  const h = await build(t, { MEDIA_MULTIPART_PART_SIZE_BYTES: '5MiB' });
  const user = await h.newUser();
  const body = pngOfSize(100);
  // Uploaded but never completed.
  const stale = await createUpload(h, user.auth, { filename: 'stale.png', contentType: 'image/png', size: 100, visibility: 'private' });
  assert.ok(stale.upload);
  assert.equal((await put(stale.upload.url, stale.upload.headers, body)).status, 200);
  // A multipart upload never completed.
  const staleMulti = await createUpload(h, user.auth, { filename: 'm.mp4', contentType: 'video/mp4', size: 6 * 1024 * 1024, visibility: 'private', multipart: true });
  // Still within its time.
  const fresh = await createUpload(h, user.auth, { filename: 'fresh.png', contentType: 'image/png', size: 100, visibility: 'private' });
  // Completed, then its deadline passes: ready assets never expire.
  const done = await createUpload(h, user.auth, { filename: 'done.png', contentType: 'image/png', size: 100, visibility: 'private' });
  assert.ok(done.upload);
  assert.equal((await put(done.upload.url, done.upload.headers, body)).status, 200);
  assert.equal((await h.app.inject({ method: 'POST', url: `/v1/media/uploads/${done.id}/complete`, headers: user.auth })).statusCode, 200);

  // The clock is the one thing we move: push deadlines into the past.
  await h.admin.query("UPDATE media.assets SET upload_expires_at = now() - interval '1 minute' WHERE id = ANY($1)", [[stale.id, staleMulti.id, done.id]]);

  const result = await h.media().expireUploads();
  assert.equal(result.expired, 2);
  assert.equal(result.failed, 0);
  const { rows } = await h.admin.query('SELECT id, status FROM media.assets ORDER BY filename');
  assert.deepEqual(
    rows.map((r) => [r.id, r.status]),
    [
      [done.id, 'ready'],
      [fresh.id, 'pending'],
    ],
  );
  assert.equal((await h.admin.query('SELECT count(*)::int AS n FROM media.upload_sessions')).rows[0].n, 0);
  await assert.rejects(
    h.media().storage.client.send(new HeadObjectCommand({ Bucket: h.config.S3_BUCKET, Key: `private/${user.id}/${stale.id}/stale.png` })),
    (err: Error) => err.name === 'NotFound',
  );
  // Completing an expired upload is refused.
  const late = await h.app.inject({ method: 'POST', url: `/v1/media/uploads/${stale.id}/complete`, headers: user.auth });
  assert.equal(late.statusCode, 404);

  // Idempotent: a second pass finds nothing.
  assert.deepEqual(await h.media().expireUploads(), { expired: 0, retried: 0, purged: 0, failed: 0 });
});

void test('an upload past its deadline cannot be completed, and a stuck deletion is finished by the job', async (t) => {
  const h = await build(t);
  const user = await h.newUser();
  const up = await createUpload(h, user.auth, { filename: 'x.png', contentType: 'image/png', size: 100, visibility: 'private' });
  assert.ok(up.upload);
  assert.equal((await put(up.upload.url, up.upload.headers, pngOfSize(100))).status, 200);
  await h.admin.query("UPDATE media.assets SET upload_expires_at = now() - interval '1 second' WHERE id = $1", [up.id]);
  const res = await h.app.inject({ method: 'POST', url: `/v1/media/uploads/${up.id}/complete`, headers: user.auth });
  assert.equal(res.statusCode, 410);
  assert.equal(res.json().error.code, 'UPLOAD_EXPIRED');

  // A deletion interrupted after the claim (crash, storage outage) stays `deleting`, never `ready`.
  const other = await createUpload(h, user.auth, { filename: 'y.png', contentType: 'image/png', size: 100, visibility: 'private' });
  await h.admin.query("UPDATE media.assets SET status = 'deleting', updated_at = now() - interval '1 hour' WHERE id = $1", [other.id]);
  await h.admin.query('ALTER TABLE media.assets DISABLE TRIGGER assets_updated_at');
  await h.admin.query("UPDATE media.assets SET updated_at = now() - interval '1 hour' WHERE id = $1", [other.id]);
  await h.admin.query('ALTER TABLE media.assets ENABLE TRIGGER assets_updated_at');
  const result = await h.media().expireUploads();
  assert.equal(result.retried, 1);
  const { rows } = await h.admin.query('SELECT status FROM media.assets WHERE id = $1', [other.id]);
  assert.equal(rows[0].status, 'deleted');
});

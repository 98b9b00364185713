import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GetObjectCommand, PutObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { createS3Client } from '../src/storage/client.ts';
import { PathStylePresigner } from '../src/storage/presign.ts';

// The fast presigner must produce exactly the SDK's URL (same signing date ⇒ same signature), for
// R2-like HTTPS endpoints and the local emulator alike, including keys that need encoding.
void test('PathStylePresigner URLs are byte-identical to getSignedUrl', async () => {
  const signingDate = new Date('2026-01-02T03:04:05Z');
  const keys = ['public/u/a/cat.png', "private/u/a/it's (1) ü+&=%.png", 'public/u/a/日本 語~*!.pdf'];
  for (const endpoint of ['https://abc123.r2.cloudflarestorage.com', 'http://127.0.0.1:4569']) {
    const client = createS3Client({ endpoint, region: 'auto', accessKeyId: 'AKID', secretAccessKey: 'SECRET', forcePathStyle: true, emulatorCompat: 'false' });
    const fast = new PathStylePresigner(client, endpoint, 'media-bucket');
    for (const key of keys) {
      const put = await getSignedUrl(client, new PutObjectCommand({ Bucket: 'media-bucket', Key: key, ContentType: 'image/png', ContentLength: 5, IfNoneMatch: '*' }), {
        expiresIn: 600,
        signableHeaders: new Set(['content-type', 'content-length', 'if-none-match']),
        signingDate,
      });
      assert.equal(await fast.presign({ method: 'PUT', operation: 'PutObject', key, headers: { 'content-type': 'image/png', 'content-length': '5', 'if-none-match': '*' }, expiresIn: 600, signingDate }), put);
      const checksum = 'n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=';
      const putSum = await getSignedUrl(
        client,
        new PutObjectCommand({ Bucket: 'media-bucket', Key: key, ContentType: 'image/png', ContentLength: 5, ChecksumSHA256: checksum }),
        { expiresIn: 600, signableHeaders: new Set(['content-type', 'content-length', 'x-amz-checksum-sha256']), unhoistableHeaders: new Set(['x-amz-checksum-sha256']), signingDate },
      );
      const fastSum = await fast.presign({
        method: 'PUT',
        operation: 'PutObject',
        key,
        headers: { 'content-type': 'image/png', 'content-length': '5', 'x-amz-checksum-sha256': checksum },
        unhoistableHeaders: new Set(['x-amz-checksum-sha256']),
        expiresIn: 600,
        signingDate,
      });
      assert.equal(fastSum, putSum);
      const disposition = `attachment; filename="a b.png"; filename*=UTF-8''%C3%BC.png`;
      const get = await getSignedUrl(
        client,
        new GetObjectCommand({ Bucket: 'media-bucket', Key: key, ResponseContentDisposition: disposition, ResponseContentType: 'image/png' }),
        { expiresIn: 300, signingDate },
      );
      const fastGet = await fast.presign({
        method: 'GET',
        operation: 'GetObject',
        key,
        query: { 'response-content-disposition': disposition, 'response-content-type': 'image/png' },
        expiresIn: 300,
        signingDate,
      });
      assert.equal(fastGet, get);
      const uploadId = 'ZmFrZS91cGxvYWQ/aWQ+PQ==';
      const part = await getSignedUrl(
        client,
        new UploadPartCommand({ Bucket: 'media-bucket', Key: key, UploadId: uploadId, PartNumber: 7, ContentLength: 5 * 1024 * 1024 }),
        { expiresIn: 600, signableHeaders: new Set(['content-length']), signingDate },
      );
      const fastPart = await fast.presign({
        method: 'PUT',
        operation: 'UploadPart',
        key,
        query: { partNumber: '7', uploadId },
        headers: { 'content-length': String(5 * 1024 * 1024) },
        expiresIn: 600,
        signingDate,
      });
      assert.equal(fastPart, part);
    }
    client.destroy();
  }
});

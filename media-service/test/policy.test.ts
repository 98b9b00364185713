import { test } from 'node:test';
import assert from 'node:assert/strict';
import { build, createUpload } from './helper.ts';

void test('quota counts pending and ready uploads and answers 413 QUOTA_EXCEEDED', async (t) => {
  const h = await build(t, { MEDIA_USER_QUOTA_BYTES: '1000' });
  const user = await h.newUser();
  const other = await h.newUser();
  const first = await createUpload(h, user.auth, { filename: 'a.png', contentType: 'image/png', size: 600, visibility: 'private' });
  const res = await h.app.inject({
    method: 'POST',
    url: '/v1/media/uploads',
    headers: user.auth,
    payload: { filename: 'b.png', contentType: 'image/png', size: 401, visibility: 'private' },
  });
  assert.equal(res.statusCode, 413);
  assert.equal(res.json().error.code, 'QUOTA_EXCEEDED');
  assert.deepEqual(res.json().error.details, { quota: 1000, used: 600, requested: 401 });
  const multi = await h.app.inject({
    method: 'POST',
    url: '/v1/media/uploads',
    headers: user.auth,
    payload: { filename: 'm.mp4', contentType: 'video/mp4', size: 401, visibility: 'private', multipart: true },
  });
  assert.equal(multi.statusCode, 413);
  assert.equal(multi.json().error.code, 'QUOTA_EXCEEDED');
  // Exactly filling the quota is fine; another user has their own.
  await createUpload(h, user.auth, { filename: 'c.png', contentType: 'image/png', size: 400, visibility: 'private' });
  await createUpload(h, other.auth, { filename: 'd.png', contentType: 'image/png', size: 1000, visibility: 'private' });
  // Aborting frees the space.
  assert.equal((await h.app.inject({ method: 'POST', url: `/v1/media/uploads/${first.id}/abort`, headers: user.auth })).statusCode, 204);
  await createUpload(h, user.auth, { filename: 'e.png', contentType: 'image/png', size: 600, visibility: 'private' });
});

void test('concurrent uploads cannot overshoot the quota', async (t) => {
  const h = await build(t, { MEDIA_USER_QUOTA_BYTES: '1000' });
  const user = await h.newUser();
  const results = await Promise.all(
    Array.from({ length: 8 }, (_, i) =>
      h.app.inject({ method: 'POST', url: '/v1/media/uploads', headers: user.auth, payload: { filename: `${i}.png`, contentType: 'image/png', size: 300, visibility: 'private' } }),
    ),
  );
  assert.equal(results.filter((r) => r.statusCode === 201).length, 3);
  assert.equal(results.filter((r) => r.statusCode === 413).length, 5);
});

void test('content types and per-type sizes come from config', async (t) => {
  const h = await build(t, { MEDIA_TYPE_LIMITS: 'image/png=1KiB,application/pdf=2KiB' });
  const user = await h.newUser();
  const post = (payload: Record<string, unknown>) => h.app.inject({ method: 'POST', url: '/v1/media/uploads', headers: user.auth, payload });
  let res = await post({ filename: 'a.gif', contentType: 'image/gif', size: 10, visibility: 'private' });
  assert.equal(res.statusCode, 415);
  assert.equal(res.json().error.code, 'CONTENT_TYPE_NOT_ALLOWED');
  res = await post({ filename: 'a.png', contentType: 'image/png', size: 1025, visibility: 'private' });
  assert.equal(res.statusCode, 413);
  assert.equal(res.json().error.code, 'FILE_TOO_LARGE');
  res = await post({ filename: 'a.pdf', contentType: 'Application/PDF; charset=binary', size: 2048, visibility: 'private' });
  assert.equal(res.statusCode, 201, res.body);
  assert.equal(res.json().asset.contentType, 'application/pdf');
});

void test('filenames are sanitised before they reach the key', async (t) => {
  const h = await build(t);
  const user = await h.newUser();
  const cases: Array<[string, string]> = [
    ['../../etc/passwd.png', 'passwd.png'],
    ['..\\..\\windows\\win.png', 'win.png'],
    ['e\u0301te\u0301.png', 'été.png'],
    ['evil\u202Egnp.exe.png', 'evilgnp.exe.png'],
    ['a\u0000b\u0007c\nd.png', 'abcd.png'],
    ['...', 'file'],
    ['CON.png', '_CON.png'],
    ['x<y>:"z"|?*.png', 'x_y___z____.png'],
  ];
  for (const [input, expected] of cases) {
    const up = await createUpload(h, user.auth, { filename: input, contentType: 'image/png', size: 10, visibility: 'private' });
    assert.equal(up.asset.filename, expected, JSON.stringify(input));
    assert.ok(up.upload);
    assert.ok(new URL(up.upload.url).pathname.endsWith(`/private/${user.id}/${up.id}/${encodeURIComponent(expected)}`), up.upload.url);
  }
  const long = await createUpload(h, user.auth, { filename: `${'ж'.repeat(300)}.png`, contentType: 'image/png', size: 10, visibility: 'private' });
  assert.ok(Buffer.byteLength(long.asset.filename) <= 200);
  assert.ok(long.asset.filename.endsWith('ж.png'));
});

void test('hostile input answers 4xx with the common error shape', async (t) => {
  const h = await build(t);
  const user = await h.newUser();
  const json = { ...user.auth, 'content-type': 'application/json' };
  const cases: Array<[method: 'GET' | 'POST' | 'DELETE', url: string, payload: string | undefined, status: number, code: string]> = [
    ['POST', '/v1/media/uploads', '{"filename":', 400, 'MALFORMED_JSON'],
    ['POST', '/v1/media/uploads', JSON.stringify({ filename: 'a', contentType: 'image/png', size: -1, visibility: 'private' }), 400, 'VALIDATION_FAILED'],
    ['POST', '/v1/media/uploads', JSON.stringify({ filename: 'a', contentType: 'image/png', size: 1e300, visibility: 'private' }), 400, 'VALIDATION_FAILED'],
    ['POST', '/v1/media/uploads', JSON.stringify({ filename: 'a', contentType: 'image/png', size: 1, visibility: 'world' }), 400, 'VALIDATION_FAILED'],
    ['POST', '/v1/media/uploads', JSON.stringify({ filename: 'a'.repeat(5000), contentType: 'image/png', size: 1, visibility: 'private' }), 400, 'VALIDATION_FAILED'],
    ['POST', '/v1/media/uploads', JSON.stringify({ filename: 'a', contentType: 'image/png', size: 1, visibility: 'private', checksum: 'nope' }), 400, 'VALIDATION_FAILED'],
    ['POST', '/v1/media/uploads', JSON.stringify({ filename: 'a', contentType: 'x'.repeat(300), size: 1, visibility: 'private' }), 400, 'VALIDATION_FAILED'],
    ['POST', '/v1/media/uploads', JSON.stringify({ filename: 'x', contentType: 'image/png', size: 1, visibility: 'private', pad: 'x'.repeat(70_000) }), 413, 'PAYLOAD_TOO_LARGE'],
    ['GET', '/v1/media/assets/not-a-uuid', undefined, 400, 'VALIDATION_FAILED'],
    ['GET', "/v1/media/assets/'%20OR%201=1--", undefined, 400, 'VALIDATION_FAILED'],
    ['GET', '/v1/media/assets?limit=100000', undefined, 400, 'VALIDATION_FAILED'],
    ['GET', '/v1/media/assets?type=image/png%27;drop', undefined, 400, 'VALIDATION_FAILED'],
    ['DELETE', '/v1/media/assets/00000000-0000-4000-8000-000000000000', undefined, 404, 'ASSET_NOT_FOUND'],
    ['POST', '/v1/media/uploads/00000000-0000-4000-8000-000000000000/parts', '{"partNumbers":[0]}', 400, 'VALIDATION_FAILED'],
    ['GET', '/v1/media/nope', undefined, 404, 'ROUTE_NOT_FOUND'],
  ];
  for (const [method, url, payload, status, code] of cases) {
    const res = await h.app.inject({ method, url, headers: payload === undefined ? user.auth : json, ...(payload === undefined ? {} : { payload }) });
    assert.equal(res.statusCode, status, `${method} ${url}: ${res.body}`);
    const body = res.json();
    assert.equal(body.error.code, code, `${method} ${url}`);
    assert.equal(typeof body.error.message, 'string');
    assert.equal(typeof body.error.requestId, 'string');
  }
});

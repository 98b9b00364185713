import { test } from 'node:test';
import assert from 'node:assert/strict';
import { build, createUpload, pngOfSize, put, type Harness } from './helper.ts';

async function readyAsset(h: Harness, auth: { authorization: string }, filename = 'p.png', visibility = 'private') {
  const body = pngOfSize(128);
  const up = await createUpload(h, auth, { filename, contentType: 'image/png', size: body.length, visibility });
  assert.ok(up.upload);
  assert.equal((await put(up.upload.url, up.upload.headers, body)).status, 200);
  const res = await h.app.inject({ method: 'POST', url: `/v1/media/uploads/${up.id}/complete`, headers: auth });
  assert.equal(res.statusCode, 200, res.body);
  return up.id;
}

void test('only the owner (or an admin) sees, downloads, completes or deletes; others get 404', async (t) => {
  const h = await build(t);
  const owner = await h.newUser();
  const other = await h.newUser();
  const id = await readyAsset(h, owner.auth);
  for (const [method, url] of [
    ['GET', `/v1/media/assets/${id}`],
    ['GET', `/v1/media/assets/${id}/download`],
    ['DELETE', `/v1/media/assets/${id}`],
    ['POST', `/v1/media/uploads/${id}/complete`],
    ['POST', `/v1/media/uploads/${id}/abort`],
  ] as const) {
    const res = await h.app.inject({ method, url, headers: other.auth });
    assert.equal(res.statusCode, 404, `${method} ${url}`);
    assert.equal(res.json().error.code, 'ASSET_NOT_FOUND');
  }
  const list = await h.app.inject({ method: 'GET', url: '/v1/media/assets', headers: other.auth });
  assert.deepEqual(list.json().items, []);

  const admin = await h.newUser({ role: 'admin' });
  const seen = await h.app.inject({ method: 'GET', url: `/v1/media/assets/${id}`, headers: admin.auth });
  assert.equal(seen.statusCode, 200);

  const del = await h.app.inject({ method: 'DELETE', url: `/v1/media/assets/${id}`, headers: owner.auth });
  assert.equal(del.statusCode, 204);
  const again = await h.app.inject({ method: 'DELETE', url: `/v1/media/assets/${id}`, headers: owner.auth });
  assert.equal(again.statusCode, 204, 'idempotent');
  assert.equal((await h.app.inject({ method: 'DELETE', url: `/v1/media/assets/${id}`, headers: other.auth })).statusCode, 404);
  assert.equal((await h.app.inject({ method: 'GET', url: `/v1/media/assets/${id}`, headers: owner.auth })).statusCode, 404);
});

void test('public assets get a MEDIA_PUBLIC_BASE_URL url; private ones a presigned GET', async (t) => {
  const h = await build(t);
  const user = await h.newUser();
  const pub = await readyAsset(h, user.auth, 'Ünïcode photo (1).png', 'public');
  const res = await h.app.inject({ method: 'GET', url: `/v1/media/assets/${pub}`, headers: user.auth });
  const body = res.json();
  assert.equal(body.url, `https://cdn.example.test/media/public/${user.id}/${pub}/${encodeURIComponent('Ünïcode photo (1).png')}`);
  assert.equal(body.urlExpiresAt, null);
  const priv = await readyAsset(h, user.auth, 'secret.png', 'private');
  const p = (await h.app.inject({ method: 'GET', url: `/v1/media/assets/${priv}`, headers: user.auth })).json();
  assert.match(p.url, /X-Amz-Signature=/);
  assert.ok(Date.parse(p.urlExpiresAt) > Date.now());
  // The download of a public asset is an attachment through a presigned GET too.
  const dl = await h.app.inject({ method: 'GET', url: `/v1/media/assets/${pub}/download`, headers: user.auth });
  assert.equal(dl.statusCode, 302);
  assert.equal(dl.headers['cache-control'], 'private, no-store');
  const got = await fetch(dl.headers.location as string);
  assert.equal(got.status, 200);
  assert.match(got.headers.get('content-disposition') ?? '', /^attachment; filename="Unicode photo _1_.png"/);
});

void test('listing: own assets, newest first, cursor pagination, type and status filters', async (t) => {
  const h = await build(t);
  const user = await h.newUser();
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) {
    const up = await createUpload(h, user.auth, { filename: `f${i}.png`, contentType: 'image/png', size: 10, visibility: 'private' });
    ids.push(up.id);
  }
  await createUpload(h, user.auth, { filename: 'doc.pdf', contentType: 'application/pdf', size: 10, visibility: 'private' });
  const ready = await readyAsset(h, user.auth, 'r.png');
  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const q: string = cursor ? `&cursor=${cursor}` : '';
    const res = await h.app.inject({ method: 'GET', url: `/v1/media/assets?limit=2&type=image${q}`, headers: user.auth });
    assert.equal(res.statusCode, 200, res.body);
    const page = res.json<{ items: Array<{ id: string }>; nextCursor: string | null }>();
    seen.push(...page.items.map((i) => i.id));
    cursor = page.nextCursor;
  } while (cursor);
  assert.deepEqual(seen, [ready, ...ids.reverse()]);
  const readyOnly = await h.app.inject({ method: 'GET', url: '/v1/media/assets?status=ready', headers: user.auth });
  assert.deepEqual(readyOnly.json().items.map((i: { id: string }) => i.id), [ready]);
  const pdf = await h.app.inject({ method: 'GET', url: '/v1/media/assets?type=application/pdf', headers: user.auth });
  assert.equal(pdf.json().items.length, 1);
  const bad = await h.app.inject({ method: 'GET', url: '/v1/media/assets?cursor=bm9wZQ', headers: user.auth });
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.json().error.code, 'INVALID_CURSOR');
});

void test('tokens: verified against the JWKS with iss and aud; scopes of API-key tokens honoured', async (t) => {
  const h = await build(t);
  const user = await h.newUser();
  const call = (token: string | undefined, method: 'GET' | 'POST' = 'GET') =>
    h.app.inject({
      method,
      url: method === 'GET' ? '/v1/media/assets' : '/v1/media/uploads',
      headers: token ? { authorization: `Bearer ${token}` } : {},
      ...(method === 'POST' ? { payload: { filename: 'a.png', contentType: 'image/png', size: 10, visibility: 'private' } } : {}),
    });
  const expectCode = async (p: ReturnType<typeof call>, status: number, code: string) => {
    const res = await p;
    assert.equal(res.statusCode, status, res.body);
    assert.equal(res.json().error.code, code);
  };
  await expectCode(call(undefined), 401, 'UNAUTHORIZED');
  // Identity headers alone are never trusted.
  const spoof = await h.app.inject({ method: 'GET', url: '/v1/media/assets', headers: { 'x-user-id': user.id, 'x-user-role': 'admin' } });
  assert.equal(spoof.statusCode, 401);
  await expectCode(call(await h.issuer.token(user.id, { iss: 'evil' })), 401, 'INVALID_TOKEN');
  await expectCode(call(await h.issuer.token(user.id, { aud: 'other' })), 401, 'INVALID_TOKEN');
  await expectCode(call(await h.issuer.token(user.id, { key: 'other' })), 401, 'INVALID_TOKEN');
  await expectCode(call(await h.issuer.token(user.id, { expiresIn: '-1m' })), 401, 'TOKEN_EXPIRED');
  await expectCode(call('not.a.jwt'), 401, 'INVALID_TOKEN');

  const readOnly = await h.issuer.token(user.id, { scope: 'links:read media:read' });
  assert.equal((await call(readOnly)).statusCode, 200);
  await expectCode(call(readOnly, 'POST'), 403, 'INSUFFICIENT_SCOPE');
  const writeOnly = await h.issuer.token(user.id, { scope: 'media:write' });
  assert.equal((await call(writeOnly, 'POST')).statusCode, 201);
  await expectCode(call(writeOnly), 403, 'INSUFFICIENT_SCOPE');
  await expectCode(call(await h.issuer.token(user.id, { scope: 'links:write' }), 'POST'), 403, 'INSUFFICIENT_SCOPE');
  // A password session (no scope claim) means every scope.
  assert.equal((await call(user.token, 'POST')).statusCode, 201);
});

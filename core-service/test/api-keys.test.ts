import { test } from 'node:test';
import assert from 'node:assert/strict';
import { build, newUser, bearer, errorCode, sql, useFileDatabase } from './helper.ts';

useFileDatabase();

const create = (access: string, payload: unknown) => ({ method: 'POST' as const, url: '/v1/core/api-keys', headers: bearer(access), payload: payload as Record<string, unknown> });

void test('create shows the secret once (lp_ + 43 base64url chars); list never does; stored hashed', async (t) => {
  const { app, db } = await build(t);
  const s = await newUser(app);
  const res = await app.inject(create(s.access, { name: '  deploy bot ', scopes: ['links:read', 'media:write'] }));
  assert.equal(res.statusCode, 201, res.body);
  const k = res.json();
  assert.match(k.key, /^lp_[A-Za-z0-9_-]{43}$/);
  assert.equal(k.name, 'deploy bot');
  assert.deepEqual(k.scopes, ['links:read', 'media:write']);
  assert.equal(k.expires_at, null);
  assert.equal(k.last_used_at, null);
  assert.ok(k.key.startsWith(k.prefix));
  assert.equal(res.headers['cache-control'], 'no-store');

  const list = await app.inject({ method: 'GET', url: '/v1/core/api-keys', headers: bearer(s.access) });
  assert.equal(list.statusCode, 200);
  assert.deepEqual(list.json().items.map((i: { id: string }) => i.id), [k.id]);
  assert.ok(!list.body.includes(k.key), 'the secret is never listed');
  assert.ok(!('key' in list.json().items[0]));

  const [row] = await sql<{ key_hash: Buffer }>(db, 'SELECT key_hash FROM core.api_keys WHERE id = $1', [k.id]);
  assert.equal(row?.key_hash.length, 32, 'a SHA-256 digest, not the key');
  const [audit] = await sql<{ n: number }>(db, "SELECT count(*)::int AS n FROM core.audit_events WHERE action = 'api_key.created' AND user_id = $1", [s.userId]);
  assert.equal(audit?.n, 1);

  const other = await newUser(app);
  const theirs = await app.inject({ method: 'GET', url: '/v1/core/api-keys', headers: bearer(other.access) });
  assert.deepEqual(theirs.json().items, [], 'each user lists only their own keys');
});

void test('scopes and names are validated', async (t) => {
  const { app } = await build(t);
  const s = await newUser(app);
  const bad = [
    { name: 'x', scopes: [] },
    { name: 'x', scopes: ['admin'] },
    { name: 'x', scopes: ['links:read', 'links:read'] },
    { name: 'x', scopes: 'links:read' },
    { name: '', scopes: ['links:read'] },
    { name: '   ', scopes: ['links:read'] },
    { name: 'a'.repeat(101), scopes: ['links:read'] },
    { name: 'evil\u202Egnp.exe', scopes: ['links:read'] },
    { name: 'x', scopes: ['links:read'], expires_at: 'tomorrow' },
    { name: 'x', scopes: ['links:read'], expires_at: new Date(Date.now() - 60_000).toISOString() },
    { name: 'x', scopes: ['links:read'], extra: 1, expires_at: 5 },
  ];
  for (const payload of bad) {
    const res = await app.inject(create(s.access, payload));
    assert.equal(errorCode(res, 400), 'VALIDATION_FAILED', JSON.stringify(payload));
    assert.ok(Array.isArray(res.json().error.details), 'field issues are listed');
  }
});

void test('API keys cannot manage the account or other keys; another user\'s key is a 404', async (t) => {
  const { app } = await build(t);
  const s = await newUser(app);
  const other = await newUser(app);
  const k = (await app.inject(create(s.access, { name: 'k', scopes: ['links:write'] }))).json();
  assert.equal(errorCode(await app.inject({ method: 'GET', url: '/v1/core/api-keys', headers: bearer(k.key) }), 403), 'SESSION_REQUIRED');
  const minted = (await app.inject({ method: 'GET', url: '/v1/core/auth/verify', headers: bearer(k.key) })).headers.authorization as string;
  assert.equal(errorCode(await app.inject({ method: 'GET', url: '/v1/core/me', headers: { authorization: minted } }), 403), 'SESSION_REQUIRED');

  assert.equal(errorCode(await app.inject({ method: 'DELETE', url: `/v1/core/api-keys/${k.id}`, headers: bearer(other.access) }), 404), 'API_KEY_NOT_FOUND');
  assert.equal((await app.inject({ method: 'GET', url: '/v1/core/auth/verify', headers: bearer(k.key) })).statusCode, 200, 'still alive');
  assert.equal(errorCode(await app.inject({ method: 'DELETE', url: '/v1/core/api-keys/not-a-uuid', headers: bearer(s.access) }), 400), 'VALIDATION_FAILED');
});

void test('revocation takes effect at once on this instance, and within the cache TTL on others', async (t) => {
  const { app, db } = await build(t);
  const s = await newUser(app);
  const k = (await app.inject(create(s.access, { name: 'k', scopes: ['links:read'] }))).json();
  assert.equal((await app.inject({ method: 'GET', url: '/v1/core/auth/verify', headers: bearer(k.key) })).statusCode, 200);
  const del = await app.inject({ method: 'DELETE', url: `/v1/core/api-keys/${k.id}`, headers: bearer(s.access) });
  assert.equal(del.statusCode, 204);
  assert.equal(errorCode(await app.inject({ method: 'GET', url: '/v1/core/auth/verify', headers: bearer(k.key) }), 401), 'API_KEY_REVOKED');
  assert.equal(errorCode(await app.inject({ method: 'DELETE', url: `/v1/core/api-keys/${k.id}`, headers: bearer(s.access) }), 404), 'API_KEY_NOT_FOUND');
  assert.deepEqual((await app.inject({ method: 'GET', url: '/v1/core/api-keys', headers: bearer(s.access) })).json().items, []);
  const [audit] = await sql<{ n: number }>(db, "SELECT count(*)::int AS n FROM core.audit_events WHERE action = 'api_key.revoked' AND user_id = $1", [s.userId]);
  assert.equal(audit?.n, 1);
});

void test('a key revoked by another instance stops working once the cache TTL has passed', async (t) => {
  const { app, db, advance } = await build(t);
  const s = await newUser(app);
  const k = (await app.inject(create(s.access, { name: 'k', scopes: ['links:read'] }))).json();
  assert.equal((await app.inject({ method: 'GET', url: '/v1/core/auth/verify', headers: bearer(k.key) })).statusCode, 200);
  await sql(db, 'UPDATE core.api_keys SET revoked_at = now() WHERE id = $1', [k.id]);
  assert.equal((await app.inject({ method: 'GET', url: '/v1/core/auth/verify', headers: bearer(k.key) })).statusCode, 200, 'served from the in-process cache');
  advance(5_001);
  assert.equal(errorCode(await app.inject({ method: 'GET', url: '/v1/core/auth/verify', headers: bearer(k.key) }), 401), 'API_KEY_REVOKED');
});

void test('expiry: a key works until expires_at, then 401 API_KEY_EXPIRED', async (t) => {
  const { app, advance } = await build(t);
  const s = await newUser(app);
  const expiresAt = new Date(Date.now() + 60 * 60_000).toISOString();
  const k = (await app.inject(create(s.access, { name: 'temp', scopes: ['media:read'], expires_at: expiresAt }))).json();
  assert.equal(k.expires_at, expiresAt);
  assert.equal((await app.inject({ method: 'GET', url: '/v1/core/auth/verify', headers: bearer(k.key) })).statusCode, 200);
  advance(61 * 60_000);
  assert.equal(errorCode(await app.inject({ method: 'GET', url: '/v1/core/auth/verify', headers: bearer(k.key) }), 401), 'API_KEY_EXPIRED');
});

void test('last_used_at is recorded, but written at most once a minute', async (t) => {
  const { app, db, advance } = await build(t);
  const s = await newUser(app);
  const k = (await app.inject(create(s.access, { name: 'k', scopes: ['links:read'] }))).json();
  const lastUsed = async () => {
    // The write is off the response path; give it a moment.
    await new Promise((r) => setTimeout(r, 100));
    return (await sql<{ last_used_at: Date | null }>(db, 'SELECT last_used_at FROM core.api_keys WHERE id = $1', [k.id]))[0]?.last_used_at ?? null;
  };
  await app.inject({ method: 'GET', url: '/v1/core/auth/verify', headers: bearer(k.key) });
  const first = await lastUsed();
  assert.ok(first, 'recorded on first use');
  advance(10_000);
  await app.inject({ method: 'GET', url: '/v1/core/auth/verify', headers: bearer(k.key) });
  assert.equal((await lastUsed())?.getTime(), first.getTime(), 'not rewritten within the minute');
  advance(61_000);
  await app.inject({ method: 'GET', url: '/v1/core/auth/verify', headers: bearer(k.key) });
  assert.ok((await lastUsed())!.getTime() > first.getTime(), 'rewritten after it');
  const listed = (await app.inject({ method: 'GET', url: '/v1/core/api-keys', headers: bearer(s.access) })).json().items[0];
  assert.ok(listed.last_used_at);
});

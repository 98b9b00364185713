import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { exportJWK, generateKeyPair, jwtVerify, createLocalJWKSet } from 'jose';
import { rotateSigningKeys, RETIRED_KEY_GRACE_MS } from '../src/modules/keys/keys.service.ts';
import { createPool } from '@linkport/common';
import { keyStoreOf } from '../src/app.ts';
import { build, newUser, bearer, errorCode, jwtPayload, sql } from './helper.ts';

const kidOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()).kid as string;
const jwks = async (app: Awaited<ReturnType<typeof build>>['app']) =>
  (await app.inject({ method: 'GET', url: '/v1/core/.well-known/jwks.json' })).json<{ keys: { kid: string }[] }>();

void test('first start generates one key; instances starting together share it (advisory lock)', async (t) => {
  const b = await build(t);
  const [x, y] = await Promise.all([b.another(), b.another()]);
  const rows = await sql<{ kid: string; retired_at: Date | null }>(b.db, 'SELECT kid, retired_at FROM core.signing_keys');
  assert.equal(rows.length, 1);
  for (const app of [b.app, x, y]) assert.deepEqual((await jwks(app)).keys.map((k) => k.kid), [rows[0]!.kid]);
  const s = await newUser(x);
  assert.equal(kidOf(s.access), rows[0]!.kid);
  assert.equal((await y.inject({ method: 'GET', url: '/v1/core/auth/verify', headers: bearer(s.access) })).statusCode, 200);
});

void test('rotation: new tokens use the new kid, old tokens keep verifying, the JWKS lists both until the grace ends', async (t) => {
  const { app, db, advance } = await build(t);
  const before = await newUser(app);
  const oldKid = kidOf(before.access);
  const pool = createPool(db.roleUrl('core_service'), { max: 1 });
  t.after(() => pool.end());
  const { kid: newKid, retired } = await rotateSigningKeys(pool, Date.now);
  assert.deepEqual(retired, [oldKid]);
  await keyStoreOf(app).reload();

  const after = await newUser(app);
  assert.equal(kidOf(after.access), newKid);
  assert.equal((await app.inject({ method: 'GET', url: '/v1/core/auth/verify', headers: bearer(before.access) })).statusCode, 200, 'old token still verifies');
  assert.deepEqual((await jwks(app)).keys.map((k) => k.kid).sort(), [oldKid, newKid].sort());
  const set = createLocalJWKSet(await jwks(app) as Parameters<typeof createLocalJWKSet>[0]);
  for (const tok of [before.access, after.access]) await jwtVerify(tok, set, { issuer: 'linkport', audience: 'linkport' });

  // After the grace period (longer than any token's life) the retired key leaves the set.
  advance(RETIRED_KEY_GRACE_MS + 1000);
  await keyStoreOf(app).reload();
  assert.deepEqual((await jwks(app)).keys.map((k) => k.kid), [newKid]);
  assert.equal(errorCode(await app.inject({ method: 'GET', url: '/v1/core/auth/verify', headers: bearer(before.access) }), 401), 'INVALID_TOKEN');
  const rows = await sql<{ kid: string; verify_until: Date | null }>(db, 'SELECT kid, verify_until FROM core.signing_keys ORDER BY created_at');
  assert.equal(rows.length, 2);
  assert.ok(rows[0]!.verify_until, 'the retired key has an end date');
});

void test('an instance that has not reloaded yet picks up a rotated key when it first meets its kid', async (t) => {
  const b = await build(t);
  const other = await b.another();
  const pool = createPool(b.db.roleUrl('core_service'), { max: 1 });
  t.after(() => pool.end());
  await rotateSigningKeys(pool, Date.now);
  await keyStoreOf(other).reload();
  const s = await newUser(other);
  const res = await b.app.inject({ method: 'GET', url: '/v1/core/auth/verify', headers: bearer(s.access) });
  assert.equal(res.statusCode, 200, res.body);
  assert.equal((await jwks(b.app)).keys.length, 2);
});

void test('the rotate-keys CLI rotates the keys of the configured database', async (t) => {
  const { app, db, config } = await build(t);
  const before = (await jwks(app)).keys.map((k) => k.kid);
  const root = path.resolve(import.meta.dirname, '..');
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/rotate-keys.ts'], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: config.DATABASE_URL, REDIS_URL: config.REDIS_URL },
  });
  const out = JSON.parse(stdout) as { current: string; retired: string[] };
  assert.deepEqual(out.retired, before);
  const rows = await sql<{ kid: string; retired_at: Date | null }>(db, 'SELECT kid, retired_at FROM core.signing_keys WHERE retired_at IS NULL');
  assert.deepEqual(rows.map((r) => r.kid), [out.current]);
});

void test('JWT_PRIVATE_KEYS: the given keys are used (first signs, all verify) and none are generated', async (t) => {
  const jwk = async (kid?: string) => {
    const { privateKey } = await generateKeyPair('RS256', { extractable: true });
    return { ...(await exportJWK(privateKey)), ...(kid ? { kid } : {}) };
  };
  const keys = [await jwk('prod-2026-11'), await jwk()];
  const { app, db } = await build(t, { env: { JWT_PRIVATE_KEYS: JSON.stringify(keys) } });
  const s = await newUser(app);
  assert.equal(kidOf(s.access), 'prod-2026-11');
  const set = await jwks(app);
  assert.equal(set.keys.length, 2);
  assert.equal(set.keys[0]!.kid, 'prod-2026-11');
  assert.match(set.keys[1]!.kid, /^[A-Za-z0-9_-]{43}$/, 'an RFC 7638 thumbprint when no kid is given');
  assert.ok(!JSON.stringify(set).includes('"d"'), 'no private members published');
  assert.equal((await sql(db, 'SELECT 1 FROM core.signing_keys')).length, 0);
  assert.equal(jwtPayload(s.access).iss, 'linkport');
});

void test('a start finding every key retired generates a new current one, and keeps the retired one listed', async (t) => {
  const b = await build(t);
  const s = await newUser(b.app);
  await sql(b.db, "UPDATE core.signing_keys SET retired_at = now(), verify_until = now() + interval '16 minutes'");
  const next = await b.another();
  const current = await sql<{ kid: string }>(b.db, 'SELECT kid FROM core.signing_keys WHERE retired_at IS NULL');
  assert.equal(current.length, 1);
  assert.equal(kidOf((await newUser(next)).access), current[0]!.kid);
  assert.equal((await jwks(next)).keys.length, 2);
  assert.equal((await next.inject({ method: 'GET', url: '/v1/core/auth/verify', headers: bearer(s.access) })).statusCode, 200);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRemoteJWKSet, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import { build, newUser, bearer, errorCode, jwtPayload, useFileDatabase } from './helper.ts';

useFileDatabase();

const HASURA = 'https://hasura.io/jwt/claims';
const verify = (headers: Record<string, string> = {}, query = '') => ({ method: 'GET' as const, url: `/v1/core/auth/verify${query}`, headers });

void test('JWT: 200 with identity headers and the same token echoed in Authorization', async (t) => {
  const { app } = await build(t);
  const s = await newUser(app);
  const res = await app.inject(verify(bearer(s.access)));
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['x-user-id'], s.userId);
  assert.equal(res.headers['x-user-role'], 'user');
  assert.equal(res.headers['x-auth-method'], 'jwt');
  assert.equal(res.headers['x-auth-scopes'], 'links:read links:write media:read media:write');
  assert.equal(res.headers.authorization, `Bearer ${s.access}`);
  assert.deepEqual(res.json(), { user_id: s.userId, role: 'user', auth_method: 'jwt', scopes: ['links:read', 'links:write', 'media:read', 'media:write'] });
  // The scheme is case-insensitive (RFC 9110 §11.1).
  assert.equal((await app.inject(verify({ authorization: `bearer ${s.access}` }))).statusCode, 200);
});

for (const [scopes, role] of [
  [['links:read', 'links:write', 'media:read'], 'user'],
  [['links:write'], 'user'],
  [['links:read', 'media:write'], 'user_readonly'],
  [['media:read', 'media:write'], 'anonymous'],
] as const) {
  void test(`API key with ${scopes.join(',')}: a minted 60-second JWT with role ${role}, scope and auth_method`, async (t) => {
    const { app } = await build(t);
    const s = await newUser(app);
    const k = (await app.inject({ method: 'POST', url: '/v1/core/api-keys', headers: bearer(s.access), payload: { name: 'k', scopes } })).json();
    const res = await app.inject(verify(bearer(k.key)));
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers['x-user-id'], s.userId);
    assert.equal(res.headers['x-user-role'], role);
    assert.equal(res.headers['x-auth-method'], 'api_key');
    assert.equal(res.headers['x-auth-scopes'], scopes.join(' '));
    const minted = String(res.headers.authorization).replace(/^Bearer /, '');
    assert.notEqual(minted, k.key);
    const claims = jwtPayload(minted);
    assert.equal(claims.sub, s.userId);
    assert.equal(claims.scope, scopes.join(' '));
    assert.equal(claims.auth_method, 'api_key');
    assert.equal(Number(claims.exp) - Number(claims.iat), 60);
    assert.equal(typeof claims.api_key_id, 'string');
    assert.deepEqual(claims[HASURA], { 'x-hasura-user-id': s.userId, 'x-hasura-default-role': role, 'x-hasura-allowed-roles': [role] });

    // Upstreams may send the minted token back through verify (e.g. a second hop): it keeps its scopes.
    const again = await app.inject(verify(bearer(minted)));
    assert.equal(again.statusCode, 200);
    assert.equal(again.headers['x-auth-method'], 'jwt');
    assert.equal(again.headers['x-user-role'], role);
    assert.equal(again.headers['x-auth-scopes'], scopes.join(' '));
  });
}

void test('optional mode: no credential → 200 anonymous without Authorization; a bad one is still 401', async (t) => {
  const { app } = await build(t);
  const res = await app.inject(verify({}, '?mode=optional'));
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['x-auth-method'], 'anonymous');
  assert.equal(res.headers['x-user-role'], 'anonymous');
  assert.equal(res.headers['x-user-id'], '');
  assert.equal(res.headers['x-auth-scopes'], '');
  assert.equal(res.headers.authorization, undefined);
  assert.equal(errorCode(await app.inject(verify({ authorization: 'Bearer garbage' }, '?mode=optional')), 401), 'INVALID_TOKEN');
  assert.equal(errorCode(await app.inject(verify({}, '')), 401), 'UNAUTHORIZED');
  assert.equal(errorCode(await app.inject(verify({}, '?mode=sometimes')), 400), 'VALIDATION_FAILED');
});

void test('bad credentials answer 401 JSON with WWW-Authenticate: Bearer', async (t) => {
  const { app } = await build(t);
  const s = await newUser(app);
  const [h, p] = s.access.split('.');
  const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${p}.`;
  const hs256 = `${Buffer.from(JSON.stringify({ alg: 'HS256', kid: JSON.parse(Buffer.from(h!, 'base64url').toString()).kid })).toString('base64url')}.${p}.c2ln`;
  const cases: [Record<string, string>, string][] = [
    [{ authorization: 'Basic dXNlcjpwYXNz' }, 'INVALID_TOKEN'],
    [{ authorization: 'Bearer' }, 'INVALID_TOKEN'],
    [{ authorization: `Bearer ${s.access} extra` }, 'INVALID_TOKEN'],
    [bearer(unsigned), 'INVALID_TOKEN'],
    [bearer(hs256), 'INVALID_TOKEN'],
    [bearer(`${h}.${Buffer.from(JSON.stringify({ ...jwtPayload(s.access), sub: 'someone-else' })).toString('base64url')}.${s.access.split('.')[2]}`), 'INVALID_TOKEN'],
    [bearer('lp_' + 'A'.repeat(43)), 'INVALID_API_KEY'],
    [bearer("lp_' OR 1=1 --"), 'INVALID_TOKEN'],
  ];
  for (const [headers, code] of cases) {
    const res = await app.inject(verify(headers));
    assert.equal(errorCode(res, 401), code, JSON.stringify(headers));
    assert.equal(res.headers['www-authenticate'], 'Bearer');
    assert.equal(res.headers['x-user-id'], undefined, 'no identity on failure');
  }
});

void test('a token from another issuer or audience is refused, even signed with our key', async (t) => {
  const a = await build(t);
  const s = await newUser(a.app);
  for (const env of [{ JWT_AUDIENCE: 'someone-else' }, { JWT_ISSUER: 'someone-else' }] as Record<string, string>[]) {
    // A second instance on the same database: same signing key, different claims expected.
    const b = await a.another(env);
    assert.equal(errorCode(await b.inject(verify(bearer(s.access))), 401), 'INVALID_TOKEN');
  }
  assert.equal((await a.app.inject(verify(bearer(s.access)))).statusCode, 200);
});

void test('tokens verify against the JWKS over real HTTP with jose createRemoteJWKSet', async (t) => {
  const { app } = await build(t);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  assert.ok(addr && typeof addr === 'object');
  const base = `http://127.0.0.1:${addr.port}`;
  const s = await newUser(app);

  const res = await fetch(`${base}/v1/core/.well-known/jwks.json`);
  assert.equal(res.status, 200);
  assert.match(String(res.headers.get('cache-control')), /max-age=\d+/);
  const jwks = (await res.json()) as { keys: Record<string, string>[] };
  assert.equal(jwks.keys.length, 1);
  assert.deepEqual(Object.keys(jwks.keys[0]!).sort(), ['alg', 'e', 'kid', 'kty', 'n', 'use']);
  assert.equal(jwks.keys[0]!.alg, 'RS256');

  const remote = createRemoteJWKSet(new URL(`${base}/v1/core/.well-known/jwks.json`));
  const { payload, protectedHeader } = await jwtVerify(s.access, remote, { issuer: 'linkport', audience: 'linkport', algorithms: ['RS256'] });
  assert.equal(payload.sub, s.userId);
  assert.equal(protectedHeader.kid, jwks.keys[0]!.kid);

  const k = await fetch(`${base}/v1/core/api-keys`, {
    method: 'POST',
    headers: { ...bearer(s.access), 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'http', scopes: ['links:read'] }),
  });
  const key = ((await k.json()) as { key: string }).key;
  const v = await fetch(`${base}/v1/core/auth/verify`, { headers: bearer(key) });
  assert.equal(v.status, 200);
  const minted = String(v.headers.get('authorization')).replace('Bearer ', '');
  const m = await jwtVerify(minted, remote, { issuer: 'linkport', audience: 'linkport' });
  assert.equal(m.payload.scope, 'links:read');
});

void test('with PostgreSQL unreachable, a valid JWT still verifies (no admin elevation); API keys cannot', async (t) => {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const env = { JWT_PRIVATE_KEYS: JSON.stringify([{ ...(await exportJWK(privateKey)), kid: 'k1' }]) };
  const b = await build(t, { env });
  const s = await newUser(b.app);
  const k = (await b.app.inject({ method: 'POST', url: '/v1/core/api-keys', headers: bearer(s.access), payload: { name: 'k', scopes: ['links:read'] } })).json();
  // Same keys, but a database address where nothing listens.
  const down = await b.another({ ...env, DATABASE_URL: 'postgres://core_service:x@127.0.0.1:1/none' });
  const res = await down.inject(verify(bearer(s.access)));
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.headers['x-user-id'], s.userId);
  assert.equal(res.headers['x-user-role'], 'user');
  assert.equal(errorCode(await down.inject(verify(bearer(k.key))), 503), 'AUTH_UNAVAILABLE', 'an API key needs its row');
  assert.equal((await down.inject({ method: 'GET', url: '/health/ready' })).statusCode, 503);
});

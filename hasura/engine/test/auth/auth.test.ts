/**
 * Auth modes as Hasura resolves them (docs/research/hasura-v2.md §B.1, §B.4): admin secret and impersonation,
 * unauthorized role, JWT (HS256 key; RS256 through a real JWKS server with caching; expiry,
 * audience, issuer, claims_map, namespace path, stringified claims), webhook GET and POST.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair, type JWTPayload } from 'jose';
import { Authenticator } from '../../src/auth/session.ts';
import { QErr } from '../../src/errors.ts';
import { parseJwtConfig } from '../../src/auth/jwt.config.ts';
import { buildTestApp, post } from '../http/helper.ts';

const NS = 'https://hasura.io/jwt/claims';
const hsKey = 'a-very-long-hs256-secret-for-tests-only-0123456789';
const claims = (extra: Record<string, unknown> = {}) => ({
  [NS]: { 'x-hasura-allowed-roles': ['user', 'user_readonly'], 'x-hasura-default-role': 'user', 'x-hasura-user-id': 'u1', ...extra },
});

async function hs256(payload: JWTPayload, opts: { exp?: number | string; aud?: string; iss?: string; key?: string } = {}) {
  let jwt = new SignJWT(payload).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setSubject('u1');
  jwt = jwt.setExpirationTime(opts.exp ?? '10m');
  if (opts.aud) jwt = jwt.setAudience(opts.aud);
  if (opts.iss) jwt = jwt.setIssuer(opts.iss);
  return jwt.sign(new TextEncoder().encode(opts.key ?? hsKey));
}

async function rejects(p: Promise<unknown>, code: string, message: string) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof QErr, String(err));
    assert.equal(err.code, code);
    assert.equal(err.message, message);
    return true;
  });
}

void test('no admin secret configured: admin, or the role asked for', async () => {
  const auth = new Authenticator({});
  assert.deepEqual((await auth.authenticate({})).session, { role: 'admin', vars: { 'x-hasura-role': 'admin' }, isAdmin: true });
  const s = (await auth.authenticate({ 'x-hasura-role': 'user', 'x-hasura-user-id': '7' })).session;
  assert.equal(s.role, 'user');
  assert.equal(s.vars['x-hasura-user-id'], '7');
});

void test('admin secret: right, wrong, missing, impersonation, unauthorized role', async () => {
  const auth = new Authenticator({ adminSecret: 'sekret' });
  assert.equal((await auth.authenticate({ 'x-hasura-admin-secret': 'sekret' })).session.role, 'admin');
  const imp = (await auth.authenticate({ 'x-hasura-admin-secret': 'sekret', 'x-hasura-role': 'user', 'x-hasura-user-id': '1' })).session;
  assert.deepEqual(imp, { role: 'user', vars: { 'x-hasura-role': 'user', 'x-hasura-user-id': '1' }, isAdmin: true });
  assert.equal((await auth.authenticate({ 'x-hasura-access-key': 'sekret' })).session.role, 'admin');
  await rejects(auth.authenticate({ 'x-hasura-admin-secret': 'nope' }), 'access-denied', 'invalid x-hasura-admin-secret/x-hasura-access-key');
  await rejects(auth.authenticate({}), 'access-denied', 'x-hasura-admin-secret/x-hasura-access-key required, but not found');
  const anon = new Authenticator({ adminSecret: 'sekret', unauthorizedRole: 'anonymous' });
  assert.equal((await anon.authenticate({})).session.role, 'anonymous');
  assert.equal((await anon.authenticate({})).session.isAdmin, false);
});

void test('JWT HS256: claims, role header, expiry, audience, issuer, signature', async () => {
  const auth = new Authenticator({
    adminSecret: 'sekret',
    jwt: parseJwtConfig(JSON.stringify({ type: 'HS256', key: hsKey, audience: 'linkport', issuer: 'core' })),
  });
  const good = await hs256(claims(), { aud: 'linkport', iss: 'core' });
  const r = await auth.authenticate({ authorization: `Bearer ${good}` });
  assert.deepEqual(r.session, { role: 'user', vars: { 'x-hasura-user-id': 'u1', 'x-hasura-role': 'user' }, isAdmin: false });
  assert.ok(r.expiresAt && r.expiresAt > Date.now());
  // Request headers are not session variables in JWT mode, except x-hasura-role.
  const ro = await auth.authenticate({ authorization: `Bearer ${good}`, 'x-hasura-role': 'user_readonly', 'x-hasura-user-id': 'evil' });
  assert.equal(ro.session.role, 'user_readonly');
  assert.equal(ro.session.vars['x-hasura-user-id'], 'u1');
  await rejects(auth.authenticate({ authorization: `Bearer ${good}`, 'x-hasura-role': 'admin' }), 'access-denied', 'Your requested role is not in allowed roles');
  const expired = await hs256(claims(), { aud: 'linkport', iss: 'core', exp: Math.floor(Date.now() / 1000) - 60 });
  await rejects(auth.authenticate({ authorization: `Bearer ${expired}` }), 'invalid-jwt', 'Could not verify JWT: JWTExpired');
  await rejects(auth.authenticate({ authorization: `Bearer ${await hs256(claims(), { aud: 'other', iss: 'core' })}` }), 'invalid-jwt', 'Could not verify JWT: JWTNotInAudience');
  await rejects(auth.authenticate({ authorization: `Bearer ${await hs256(claims(), { aud: 'linkport', iss: 'x' })}` }), 'invalid-jwt', 'Could not verify JWT: JWTNotInIssuer');
  const forged = await hs256(claims(), { aud: 'linkport', iss: 'core', key: 'another-key-another-key-another-key-000' });
  await rejects(auth.authenticate({ authorization: `Bearer ${forged}` }), 'invalid-jwt', 'Could not verify JWT: JWSError JWSInvalidSignature');
  await rejects(auth.authenticate({ authorization: 'Basic abc' }), 'invalid-headers', 'Malformed Authorization header');
  await rejects(auth.authenticate({}), 'invalid-headers', "Missing 'Authorization' or 'Cookie' header in JWT authentication mode");
  const noRoles = await hs256({ [NS]: { 'x-hasura-default-role': 'user' } }, { aud: 'linkport', iss: 'core' });
  await rejects(auth.authenticate({ authorization: `Bearer ${noRoles}` }), 'jwt-missing-role-claims', 'JWT claim does not contain x-hasura-allowed-roles');
  const stringRoles = await hs256({ [NS]: { 'x-hasura-allowed-roles': 'user', 'x-hasura-default-role': 'user' } }, { aud: 'linkport', iss: 'core' });
  await rejects(
    auth.authenticate({ authorization: `Bearer ${stringRoles}` }),
    'jwt-invalid-claims',
    'invalid x-hasura-allowed-roles; should be a list of roles: parsing [] failed, expected Array, but encountered String',
  );
  // The admin secret wins over any token; no token falls back to the unauthorized role if set.
  assert.equal((await auth.authenticate({ 'x-hasura-admin-secret': 'sekret', authorization: 'Bearer junk' })).session.role, 'admin');
  const withAnon = new Authenticator({ adminSecret: 's', unauthorizedRole: 'anonymous', jwt: parseJwtConfig(JSON.stringify({ type: 'HS256', key: hsKey })) });
  assert.equal((await withAnon.authenticate({})).session.role, 'anonymous');
});

void test('JWT claims_namespace_path, stringified claims, claims_map', async () => {
  const pathAuth = new Authenticator({ adminSecret: 's', jwt: parseJwtConfig(JSON.stringify({ type: 'HS256', key: hsKey, claims_namespace_path: '$.hasura.claims' })) });
  const t1 = await hs256({ hasura: { claims: { 'X-Hasura-Allowed-Roles': ['user'], 'X-Hasura-Default-Role': 'user', 'X-Hasura-User-Id': '9' } } });
  assert.equal((await pathAuth.authenticate({ authorization: `Bearer ${t1}` })).session.vars['x-hasura-user-id'], '9');

  const strAuth = new Authenticator({ adminSecret: 's', jwt: parseJwtConfig(JSON.stringify({ type: 'HS256', key: hsKey, claims_format: 'stringified_json' })) });
  const t2 = await hs256({ [NS]: JSON.stringify({ 'x-hasura-allowed-roles': ['user'], 'x-hasura-default-role': 'user', 'x-hasura-user-id': '3' }) });
  assert.equal((await strAuth.authenticate({ authorization: `Bearer ${t2}` })).session.vars['x-hasura-user-id'], '3');

  const mapAuth = new Authenticator({
    adminSecret: 's',
    jwt: parseJwtConfig(
      JSON.stringify({
        type: 'HS256',
        key: hsKey,
        claims_map: {
          'x-hasura-allowed-roles': { path: '$.roles' },
          'x-hasura-default-role': { path: '$.roles[0]' },
          'x-hasura-user-id': { path: "$['user']['id']" },
          'x-hasura-org': { path: '$.org', default: 'none' },
          'x-hasura-static': 'fixed',
        },
      }),
    ),
  });
  const t3 = await hs256({ roles: ['user', 'user_readonly'], user: { id: '42' } });
  const s3 = (await mapAuth.authenticate({ authorization: `Bearer ${t3}` })).session;
  assert.deepEqual(s3, { role: 'user', vars: { 'x-hasura-user-id': '42', 'x-hasura-org': 'none', 'x-hasura-static': 'fixed', 'x-hasura-role': 'user' }, isAdmin: false });
  const t4 = await hs256({ roles: ['user'] });
  await rejects(mapAuth.authenticate({ authorization: `Bearer ${t4}` }), 'jwt-invalid-claims', 'JWT claim from claims_map, x-hasura-user-id not found');
});

void test('JWT RS256 from a JWKS URL: cached per Cache-Control, refetched for a new kid', async (t) => {
  const k1 = await generateKeyPair('RS256');
  const k2 = await generateKeyPair('RS256');
  const jwks = { keys: [{ ...(await exportJWK(k1.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }] };
  let hits = 0;
  const server = http.createServer((_req, res) => {
    hits++;
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=300' });
    res.end(JSON.stringify(jwks));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  const auth = new Authenticator(
    { adminSecret: 's', jwt: parseJwtConfig(JSON.stringify({ jwk_url: url, issuer: 'linkport', audience: 'linkport' })) },
    { minRefetchMs: 0 },
  );
  const sign = (key: CryptoKeyLike, kid: string) =>
    new SignJWT(claims()).setProtectedHeader({ alg: 'RS256', kid }).setIssuer('linkport').setAudience('linkport').setExpirationTime('5m').sign(key);
  const tok = await sign(k1.privateKey, 'k1');
  assert.equal((await auth.authenticate({ authorization: `Bearer ${tok}` })).session.role, 'user');
  assert.equal((await auth.authenticate({ authorization: `Bearer ${tok}` })).session.role, 'user');
  assert.equal(hits, 1, 'the JWKS is cached for max-age');
  // Core rotates in a new key: a token with an unknown kid triggers one refetch.
  jwks.keys.push({ ...(await exportJWK(k2.publicKey)), kid: 'k2', alg: 'RS256', use: 'sig' });
  const tok2 = await sign(k2.privateKey, 'k2');
  assert.equal((await auth.authenticate({ authorization: `Bearer ${tok2}` })).session.role, 'user');
  assert.equal(hits, 2);
  const forged = await sign((await generateKeyPair('RS256')).privateKey, 'k1');
  await rejects(auth.authenticate({ authorization: `Bearer ${forged}` }), 'invalid-jwt', 'Could not verify JWT: JWSError JWSInvalidSignature');
});

type CryptoKeyLike = Parameters<SignJWT['sign']>[0];

void test('webhook GET and POST modes', async (t) => {
  const seen: Array<{ method: string; headers: http.IncomingHttpHeaders; body: string }> = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += String(c)));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', headers: req.headers, body });
      const token = req.method === 'GET' ? req.headers.authorization : (JSON.parse(body) as { headers: Record<string, string> }).headers.authorization;
      if (token === 'Bearer good') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ 'X-Hasura-Role': 'user', 'X-Hasura-User-Id': '5' }));
      } else if (token === 'Bearer broken') {
        res.writeHead(500);
        res.end('oops');
      } else {
        res.writeHead(401);
        res.end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/auth`;

  const get = new Authenticator({ adminSecret: 's', authHook: { url, mode: 'GET' } });
  const s = (await get.authenticate({ authorization: 'Bearer good', 'user-agent': 'x', 'x-custom': 'c' })).session;
  assert.deepEqual(s, { role: 'user', vars: { 'x-hasura-role': 'user', 'x-hasura-user-id': '5' }, isAdmin: false });
  assert.equal(seen.at(-1)!.headers['x-custom'], 'c');
  assert.notEqual(seen.at(-1)!.headers['user-agent'], 'x', 'common headers are not forwarded');
  await rejects(get.authenticate({ authorization: 'Bearer bad' }), 'access-denied', 'Authentication hook unauthorized this request');
  await rejects(get.authenticate({ authorization: 'Bearer broken' }), 'unexpected', 'Invalid response from authorization hook');
  assert.equal((await get.authenticate({ 'x-hasura-admin-secret': 's' })).session.role, 'admin');

  const postMode = new Authenticator({ adminSecret: 's', authHook: { url, mode: 'POST' } });
  const req = { query: '{ x }', variables: { a: 1 }, operationName: null };
  assert.equal((await postMode.authenticate({ authorization: 'Bearer good' }, req)).session.role, 'user');
  const last = JSON.parse(seen.at(-1)!.body) as { headers: Record<string, string>; request: unknown };
  assert.equal(seen.at(-1)!.method, 'POST');
  assert.deepEqual(last.request, req);
});

void test('over HTTP: /v1/graphql answers auth errors with 200, /v1alpha1 with their status', async (t) => {
  const { app } = await buildTestApp(t, {
    env: { HASURA_GRAPHQL_ADMIN_SECRET: 'sekret', HASURA_GRAPHQL_JWT_SECRET: JSON.stringify({ type: 'HS256', key: hsKey }), HASURA_GRAPHQL_UNAUTHORIZED_ROLE: 'anonymous' },
  });
  const tok = await hs256(claims());
  const who = await post(app, '/v1/graphql', { query: '{ whoami }' }, { authorization: `Bearer ${tok}` });
  assert.deepEqual(who.body.data.whoami, { role: 'user', vars: { 'x-hasura-user-id': 'u1', 'x-hasura-role': 'user' }, isAdmin: false });
  const anon = await post(app, '/v1/graphql', { query: '{ whoami }' });
  assert.equal(anon.body.data.whoami.role, 'anonymous');
  const imp = await post(app, '/v1/graphql', { query: '{ whoami }' }, { 'x-hasura-admin-secret': 'sekret', 'x-hasura-role': 'user', 'X-Hasura-User-Id': '3' });
  assert.deepEqual(imp.body.data.whoami, { role: 'user', vars: { 'x-hasura-role': 'user', 'x-hasura-user-id': '3' }, isAdmin: true });
  const expired = await hs256(claims(), { exp: Math.floor(Date.now() / 1000) - 100 });
  const v1 = await post(app, '/v1/graphql', { query: '{ whoami }' }, { authorization: `Bearer ${expired}` });
  assert.equal(v1.status, 200);
  assert.deepEqual(v1.body, { errors: [{ extensions: { path: '$', code: 'invalid-jwt' }, message: 'Could not verify JWT: JWTExpired' }] });
  const alpha = await post(app, '/v1alpha1/graphql', { query: '{ whoami }' }, { authorization: `Bearer ${expired}` });
  assert.equal(alpha.status, 400);
  const wrongSecret = await post(app, '/v1alpha1/graphql', { query: '{ whoami }' }, { 'x-hasura-admin-secret': 'x' });
  assert.equal(wrongSecret.status, 401);
  assert.equal(wrongSecret.body.errors[0].extensions.code, 'access-denied');
});

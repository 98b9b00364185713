import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { TestContext } from 'node:test';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createTestDatabase, startS3Server, type RunningS3, type TestDatabase } from '@linkport/devstack/testing';
import { buildApp, mediaOf, type MediaHandle } from '../src/app.ts';
import { loadMediaConfig, type Config } from '../src/config.ts';

export const BUCKET = 'linkport-media';

export interface Issuer {
  jwksUrl: string;
  /** A JWT shaped like core's (CONTRIBUTING.md "Tokens"); `scope` makes it an API-key token. */
  token(userId: string, opts?: { scope?: string; role?: string; iss?: string; aud?: string; expiresIn?: string; key?: 'other' }): Promise<string>;
  close(): Promise<void>;
}

/** An RS256 key pair with its JWKS served by a real HTTP server on port 0. */
export async function startIssuer(): Promise<Issuer> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const stranger = await generateKeyPair('RS256');
  const kid = 'test-key-1';
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' }] });
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(jwks);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    jwksUrl: `http://127.0.0.1:${port}/v1/core/.well-known/jwks.json`,
    async token(userId, opts = {}) {
      const claims: Record<string, unknown> = {
        'https://hasura.io/jwt/claims': {
          'x-hasura-user-id': userId,
          'x-hasura-default-role': 'user',
          'x-hasura-allowed-roles': ['user'],
        },
      };
      if (opts.scope !== undefined) Object.assign(claims, { scope: opts.scope, auth_method: 'api_key' });
      if (opts.role) claims.role = opts.role;
      const key: CryptoKey = opts.key === 'other' ? stranger.privateKey : privateKey;
      return new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid })
        .setSubject(userId)
        .setIssuer(opts.iss ?? 'linkport')
        .setAudience(opts.aud ?? 'linkport')
        .setIssuedAt()
        .setExpirationTime(opts.expiresIn ?? '15m')
        .sign(key);
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export interface Harness {
  app: FastifyInstance;
  config: Config;
  db: TestDatabase;
  s3: RunningS3;
  issuer: Issuer;
  /** A user row in core.users (media.assets.owner_id references it) and a session token. */
  newUser(opts?: { role?: string }): Promise<{ id: string; token: string; auth: { authorization: string } }>;
  admin: pg.Pool;
  media(): MediaHandle;
}

/**
 * The S3 server with a per-test directory. (common's startTestS3 wraps `stop` by reassigning it on
 * the same object, so its stop() calls itself forever; this avoids it.)
 */
export async function startS3(corsOrigins: string[] = [], buckets = [BUCKET]): Promise<RunningS3> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'linkport-media-s3-'));
  const s = await startS3Server({ dir, buckets, corsOrigins });
  const stop = s.stop;
  return {
    ...s,
    stop: async () => {
      await stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The app on a fresh database, a real S3 server and a real JWKS endpoint; torn down after `t`. */
export async function build(
  t: TestContext,
  env: Record<string, string> = {},
  opts: { corsOrigins?: string[]; logStream?: NodeJS.WritableStream } = {},
): Promise<Harness> {
  const db = await createTestDatabase();
  const s3 = await startS3(opts.corsOrigins ?? []);
  const issuer = await startIssuer();
  const config = loadMediaConfig({
    DATABASE_URL: db.roleUrl('media_service'),
    S3_ENDPOINT: s3.endpoint,
    S3_ACCESS_KEY_ID: s3.accessKeyId,
    S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
    S3_BUCKET: BUCKET,
    MEDIA_PUBLIC_BASE_URL: 'https://cdn.example.test/media',
    JWKS_URL: issuer.jwksUrl,
    LOG_LEVEL: 'silent',
    MEDIA_EXPIRY_INTERVAL_SECONDS: '0',
    ...env,
  });
  const app = await buildApp(config, opts.logStream ? { logStream: opts.logStream } : {});
  await app.ready();
  const admin = new pg.Pool({ connectionString: db.adminUrl, max: 2 });
  admin.on('error', () => {});
  t.after(async () => {
    await app.close();
    await admin.end();
    await issuer.close();
    await s3.stop();
    await db.drop();
  });
  return {
    app,
    config,
    db,
    s3,
    issuer,
    admin,
    media: () => mediaOf(app),
    async newUser(o = {}) {
      const id = randomUUID();
      await admin.query("INSERT INTO core.users (id, email, password_hash, role) VALUES ($1, $2, 'x', $3)", [
        id,
        `${id}@example.test`,
        o.role === 'admin' ? 'admin' : 'user',
      ]);
      const token = await issuer.token(id, o.role ? { role: o.role } : {});
      return { id, token, auth: { authorization: `Bearer ${token}` } };
    },
  };
}

export const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000200e22f7e6d0000000049454e44ae426082', 'hex');

/** A body of `n` bytes starting with the PNG signature. */
export function pngOfSize(n: number): Buffer {
  const b = Buffer.alloc(n, 7);
  PNG.copy(b, 0, 0, Math.min(PNG.length, n));
  return b;
}

export interface UploadResponse {
  id: string;
  mode: 'single' | 'multipart';
  upload: { method: 'PUT'; url: string; headers: Record<string, string>; expiresAt: string } | null;
  multipart: { partSize: number; partCount: number } | null;
  expiresAt: string;
  asset: { id: string; filename: string; status: string };
}

export async function createUpload(h: Harness, auth: { authorization: string }, body: Record<string, unknown>): Promise<UploadResponse> {
  const res = await h.app.inject({ method: 'POST', url: '/v1/media/uploads', headers: auth, payload: body });
  if (res.statusCode !== 201) throw new Error(`create upload: ${res.statusCode} ${res.body}`);
  return res.json<UploadResponse>();
}

/** PUT with fetch (undici): the real HTTP client path a browser or SDK takes. */
export async function put(url: string, headers: Record<string, string>, body: Buffer): Promise<Response> {
  const h = { ...headers };
  // fetch computes content-length itself (a forbidden header to set by hand in the Fetch spec).
  delete h['content-length'];
  return fetch(url, { method: 'PUT', headers: h, body });
}

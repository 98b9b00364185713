import { after, before, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import pg from 'pg';
import { createTestDatabase, startTestRedis, type TestDatabase } from '@linkport/devstack/testing';
import { buildApp, type AppOptions } from '../src/app.ts';
import { configSchema, type Config } from '../src/config.ts';

export interface Built {
  app: FastifyInstance;
  db: TestDatabase;
  config: Config;
  redisUrl: string;
  /** Moves the app's clock (and only it) forward. */
  advance(ms: number): void;
  /** Another instance on the same database and Redis (multi-instance tests), closed with the first. */
  another(env?: Record<string, string>, app?: AppOptions): Promise<FastifyInstance>;
}

/**
 * A cheaper argon2id profile for tests: same algorithm and code path, less memory, so a file that
 * registers dozens of users stays fast. Production uses defaultHashParams.
 */
export const testHashParams = { memoryCost: 4096, timeCost: 2, parallelism: 1 };

let fileDb: TestDatabase | undefined;

/**
 * One migrated database for every test of the calling file (cloning the template costs about a
 * second). Tests stay independent: each makes its own users (unique emails) and its own app and
 * redis-server. Files whose tests need an empty database (signing keys) do not call this.
 */
export function useFileDatabase(): void {
  before(async () => {
    fileDb = await createTestDatabase();
  });
  after(async () => {
    await fileDb?.drop();
    fileDb = undefined;
  });
}

/** The app against a migrated database (as `core_service`) and its own redis-server. */
export async function build(t: TestContext, opts: { env?: Record<string, string>; app?: AppOptions } = {}): Promise<Built> {
  const shared = fileDb;
  const db = shared ?? (await createTestDatabase());
  const redis = await startTestRedis();
  const apps: FastifyInstance[] = [];
  // One hook, in reverse order of creation: the apps let go of their pools before the database goes.
  t.after(async () => {
    for (const a of apps.reverse()) await a.close();
    await redis.stop();
    if (!shared) await db.drop();
  });
  const config = configSchema.parse({
    DATABASE_URL: db.roleUrl('core_service'),
    REDIS_URL: redis.url,
    LOG_LEVEL: 'silent',
    ...opts.env,
  });
  let offset = 0;
  const clock = () => Date.now() + offset;
  const start = async (cfg: Config, o?: AppOptions) => {
    const a = await buildApp(cfg, { clock, hashParams: testHashParams, ...o });
    apps.push(a);
    await a.ready();
    return a;
  };
  const app = await start(config, opts.app);
  return {
    app,
    db,
    config,
    redisUrl: redis.url,
    advance: (ms) => void (offset += ms),
    another: (env = {}, o) => start(configSchema.parse({ ...opts.env, DATABASE_URL: config.DATABASE_URL, REDIS_URL: config.REDIS_URL, LOG_LEVEL: 'silent', ...env }), o),
  };
}

let seq = 0;
export function uniqueEmail(tag = 'user'): string {
  return `${tag}-${process.pid}-${++seq}-${randomBytes(3).toString('hex')}@example.com`;
}

export interface Session {
  email: string;
  password: string;
  userId: string;
  access: string;
  refresh: string;
}

/** Registers a new user through the API (factory, docs/style.md §7). */
export async function newUser(app: FastifyInstance, overrides: { email?: string; password?: string; display_name?: string } = {}): Promise<Session> {
  const email = overrides.email ?? uniqueEmail();
  const password = overrides.password ?? `pw-${randomBytes(8).toString('hex')}`;
  const res = await app.inject({ method: 'POST', url: '/v1/core/auth/register', payload: { email, password, display_name: overrides.display_name } });
  assert.equal(res.statusCode, 201, res.body);
  const body = res.json<{ access_token: string; refresh_token: string; user: { id: string; email: string } }>();
  return { email: body.user.email, password, userId: body.user.id, access: body.access_token, refresh: body.refresh_token };
}

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

/** Asserts common's error shape and returns its code. */
export function errorCode(res: LightMyRequestResponse, status: number): string {
  assert.equal(res.statusCode, status, `expected ${status}, got ${res.statusCode}: ${res.body}`);
  const body = res.json<{ error: { code: string; message: string; requestId?: string } }>();
  assert.equal(typeof body.error.code, 'string');
  assert.equal(typeof body.error.message, 'string');
  assert.equal(body.error.requestId, res.headers['x-request-id']);
  return body.error.code;
}

export function jwtPayload(token: string): Record<string, unknown> {
  const part = token.split('.')[1];
  assert.ok(part, 'not a JWT');
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** One query as the superuser (test setup and assertions behind the service's back). */
export async function sql<R extends pg.QueryResultRow = Record<string, unknown>>(db: TestDatabase, text: string, values: unknown[] = []): Promise<R[]> {
  const c = new pg.Client({ connectionString: db.adminUrl });
  await c.connect();
  try {
    return (await c.query<R>(text, values)).rows;
  } finally {
    await c.end();
  }
}

/**
 * Builds the engine's app against a fresh test database, with the real query engine or a small
 * fake one that echoes the session (for auth and HTTP tests that are not about SQL).
 */
import type { TestContext } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createTestDatabase, type TestDatabase } from '@linkport/devstack/testing';
import { buildApp, type AppDeps } from '../../src/app.ts';
import { loadEngineConfig } from '../../src/config.ts';
import type { GraphQLEngine, Metadata } from '../../src/contract.ts';

export class FakeEngine implements GraphQLEngine {
  reloads: Metadata[] = [];
  /** `{ whoami }` answers the session; `{ boom }` throws; anything else answers `{data: {ok: true}}`. */
  async execute(req: { query: string }, session: { role: string; vars: Record<string, string>; isAdmin: boolean }) {
    if (req.query.includes('boom')) throw new Error('kaboom');
    if (req.query.includes('invalid')) return { errors: [{ extensions: { path: '$', code: 'validation-failed' }, message: 'invalid' }] };
    if (req.query.includes('whoami')) return { data: { whoami: { role: session.role, vars: session.vars, isAdmin: session.isAdmin } } };
    return { data: { ok: true } };
  }
  async reload(m: Metadata) {
    this.reloads.push(structuredClone(m));
  }
  roles() {
    return [];
  }
}

export interface TestApp {
  app: FastifyInstance;
  db: TestDatabase;
  fake?: FakeEngine;
}

export async function buildTestApp(
  t: TestContext,
  opts: { env?: Record<string, string>; fake?: boolean; migrated?: boolean; role?: 'links_admin' | 'superuser'; deps?: AppDeps } = {},
): Promise<TestApp> {
  const db = await createTestDatabase({ migrated: opts.migrated ?? false });
  t.after(() => db.drop());
  const url = opts.role === 'links_admin' ? db.roleUrl('links_admin') : db.adminUrl;
  const config = loadEngineConfig({ HASURA_GRAPHQL_DATABASE_URL: url, LOG_LEVEL: 'silent', ...opts.env });
  const fake = opts.fake === false ? undefined : new FakeEngine();
  const app = await buildApp(config, { ...opts.deps, ...(fake ? { createEngine: async () => fake } : {}) });
  t.after(() => app.close());
  return fake ? { app, db, fake } : { app, db };
}

/** POST JSON through app.inject and parse the answer. */
export async function post(app: FastifyInstance, url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await app.inject({ method: 'POST', url, payload: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });
  let json: unknown;
  try {
    json = JSON.parse(res.body);
  } catch {
    json = res.body;
  }
  // Tests read answers loosely (`body.errors[0].extensions.code`): the shapes are what they assert.
  return { status: res.statusCode, body: json as any, headers: res.headers };
}

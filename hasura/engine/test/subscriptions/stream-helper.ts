/**
 * Shared setup of the streaming subscription tests: a fresh database with upstream's streaming
 * fixture tables (server/tests-py/queries/subscriptions/streaming/setup.yaml, in `public`), and
 * the real engine with a counted live pool.
 */
import type { TestContext } from 'node:test';
import pg from 'pg';
import { createTestDatabase } from '@linkport/devstack/testing';
import { createEngine } from '../../src/engine.ts';
import type { GraphQLEngine, Metadata, Session } from '../../src/contract.ts';

export const streamMetadata: Metadata = {
  version: 3,
  sources: [{
    name: 'default', kind: 'postgres', configuration: {},
    tables: [
      { table: { schema: 'public', name: 'test_t2' } },
      {
        table: { schema: 'public', name: 'articles' },
        select_permissions: [
          { role: 'public', permission: { columns: ['title', 'content'], filter: { is_public: true } } },
          { role: 'user', permission: { columns: ['id', 'title', 'owner'], filter: { owner: { _eq: 'X-Hasura-User-Id' } } } },
        ],
      },
      { table: { schema: 'public', name: 'users' }, configuration: { custom_column_names: { id: 'userId' } } },
    ],
  }],
};

export const SETUP_SQL = `
  CREATE TABLE test_t2 (c1 int, c2 text, created_at timestamptz DEFAULT now());
  CREATE TABLE articles (id serial PRIMARY KEY, content text, title text, is_public bool DEFAULT false, owner text, priority int);
  CREATE TABLE users (id int PRIMARY KEY, name text);
  INSERT INTO users (id, name) VALUES (1, 'Name 1'), (2, 'Name 2');`;

export const admin: Session = { role: 'admin', vars: { 'x-hasura-role': 'admin' }, isAdmin: true };
export const user = (id: string): Session => ({ role: 'user', vars: { 'x-hasura-role': 'user', 'x-hasura-user-id': id }, isAdmin: false });

export interface StreamSetup {
  pool: pg.Pool;
  livePool: pg.Pool;
  engine: GraphQLEngine;
  url: string;
  /** Statements the live pool ran (every one: the multiplexer must add no hidden query). */
  statements(): number;
}

export async function setupStreams(t: TestContext): Promise<StreamSetup> {
  const db = await createTestDatabase({ migrated: false });
  const pool = new pg.Pool({ connectionString: db.adminUrl, max: 4 });
  const livePool = new pg.Pool({ connectionString: db.adminUrl, max: 4 });
  for (const p of [pool, livePool]) p.on('error', () => undefined);
  t.after(async () => { await pool.end(); await livePool.end(); await db.drop(); });
  await pool.query(SETUP_SQL);
  let statements = 0;
  const query = livePool.query.bind(livePool) as (...a: unknown[]) => Promise<unknown>;
  (livePool as unknown as { query: (...a: unknown[]) => Promise<unknown> }).query = (...a: unknown[]) => { statements++; return query(...a); };
  const engine = await createEngine(pool, streamMetadata, { livePool });
  return { pool, livePool, engine, url: db.adminUrl, statements: () => statements };
}

export async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '@linkport/devstack/testing';
import type { EngineOptions, GraphQLEngine, GraphQLResponse, Metadata, Session } from '../../src/contract.ts';
import { createEngine } from '../../src/engine.ts';
import { linksMetadata, SEED_SQL } from './fixtures.ts';

export interface Harness {
  db: TestDatabase;
  pool: pg.Pool;
  engine: GraphQLEngine;
  q(query: string, session?: Session, variables?: Record<string, unknown>): Promise<GraphQLResponse>;
  close(): Promise<void>;
}

export const admin: Session = { role: 'admin', vars: {}, isAdmin: true };
export const user = (id: string): Session => ({ role: 'user', vars: { 'x-hasura-role': 'user', 'x-hasura-user-id': id }, isAdmin: false });
export const anonymous: Session = { role: 'anonymous', vars: {}, isAdmin: false };

/** A fresh migrated database with the seed rows, and an engine over it as `links_admin`. */
export async function harness(metadata: Metadata = linksMetadata(), opts: EngineOptions = {}): Promise<Harness> {
  const db = await createTestDatabase();
  const seed = new pg.Client({ connectionString: db.adminUrl });
  await seed.connect();
  await seed.query(SEED_SQL);
  await seed.end();
  const pool = new pg.Pool({ connectionString: db.roleUrl('links_admin'), max: 4 });
  pool.on('error', () => undefined); // idle clients of a dropped database
  const engine = await createEngine(pool, metadata, { stringifyNumericTypes: true, ...opts });
  return {
    db, pool, engine,
    q: (query, session = admin, variables) => engine.execute({ query, variables: variables ?? null }, session),
    close: async () => { await pool.end(); await db.drop(); },
  };
}

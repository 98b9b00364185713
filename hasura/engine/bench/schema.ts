/**
 * npm run bench:schema -w @linkport/hasura-engine
 *
 * Schema building: time and memory to go from metadata to a served schema (introspection, model,
 * the admin schema built eagerly, then every role's schema) — for the project's metadata
 * (hasura/metadata on the migrated links schema) and for a generated 200-table metadata (each
 * table with an object and an array relationship, a computed-field-free select permission for
 * two roles). Median of N rebuilds after one warm-up; heap measured before the engine exists and after
 * (the engine's retained state, after a forced GC; the script runs node with --expose-gc).
 */
import path from 'node:path';
import pg from 'pg';
import { createTestDatabase } from '@linkport/devstack/testing';
import { createEngine } from '../src/engine.ts';
import type { Metadata, Session } from '../src/contract.ts';
import { loadMetadataDir } from '../src/metadata/files.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const gc = (globalThis as { gc?: () => void }).gc;

async function measure(label: string, pool: pg.Pool, md: Metadata, roles: string[]): Promise<void> {
  gc?.();
  const base = process.memoryUsage().heapUsed;
  const engine = await createEngine(pool, md);
  const q = async (role: string) => {
    const s: Session = role === 'admin' ? { role, vars: {}, isAdmin: true } : { role, vars: { 'x-hasura-user-id': '1' }, isAdmin: false };
    const r = await engine.execute({ query: '{ __typename }' }, s);
    if (r.errors) throw new Error(`${label}: ${JSON.stringify(r.errors)}`);
  };
  const times: number[] = [];
  for (let i = 0; i <= RUNS; i++) {
    const t0 = performance.now();
    await engine.reload(md);
    for (const role of roles) await q(role); // role schemas are built on first use
    if (i > 0) times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  gc?.();
  const grown = process.memoryUsage().heapUsed - base; // the engine's retained state: model + role schemas
  const tables = md.sources.reduce((n, s) => n + s.tables.length, 0);
  console.log(`${label}: ${tables} tables, roles ${roles.join(',')}: build median ${times[Math.floor(times.length / 2)]!.toFixed(1)} ms (min ${times[0]!.toFixed(1)}, max ${times.at(-1)!.toFixed(1)}), retained heap ${gc ? `${(grown / 1048576).toFixed(1)} MiB` : 'n/a (run with --expose-gc)'}, rss ${(process.memoryUsage().rss / 1048576).toFixed(0)} MiB`);
}

const project = await createTestDatabase({ migrated: true });
const generated = await createTestDatabase({ migrated: false });
try {
  const pool = new pg.Pool({ connectionString: project.adminUrl, max: 4 });
  const md = loadMetadataDir(path.resolve(import.meta.dirname, '../../metadata'));
  await measure('project metadata', pool, md, ['admin', 'user', 'user_readonly', 'anonymous']);
  await pool.end();

  const N = 200;
  const gpool = new pg.Pool({ connectionString: generated.adminUrl, max: 4 });
  const ddl: string[] = [];
  for (let i = 0; i < N; i++) {
    ddl.push(`CREATE TABLE t${i} (id serial PRIMARY KEY, owner_id int NOT NULL, name text, amount numeric, created_at timestamptz DEFAULT now(), data jsonb, parent_id int${i > 0 ? ` REFERENCES t${i - 1}(id)` : ''});`);
  }
  await gpool.query(ddl.join('\n'));
  const perm = { columns: '*', filter: { owner_id: { _eq: 'X-Hasura-User-Id' } }, allow_aggregations: true };
  const gmd: Metadata = {
    version: 3,
    sources: [{
      name: 'default', kind: 'postgres', configuration: {},
      tables: Array.from({ length: N }, (_, i) => ({
        table: { schema: 'public', name: `t${i}` },
        ...(i > 0 ? { object_relationships: [{ name: 'parent', using: { foreign_key_constraint_on: 'parent_id' } }] } : {}),
        ...(i < N - 1 ? { array_relationships: [{ name: 'children', using: { foreign_key_constraint_on: { table: { schema: 'public', name: `t${i + 1}` }, column: 'parent_id' } } }] } : {}),
        select_permissions: [{ role: 'user', permission: perm }, { role: 'viewer', permission: { ...perm, columns: ['id', 'name'] } }],
      })),
    }],
  };
  await measure('generated metadata', gpool, gmd, ['admin', 'user', 'viewer']);
  await gpool.end();
} finally {
  await project.drop();
  await generated.drop();
}
process.exit(0);

/**
 * npm run bench:schema -w @linkport/hasura-engine
 *
 * Schema building: time and memory to go from metadata to a served schema, for the project's
 * metadata (hasura/metadata on the migrated links schema) and for a generated 200-table metadata
 * (each table with an object and an array relationship, select permissions for two roles and an
 * inherited role over both). Three figures per metadata, median of N runs after one warm-up:
 *
 *  - engine reload: what a metadata change costs — catalog introspection (SQL), the model, the
 *    admin schema, then every role's schema (built on first use, forced by a `{ __typename }`);
 *  - engine build: the model and every role's GraphQLSchema from an already-read catalog (no SQL);
 *  - baseline, same run: graphql-js `buildSchema` of the SDL our schemas print (`printSchema`),
 *    role by role — the same types built by graphql-js alone from text, with no metadata, no
 *    permissions and no resolvers to work out. `engine build / baseline` is the overhead of
 *    deriving the schema from metadata.
 *
 * Memory: heap retained by the engine (model + role schemas) and by the baseline's schemas, after
 * a forced GC (the script runs node with --expose-gc).
 */
import path from 'node:path';
import { buildSchema, printSchema, type GraphQLSchema } from 'graphql';
import pg from 'pg';
import { createTestDatabase } from '@linkport/devstack/testing';
import { createEngine } from '../src/engine.ts';
import type { Metadata, Session } from '../src/contract.ts';
import { loadMetadataDir } from '../src/metadata/files.ts';
import { introspect } from '../src/introspection/introspect.ts';
import { introspectFunctions } from '../src/introspection/functions.ts';
import { introspectEnums } from '../src/introspection/enums.ts';
import { buildModel, referencedFunctions, trackedTables } from '../src/schema/resolve-metadata.ts';
import { buildRoleSchema } from '../src/schema/build-role.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const gc = (globalThis as { gc?: () => void }).gc;

const heap = (): number => { gc?.(); return process.memoryUsage().heapUsed; };
const mib = (b: number): string => (gc ? `${(b / 1048576).toFixed(1)} MiB` : 'n/a (run with --expose-gc)');

async function timed(fn: () => unknown): Promise<{ median: number; min: number; max: number }> {
  const times: number[] = [];
  for (let i = 0; i <= RUNS; i++) {
    const t0 = performance.now();
    await fn();
    if (i > 0) times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)]!, min: times[0]!, max: times.at(-1)! };
}
const fmt = (t: { median: number; min: number; max: number }) => `median ${t.median.toFixed(1)} ms (min ${t.min.toFixed(1)}, max ${t.max.toFixed(1)})`;

async function measure(label: string, pool: pg.Pool, md: Metadata, roles: string[]): Promise<void> {
  const tables = md.sources.reduce((n, s) => n + s.tables.length, 0);
  const base = heap();
  const engine = await createEngine(pool, md);
  const q = async (role: string) => {
    const s: Session = role === 'admin' ? { role, vars: {}, isAdmin: true } : { role, vars: { 'x-hasura-user-id': '1' }, isAdmin: false };
    const r = await engine.execute({ query: '{ __typename }' }, s);
    if (r.errors) throw new Error(`${label}: ${JSON.stringify(r.errors)}`);
  };
  const reload = await timed(async () => { await engine.reload(md); for (const role of roles) await q(role); });
  const engineHeap = heap() - base;

  // The same steps without SQL: the catalog is read once, outside the timing.
  const catalog = await introspect(pool, trackedTables(md).map((t) => t.ref));
  const fns = await introspectFunctions(pool, referencedFunctions(md));
  const enums = await introspectEnums(pool, md, catalog);
  const roleOf = (r: string) => (r === 'admin' ? null : r);
  let schemas: GraphQLSchema[] = [];
  const build = await timed(() => {
    const model = buildModel(md, catalog, fns, enums);
    schemas = roles.map((r) => buildRoleSchema(model, roleOf(r)));
  });
  const sdls = schemas.map((s) => printSchema(s));
  const typeCount = schemas.reduce((n, s) => n + Object.keys(s.getTypeMap()).length, 0);
  schemas = [];
  const before = heap();
  let baseline: GraphQLSchema[] = [];
  const bt = await timed(() => { baseline = sdls.map((sdl) => buildSchema(sdl)); });
  const baselineHeap = heap() - before;
  if (baseline.length !== roles.length) throw new Error('baseline built nothing');
  console.log(`${label}: ${tables} tables, roles ${roles.join(',')} (${typeCount} types in all, SDL ${(sdls.reduce((n, s) => n + s.length, 0) / 1024).toFixed(0)} KiB)`);
  console.log(`  engine reload (SQL + model + schemas): ${fmt(reload)}; retained heap ${mib(engineHeap)}`);
  console.log(`  engine build (model + schemas):        ${fmt(build)}`);
  console.log(`  baseline graphql-js buildSchema(SDL):  ${fmt(bt)}; retained heap ${mib(baselineHeap)}`);
  console.log(`  engine build / baseline: ${(build.median / bt.median).toFixed(2)}x; rss ${(process.memoryUsage().rss / 1048576).toFixed(0)} MiB`);
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
    inherited_roles: [{ role_name: 'user_viewer', role_set: ['user', 'viewer'] }],
  };
  await measure('generated metadata', gpool, gmd, ['admin', 'user', 'viewer', 'user_viewer']);
  await gpool.end();
} finally {
  await project.drop();
  await generated.drop();
}
process.exit(0);

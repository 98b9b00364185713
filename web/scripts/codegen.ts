/**
 * Typed operations, generated (`npm run codegen -w @linkport/web`):
 *
 * 1. The schema a signed-in person sees: a fresh database migrated with migrations/, the committed
 *    metadata (hasura/metadata) loaded into the engine the platform runs, and Hasura's standard
 *    introspection query sent as role `user` — the same answer a third-party client gets from
 *    /v1/links/graphql. Printed as SDL to app/src/generated/user.graphql (committed).
 * 2. The operations: the `web_*` entries of the first-party query collection
 *    (hasura/metadata/query_collections.yaml), which is what the allow-list accepts; the dashboard
 *    sends exactly those texts (test/ops.test.ts).
 * 3. graphql-codegen's `typescript-operations` plugin (v6: it writes the input types too) over (1) and (2) →
 *    app/src/generated/graphql.ts (committed): `<Name>Query`/`<Name>Mutation`/`<Name>Subscription`
 *    and `<Name>…Variables`, used by app/src/ops.ts.
 *
 * test/codegen.test.ts regenerates both in memory and fails on any drift.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { codegen } from '@graphql-codegen/core';
import * as operationsPlugin from '@graphql-codegen/typescript-operations';
import { buildClientSchema, getIntrospectionQuery, lexicographicSortSchema, parse, printSchema, type IntrospectionQuery } from 'graphql';
import pg from 'pg';
import YAML from 'yaml';
import { createTestDatabase } from '@linkport/devstack/testing';
import { createEngine } from '@linkport/hasura-engine/engine.ts';
import { loadMetadataDir, writeMetadataDir } from '@linkport/hasura-engine/metadata/files.ts';
import { normalizeMetadata } from '@linkport/hasura-engine/metadata/model.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const METADATA_DIR = path.join(ROOT, 'hasura', 'metadata');
export const COLLECTIONS_FILE = path.join(METADATA_DIR, 'query_collections.yaml');
export const SDL_FILE = path.resolve(import.meta.dirname, '..', 'app', 'src', 'generated', 'user.graphql');
export const TYPES_FILE = path.resolve(import.meta.dirname, '..', 'app', 'src', 'generated', 'graphql.ts');

/** The role-`user` schema, by introspection of the real engine over a freshly migrated database. */
export async function userSdl(): Promise<string> {
  const db = await createTestDatabase();
  const pool = new pg.Pool({ connectionString: db.roleUrl('links_admin'), max: 2 });
  pool.on('error', () => undefined); // idle clients of the database dropped below
  try {
    const engine = await createEngine(pool, normalizeMetadata(loadMetadataDir(METADATA_DIR)), { stringifyNumericTypes: true });
    const session = { role: 'user', vars: { 'x-hasura-role': 'user', 'x-hasura-user-id': '00000000-0000-4000-8000-000000000000' }, isAdmin: false };
    const res = await engine.execute({ query: getIntrospectionQuery(), variables: null }, session);
    if (res.errors?.length || !res.data) throw new Error(`introspection failed: ${JSON.stringify(res.errors)}`);
    // Sorted: the file changes only when the schema does, not when metadata files are reordered.
    return printSchema(lexicographicSortSchema(buildClientSchema(res.data as unknown as IntrospectionQuery))) + '\n';
  } finally {
    await pool.end();
    await db.drop();
  }
}

/** The dashboard's operations: the `web_*` entries of the first-party collection, by name. */
export function webOperations(file = COLLECTIONS_FILE): Array<{ name: string; query: string }> {
  const collections = YAML.parse(fs.readFileSync(file, 'utf8')) as Array<{ name: string; definition: { queries: Array<{ name: string; query: string }> } }>;
  const fp = collections.find((c) => c.name === 'linkport_first_party');
  if (!fp) throw new Error(`${file}: no linkport_first_party collection`);
  return fp.definition.queries.filter((q) => q.name.startsWith('web_')).sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Hasura's scalars as they arrive in JSON with stringifyNumericTypes (the engine's and Hasura's
 * HASURA_GRAPHQL_STRINGIFY_NUMERIC_TYPES): 64-bit integers and numerics are strings.
 */
const SCALARS = {
  uuid: 'string',
  timestamptz: 'string',
  date: 'string',
  bigint: 'string',
  numeric: 'string',
  smallint: 'number',
  jsonb: 'unknown',
  json: 'unknown',
  _text: 'string[]',
};

export async function operationTypes(sdl: string, ops: Array<{ name: string; query: string }>): Promise<string> {
  const out = await codegen({
    filename: TYPES_FILE,
    schema: parse(sdl),
    documents: ops.map((o) => ({ location: `query_collections.yaml#${o.name}`, document: parse(o.query) })),
    plugins: [{ 'typescript-operations': {} }],
    pluginMap: { 'typescript-operations': operationsPlugin },
    config: {
      // Only what the operations use (their input types, enums), not every table's type.
      onlyOperationTypes: true,
      scalars: SCALARS,
      strictScalars: true,
      avoidOptionals: { field: true, inputValue: false, object: true, defaultValue: false },
      enumsAsTypes: true,
      useTypeImports: true,
      skipTypename: true,
    },
  });
  return `/* Generated by \`npm run codegen -w @linkport/web\` (web/scripts/codegen.ts) from app/src/generated/user.graphql\n * and the web_* entries of hasura/metadata/query_collections.yaml. Do not edit. */\n${out}`;
}

/**
 * `--collection`: writes the `web_*` entries of the collection from app/src/ops.ts (the texts the
 * app sends), replacing those there and keeping every other entry. The file is re-read now and
 * written by the engine's own metadata writer, so it stays as export_metadata would write it (the
 * engine's load → write round-trip test).
 */
async function syncCollection(): Promise<void> {
  const { ALL_OPS } = await import('../app/src/ops.ts');
  const md = loadMetadataDir(METADATA_DIR) as unknown as { query_collections?: Array<{ name: string; definition: { queries: Array<{ name: string; query: string }> } }> };
  const fp = md.query_collections?.find((c) => c.name === 'linkport_first_party');
  if (!fp) throw new Error('no linkport_first_party collection');
  const mine = ALL_OPS.map((o) => ({ name: `web_${o.name}`, query: o.query }));
  const queries = fp.definition.queries;
  const first = queries.findIndex((q) => q.name.startsWith('web_'));
  const others = queries.filter((q) => !q.name.startsWith('web_'));
  const at = first < 0 ? others.length : queries.slice(0, first).filter((q) => !q.name.startsWith('web_')).length;
  fp.definition.queries = [...others.slice(0, at), ...mine, ...others.slice(at)];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'linkport-md-'));
  try {
    writeMetadataDir(tmp, md as never);
    fs.copyFileSync(path.join(tmp, 'query_collections.yaml'), COLLECTIONS_FILE);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (process.argv.includes('--collection')) await syncCollection();
  const sdl = process.argv.includes('--types-only') ? fs.readFileSync(SDL_FILE, 'utf8') : await userSdl();
  fs.mkdirSync(path.dirname(SDL_FILE), { recursive: true });
  fs.writeFileSync(SDL_FILE, sdl);
  fs.writeFileSync(TYPES_FILE, await operationTypes(sdl, webOperations()));
  console.log(`wrote ${path.relative(process.cwd(), SDL_FILE)} and ${path.relative(process.cwd(), TYPES_FILE)}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}

/**
 * `npm run metadata:export -w @linkport/hasura-engine [-- --dir D] [--url U] [--admin-secret S]`:
 * writes the Hasura CLI metadata directory (default: hasura/metadata) from the metadata store —
 * like `hasura metadata export`. With `--url` (or HASURA_GRAPHQL_ENDPOINT) it asks a running
 * engine (ours or real Hasura) for `export_metadata`; otherwise it reads hdb_catalog.hdb_metadata
 * from HASURA_GRAPHQL_METADATA_DATABASE_URL / HASURA_GRAPHQL_DATABASE_URL.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import type { Metadata } from '../contract.ts';
import { writeMetadataDir } from './files.ts';
import { DbMetadataStore } from './store.ts';

const { values } = parseArgs({
  options: { dir: { type: 'string' }, url: { type: 'string' }, 'admin-secret': { type: 'string' } },
});
const dir = path.resolve(values.dir ?? process.env.HASURA_GRAPHQL_METADATA_DIR ?? path.resolve(import.meta.dirname, '../../../metadata'));
const url = values.url ?? process.env.HASURA_GRAPHQL_ENDPOINT;
const secret = values['admin-secret'] ?? process.env.HASURA_GRAPHQL_ADMIN_SECRET;

async function fromEngine(base: string): Promise<Metadata> {
  const res = await fetch(new URL('/v1/metadata', base), {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(secret ? { 'x-hasura-admin-secret': secret } : {}) },
    body: JSON.stringify({ type: 'export_metadata', version: 1, args: {} }),
  });
  if (!res.ok) throw new Error(`export_metadata answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as Metadata;
}

async function fromStore(): Promise<Metadata> {
  const dbUrl = process.env.HASURA_GRAPHQL_METADATA_DATABASE_URL ?? process.env.HASURA_GRAPHQL_DATABASE_URL;
  if (!dbUrl) throw new Error('set --url, or HASURA_GRAPHQL_METADATA_DATABASE_URL / HASURA_GRAPHQL_DATABASE_URL');
  const pool = new pg.Pool({ connectionString: dbUrl, max: 1 });
  try {
    const stored = await new DbMetadataStore(pool).load();
    if (!stored) throw new Error('hdb_catalog.hdb_metadata holds no metadata');
    return stored.metadata;
  } finally {
    await pool.end();
  }
}

try {
  const metadata = url ? await fromEngine(url) : await fromStore();
  writeMetadataDir(dir, metadata);
  console.log(`metadata written to ${dir}`);
} catch (err) {
  console.error((err as Error).message);
  process.exitCode = 1;
}

/**
 * Where the metadata lives between restarts: `hdb_catalog.hdb_metadata (id, metadata json,
 * resource_version)`, as Hasura keeps it (server/src-rsr/initialise.sql; `json`, not `jsonb`, so
 * key order survives). When the role cannot create that table (the `links_admin` role has no
 * CREATE on the database), the store degrades to memory and says so: point
 * HASURA_GRAPHQL_METADATA_DATABASE_URL at a role that may, as with real Hasura.
 */
import type pg from 'pg';
import type { Metadata } from '../contract.ts';
import { run, sql, value } from '../sql/sql.ts';

/** hdb_catalog.hdb_metadata, the table Hasura keeps its metadata in (server/src-rsr/initialise.sql). */
const storeSql = {
  exists: sql`SELECT to_regclass('hdb_catalog.hdb_metadata') IS NOT NULL AS exists`,
  schemaExists: sql`SELECT to_regnamespace('hdb_catalog') IS NOT NULL AS exists`,
  createSchema: sql`CREATE SCHEMA IF NOT EXISTS hdb_catalog`,
  createTable: sql`CREATE TABLE IF NOT EXISTS hdb_catalog.hdb_metadata (
    id integer PRIMARY KEY,
    metadata json NOT NULL,
    resource_version integer NOT NULL DEFAULT 1 UNIQUE
  )`,
  load: sql`SELECT metadata::text AS metadata, resource_version FROM hdb_catalog.hdb_metadata WHERE id = 1`,
  upsert: (metadata: Metadata) => sql`INSERT INTO hdb_catalog.hdb_metadata (id, metadata, resource_version) VALUES (1, ${value(JSON.stringify(metadata))}::json, 1)
    ON CONFLICT (id) DO UPDATE SET metadata = EXCLUDED.metadata,
      resource_version = hdb_catalog.hdb_metadata.resource_version + 1
    RETURNING resource_version`,
};

export interface StoredMetadata {
  metadata: Metadata;
  resourceVersion: number;
}

export interface MetadataStore {
  readonly kind: 'database' | 'memory';
  load(): Promise<StoredMetadata | undefined>;
  /** Returns the new resource version. */
  save(metadata: Metadata): Promise<number>;
}

export class MemoryMetadataStore implements MetadataStore {
  readonly kind = 'memory' as const;
  private current: StoredMetadata | undefined;
  async load(): Promise<StoredMetadata | undefined> {
    return this.current && structuredClone(this.current);
  }
  async save(metadata: Metadata): Promise<number> {
    const resourceVersion = (this.current?.resourceVersion ?? 0) + 1;
    this.current = { metadata: structuredClone(metadata), resourceVersion };
    return resourceVersion;
  }
}

export class DbMetadataStore implements MetadataStore {
  readonly kind = 'database' as const;
  private readonly pool: pg.Pool;
  constructor(pool: pg.Pool) {
    this.pool = pool;
  }

  /** Creates hdb_catalog.hdb_metadata when missing; throws when the role may not. */
  async init(): Promise<void> {
    const { rows } = await run<{ exists: boolean }>(this.pool, storeSql.exists);
    if (rows[0]?.exists) return;
    // CREATE SCHEMA IF NOT EXISTS needs CREATE on the database even when the schema exists; the
    // links_admin role only has CREATE on hdb_catalog (migrations/default/*_roles_and_schemas).
    const schema = await run<{ exists: boolean }>(this.pool, storeSql.schemaExists);
    if (!schema.rows[0]?.exists) await run(this.pool, storeSql.createSchema);
    await run(this.pool, storeSql.createTable);
  }

  async load(): Promise<StoredMetadata | undefined> {
    const { rows } = await run<{ metadata: string; resource_version: number }>(this.pool, storeSql.load);
    const row = rows[0];
    return row && { metadata: JSON.parse(row.metadata) as Metadata, resourceVersion: row.resource_version };
  }

  async save(metadata: Metadata): Promise<number> {
    const { rows } = await run<{ resource_version: number }>(this.pool, storeSql.upsert(metadata));
    return rows[0]!.resource_version;
  }
}

/** The database store when possible, else memory (with the reason, for the log). */
export async function openMetadataStore(pool: pg.Pool): Promise<{ store: MetadataStore; warning?: string }> {
  const db = new DbMetadataStore(pool);
  try {
    await db.init();
    return { store: db };
  } catch (err) {
    return {
      store: new MemoryMetadataStore(),
      warning: `metadata kept in memory: cannot use hdb_catalog.hdb_metadata (${(err as Error).message})`,
    };
  }
}

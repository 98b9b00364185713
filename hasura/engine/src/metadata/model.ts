/**
 * Helpers over the contract's Metadata JSON: table names, lookups, the empty metadata with the
 * `default` source Hasura adds from HASURA_GRAPHQL_DATABASE_URL, and the key order Hasura's
 * export uses (so exported files diff cleanly).
 */
import type { Metadata, MetadataSource, TableMetadata } from '../contract.ts';

export interface QualifiedTable {
  schema: string;
  name: string;
}

/** `"author"` means `public.author` (Hasura's `QualifiedTable` FromJSON). */
export function parseTableName(v: unknown): QualifiedTable | undefined {
  if (typeof v === 'string') return { schema: 'public', name: v };
  if (v && typeof v === 'object' && typeof (v as { name?: unknown }).name === 'string') {
    const o = v as { schema?: unknown; name: string };
    return { schema: typeof o.schema === 'string' ? o.schema : 'public', name: o.name };
  }
  return undefined;
}

export const sameTable = (a: QualifiedTable, b: QualifiedTable) => a.schema === b.schema && a.name === b.name;

/** How Hasura prints a table in messages: `author` for public, `schema.table` otherwise. */
export function tableText(t: QualifiedTable): string {
  return t.schema === 'public' ? t.name : `${t.schema}.${t.name}`;
}

export function defaultSource(): MetadataSource {
  return {
    name: 'default',
    kind: 'postgres',
    tables: [],
    configuration: {
      connection_info: {
        database_url: { from_env: 'HASURA_GRAPHQL_DATABASE_URL' },
        isolation_level: 'read-committed',
        pool_settings: { connection_lifetime: 600, idle_timeout: 180, max_connections: 50, retries: 1 },
        use_prepared_statements: true,
      },
    },
  };
}

export function emptyMetadata(): Metadata {
  return { version: 3, sources: [defaultSource()] };
}

export function cloneMetadata(m: Metadata): Metadata {
  return structuredClone(m);
}

export function findSource(m: Metadata, name = 'default'): MetadataSource | undefined {
  return m.sources.find((s) => s.name === name);
}

export function findTable(source: MetadataSource, t: QualifiedTable): TableMetadata | undefined {
  return source.tables.find((x) => sameTable(x.table, t));
}

const tableKeyOrder = [
  'table', 'is_enum', 'configuration', 'object_relationships', 'array_relationships', 'computed_fields',
  'remote_relationships', 'insert_permissions', 'select_permissions', 'update_permissions', 'delete_permissions',
  'event_triggers', 'apollo_federation_config',
];

/** A table entry with Hasura's export key order; empty lists dropped as the CLI does. */
export function orderTable(t: TableMetadata): TableMetadata {
  const out: Record<string, unknown> = {};
  const keys = [...tableKeyOrder, ...Object.keys(t).filter((k) => !tableKeyOrder.includes(k))];
  for (const k of keys) {
    const v = (t as Record<string, unknown>)[k];
    if (v === undefined) continue;
    if (Array.isArray(v) && v.length === 0) continue;
    if (k === 'table') out[k] = { name: t.table.name, schema: t.table.schema };
    else out[k] = v;
  }
  return out as TableMetadata;
}

/** Tables sorted by (schema, name), as Hasura exports them. */
export function normalizeMetadata(m: Metadata): Metadata {
  return {
    ...m,
    version: 3,
    sources: m.sources.map((s) => ({
      ...s,
      tables: [...s.tables]
        .sort((a, b) => (a.table.schema + '.' + a.table.name).localeCompare(b.table.schema + '.' + b.table.name))
        .map(orderTable),
    })),
  };
}

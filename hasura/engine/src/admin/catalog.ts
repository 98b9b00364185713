/**
 * The catalog lookups of the admin APIs: which tracked tables exist, by name (track_table,
 * consistency) and by oid (run_sql reconciliation follows a table across a rename by its oid, as
 * Hasura's RunSQL.hs `withMetadataCheck` diffs the catalog before and after the SQL).
 */
import { run, sql, value, type Queryable, type SQL } from '../sql/sql.ts';
import type { QualifiedTable } from '../metadata/model.ts';

export interface CatalogTable {
  oid: string;
  schema: string;
  name: string;
  /** `type`: the column's type oid (Hasura's `rciType` ignores typmods too). */
  columns: Array<{ attnum: number; name: string; type: string }>;
}

/** Tables, views, materialized views, foreign and partitioned tables, with their live columns. */
function lookup(db: Queryable, join: SQL, where: SQL): Promise<{ rows: CatalogTable[] }> {
  return run<CatalogTable>(db, sql`
  SELECT c.oid::text AS oid, n.nspname AS schema, c.relname AS name,
         coalesce(json_agg(json_build_object('attnum', a.attnum, 'name', a.attname, 'type', a.atttypid::text) ORDER BY a.attnum)
                  FILTER (WHERE a.attnum IS NOT NULL), '[]') AS columns
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    ${join}
   WHERE ${where}
   GROUP BY c.oid, n.nspname, c.relname`);
}

/** The tables (and views) among `tables` that exist, with their columns. */
export async function catalogByName(db: Queryable, tables: QualifiedTable[]): Promise<CatalogTable[]> {
  if (tables.length === 0) return [];
  const { rows } = await lookup(
    db,
    sql`JOIN unnest(${value(tables.map((t) => t.schema))}::text[], ${value(tables.map((t) => t.name))}::text[]) AS t(schema, name)
      ON t.schema = n.nspname AND t.name = c.relname`,
    sql`c.relkind IN ('r', 'v', 'm', 'f', 'p')`,
  );
  return rows;
}

export async function catalogByOid(db: Queryable, oids: string[]): Promise<CatalogTable[]> {
  if (oids.length === 0) return [];
  const { rows } = await lookup(db, sql``, sql`c.oid = ANY(${value(oids)}::oid[])`);
  return rows;
}

/** Foreign keys of `tables`: owner, its columns, the table referenced. */
export async function foreignKeysOf(db: Queryable, tables: QualifiedTable[]): Promise<Array<{ owner: QualifiedTable; columns: string[]; target: QualifiedTable }>> {
  if (tables.length === 0) return [];
  const { rows } = await run<{ schema: string; name: string; columns: string[]; rschema: string; rname: string }>(db, sql`
  SELECT n.nspname AS schema, c.relname AS name, array_agg(a.attname::text) AS columns, rn.nspname AS rschema, rc.relname AS rname
    FROM pg_constraint k
    JOIN pg_class c ON c.oid = k.conrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_class rc ON rc.oid = k.confrelid
    JOIN pg_namespace rn ON rn.oid = rc.relnamespace
    JOIN unnest(${value(tables.map((t) => t.schema))}::text[], ${value(tables.map((t) => t.name))}::text[]) AS t(schema, name)
      ON t.schema = n.nspname AND t.name = c.relname
    CROSS JOIN LATERAL unnest(k.conkey) AS u(attnum)
    JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum
   WHERE k.contype = 'f'
   GROUP BY k.oid, n.nspname, c.relname, rn.nspname, rc.relname`);
  return rows.map((r) => ({ owner: { schema: r.schema, name: r.name }, columns: r.columns, target: { schema: r.rschema, name: r.rname } }));
}

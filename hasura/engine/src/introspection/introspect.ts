import type pg from 'pg';
import { tableKey, type Catalog, type PgTable } from './catalog.ts';

/**
 * Reads columns, types, nullability and PK/unique/FK constraints of the given tables in one
 * catalog query (Hasura: `Backends/Postgres/DDL/Source.hs`, the table-metadata query).
 * Domains resolve to their base type, as Hasura's column types do.
 */
const QUERY = `
WITH wanted AS (SELECT * FROM unnest($1::text[], $2::text[]) AS w(s, t))
SELECT n.nspname AS schema, c.relname AS name, c.relkind AS kind,
  coalesce((SELECT json_agg(json_build_object(
      'name', a.attname, 'nullable', NOT a.attnotnull,
      'hasDefault', a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '', 'position', a.attnum,
      'description', col_description(a.attrelid, a.attnum),
      'type', json_build_object('schema', tn.nspname, 'name', t.typname, 'category', t.typcategory,
        'elem', CASE WHEN et.oid IS NULL THEN NULL ELSE json_build_object('schema', etn.nspname, 'name', et.typname) END))
      ORDER BY a.attnum)
    FROM pg_attribute a
    JOIN pg_type t0 ON t0.oid = a.atttypid
    JOIN pg_type t ON t.oid = CASE WHEN t0.typtype = 'd' THEN t0.typbasetype ELSE t0.oid END
    JOIN pg_namespace tn ON tn.oid = t.typnamespace
    LEFT JOIN pg_type et ON et.oid = t.typelem AND t.typcategory = 'A'
    LEFT JOIN pg_namespace etn ON etn.oid = et.typnamespace
    WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '[]') AS columns,
  coalesce((SELECT json_agg(json_build_object(
      'name', con.conname, 'kind', con.contype,
      'columns', (SELECT json_agg(att.attname ORDER BY k.o) FROM unnest(con.conkey) WITH ORDINALITY k(n, o)
                  JOIN pg_attribute att ON att.attrelid = con.conrelid AND att.attnum = k.n),
      'ref', CASE WHEN con.contype = 'f' THEN json_build_object('schema', rn.nspname, 'name', rc.relname,
          'columns', (SELECT json_agg(att.attname ORDER BY k.o) FROM unnest(con.confkey) WITH ORDINALITY k(n, o)
                      JOIN pg_attribute att ON att.attrelid = con.confrelid AND att.attnum = k.n)) END)
      ORDER BY con.conname)
    FROM pg_constraint con
    LEFT JOIN pg_class rc ON rc.oid = con.confrelid
    LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace
    WHERE con.conrelid = c.oid AND con.contype IN ('p', 'u', 'f')), '[]') AS constraints
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN wanted w ON w.s = n.nspname AND w.t = c.relname
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')`;

export async function introspect(pool: pg.Pool, tables: Array<{ schema: string; name: string }>): Promise<Catalog> {
  const res = await pool.query<PgTable>(QUERY, [tables.map((t) => t.schema), tables.map((t) => t.name)]);
  const out: Catalog = new Map();
  for (const row of res.rows) out.set(tableKey(row.schema, row.name), row);
  return out;
}

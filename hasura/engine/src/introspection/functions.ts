import type pg from 'pg';
import { tableKey, type FunctionCatalog, type PgFunction } from './catalog.ts';

/**
 * Signatures of the functions metadata refers to (tracked functions, computed fields): argument
 * names/types/defaults and return type (Hasura: `Backends/Postgres/DDL/Function.hs`). The first
 * overload wins; Hasura rejects overloaded functions altogether.
 */
const QUERY = `
WITH wanted AS (SELECT * FROM unnest($1::text[], $2::text[]) AS w(s, f))
SELECT DISTINCT ON (n.nspname, p.proname) n.nspname AS schema, p.proname AS name, p.proretset AS "returnsSet",
  p.provolatile AS volatility, rt.typtype AS "returnTypType",
  json_build_object('schema', rtn.nspname, 'name', rt.typname, 'category', rt.typcategory) AS "returnType",
  coalesce((SELECT json_agg(json_build_object(
      'name', coalesce(p.proargnames[a.o], ''),
      'type', json_build_object('schema', tn.nspname, 'name', t.typname, 'category', t.typcategory),
      'hasDefault', a.o > p.pronargs - p.pronargdefaults) ORDER BY a.o)
    FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY a(oid, o)
    JOIN pg_type t ON t.oid = a.oid JOIN pg_namespace tn ON tn.oid = t.typnamespace), '[]') AS args
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN wanted w ON w.s = n.nspname AND w.f = p.proname
JOIN pg_type rt ON rt.oid = p.prorettype
JOIN pg_namespace rtn ON rtn.oid = rt.typnamespace
ORDER BY n.nspname, p.proname, p.oid`;

export async function introspectFunctions(pool: pg.Pool, fns: Array<{ schema: string; name: string }>): Promise<FunctionCatalog> {
  const out: FunctionCatalog = new Map();
  if (fns.length === 0) return out;
  const res = await pool.query<PgFunction>(QUERY, [fns.map((f) => f.schema), fns.map((f) => f.name)]);
  for (const row of res.rows) out.set(tableKey(row.schema, row.name), row);
  return out;
}

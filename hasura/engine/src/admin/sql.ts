/**
 * Every SQL statement the admin APIs run, in one place: the metadata store, catalog lookups for
 * track_table / run_sql reconciliation, and the RQL data queries (insert/select/update/delete/
 * count) the test setups use. Values always travel as parameters; identifiers are quoted by
 * `ident()`, never pasted.
 */
import type pg from 'pg';
import type { QualifiedTable } from '../metadata/model.ts';

export type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

export const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;
export const qualified = (t: QualifiedTable) => `${ident(t.schema)}.${ident(t.name)}`;

// ── metadata store: hdb_catalog.hdb_metadata, the table Hasura keeps its metadata in ─────────────

export const storeSql = {
  exists: `SELECT to_regclass('hdb_catalog.hdb_metadata') IS NOT NULL AS exists`,
  schemaExists: `SELECT to_regnamespace('hdb_catalog') IS NOT NULL AS exists`,
  createSchema: `CREATE SCHEMA IF NOT EXISTS hdb_catalog`,
  createTable: `CREATE TABLE IF NOT EXISTS hdb_catalog.hdb_metadata (
    id integer PRIMARY KEY,
    metadata json NOT NULL,
    resource_version integer NOT NULL DEFAULT 1 UNIQUE
  )`,
  load: `SELECT metadata::text AS metadata, resource_version FROM hdb_catalog.hdb_metadata WHERE id = 1`,
  upsert: `INSERT INTO hdb_catalog.hdb_metadata (id, metadata, resource_version) VALUES (1, $1::json, 1)
    ON CONFLICT (id) DO UPDATE SET metadata = EXCLUDED.metadata,
      resource_version = hdb_catalog.hdb_metadata.resource_version + 1
    RETURNING resource_version`,
} as const;

// ── catalog ─────────────────────────────────────────────────────────────────────────────────────

export interface CatalogTable {
  oid: string;
  schema: string;
  name: string;
  columns: Array<{ attnum: number; name: string }>;
}

const catalogSelect = `
  SELECT c.oid::text AS oid, n.nspname AS schema, c.relname AS name,
         coalesce(json_agg(json_build_object('attnum', a.attnum, 'name', a.attname) ORDER BY a.attnum)
                  FILTER (WHERE a.attnum IS NOT NULL), '[]') AS columns
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped`;

/** The tables (and views) among `tables` that exist, with their columns. */
export async function catalogByName(db: Queryable, tables: QualifiedTable[]): Promise<CatalogTable[]> {
  if (tables.length === 0) return [];
  const { rows } = await db.query<CatalogTable>(
    `${catalogSelect}
      JOIN unnest($1::text[], $2::text[]) AS t(schema, name) ON t.schema = n.nspname AND t.name = c.relname
     WHERE c.relkind IN ('r', 'v', 'm', 'f', 'p')
     GROUP BY c.oid, n.nspname, c.relname`,
    [tables.map((t) => t.schema), tables.map((t) => t.name)],
  );
  return rows;
}

export async function catalogByOid(db: Queryable, oids: string[]): Promise<CatalogTable[]> {
  if (oids.length === 0) return [];
  const { rows } = await db.query<CatalogTable>(
    `${catalogSelect}
     WHERE c.oid = ANY($1::oid[])
     GROUP BY c.oid, n.nspname, c.relname`,
    [oids],
  );
  return rows;
}

// ── run_sql ─────────────────────────────────────────────────────────────────────────────────────

export interface SqlResult {
  fields: string[];
  rows: unknown[][];
  command: string;
}

/** Runs user SQL (simple protocol, several statements), every value as Postgres text. */
export async function runUserSql(db: Queryable, sql: string): Promise<SqlResult | undefined> {
  const res = (await db.query({ text: sql, rowMode: 'array', types: { getTypeParser: () => (v: string) => v } } as pg.QueryConfig)) as
    | pg.QueryResult
    | pg.QueryResult[];
  const last = Array.isArray(res) ? res[res.length - 1] : res;
  if (!last) return undefined;
  return { fields: last.fields.map((f) => f.name), rows: last.rows as unknown[][], command: last.command };
}

// ── RQL data queries (Server/API/Query.hs insert/select/update/delete/count) ──────────────────────

export interface Built {
  text: string;
  values: unknown[];
}

class Params {
  values: unknown[] = [];
  add(v: unknown): string {
    this.values.push(v);
    return `$${this.values.length}`;
  }
}

const ops: Record<string, string> = {
  $eq: '=', _eq: '=', $ne: '<>', _ne: '<>', $neq: '<>', _neq: '<>', $gt: '>', _gt: '>', $lt: '<', _lt: '<',
  $gte: '>=', _gte: '>=', $lte: '<=', _lte: '<=', $like: 'LIKE', _like: 'LIKE', $nlike: 'NOT LIKE', _nlike: 'NOT LIKE',
  $ilike: 'ILIKE', _ilike: 'ILIKE', $nilike: 'NOT ILIKE', _nilike: 'NOT ILIKE',
};

/** RQL's BoolExp (docs api-reference/syntax-defs.mdx), the column-operator subset. */
function whereSql(where: unknown, p: Params): string {
  if (where === undefined || where === null) return 'true';
  if (typeof where !== 'object' || Array.isArray(where)) throw new Error('expected an object for "where"');
  const parts: string[] = [];
  for (const [key, val] of Object.entries(where as Record<string, unknown>)) {
    if (key === '$and' || key === '_and') parts.push(`(${(val as unknown[]).map((w) => whereSql(w, p)).join(' AND ') || 'true'})`);
    else if (key === '$or' || key === '_or') parts.push(`(${(val as unknown[]).map((w) => whereSql(w, p)).join(' OR ') || 'false'})`);
    else if (key === '$not' || key === '_not') parts.push(`NOT (${whereSql(val, p)})`);
    else if (val !== null && typeof val === 'object' && !Array.isArray(val)) {
      for (const [op, operand] of Object.entries(val as Record<string, unknown>)) {
        if (op === '$in' || op === '_in' || op === '$nin' || op === '_nin') {
          const neg = op.endsWith('nin');
          const list = (operand as unknown[]).map((v) => p.add(v)).join(', ');
          parts.push(list ? `${ident(key)} ${neg ? 'NOT IN' : 'IN'} (${list})` : neg ? 'true' : 'false');
        } else if (op === '$is_null' || op === '_is_null') {
          parts.push(`${ident(key)} IS ${operand ? '' : 'NOT '}NULL`);
        } else {
          const sqlOp = ops[op];
          if (!sqlOp) throw new Error(`unknown operator: ${op}`);
          parts.push(`${ident(key)} ${sqlOp} ${p.add(operand)}`);
        }
      }
    } else {
      parts.push(`${ident(key)} = ${p.add(val)}`);
    }
  }
  return parts.length ? parts.join(' AND ') : 'true';
}

const jsonParam = (v: unknown) => JSON.stringify(v);

/** Each object's missing columns take their DEFAULT (not NULL), as RQL insert does. */
export function buildInsert(table: QualifiedTable, objects: Record<string, unknown>[], returning?: string[], geo: Map<string, string> = new Map()): Built {
  const p = new Params();
  const cols = [...new Set(objects.flatMap((o) => Object.keys(o)))];
  const t = qualified(table);
  const rows = objects.map((o) => {
    const rec = p.add(jsonParam(withoutGeo(o, geo)));
    return `(${cols.map((c) => (!(c in o) ? 'DEFAULT' : geo.has(c) ? geoValue(o[c], geo.get(c)!, p) : `(json_populate_record(null::${t}, ${rec}::json)).${ident(c)}`)).join(', ')})`;
  });
  const insert = cols.length
    ? `INSERT INTO ${t} (${cols.map(ident).join(', ')}) VALUES ${rows.join(', ')}`
    : `INSERT INTO ${t} DEFAULT VALUES`;
  return {
    text: `WITH ins AS (${insert} RETURNING *)
      SELECT json_build_object('affected_rows', (SELECT count(*) FROM ins)${returningSql(returning)}) AS result`,
    values: p.values,
  };
}

/**
 * geometry/geography values travel as GeoJSON, as Hasura reads them (`ST_GeomFromGeoJSON`,
 * Backends/Postgres/SQL/Value.hs `withGeoVal`); geography gets the cast. A string stays a
 * PostgreSQL literal (WKT/EWKB), which the types' own input functions read.
 */
function geoValue(v: unknown, type: string, p: Params): string {
  if (v === null) return 'NULL';
  if (typeof v === 'object') return `ST_GeomFromGeoJSON(${p.add(JSON.stringify(v))}::text)::${type}`;
  return `(${p.add(v)}::text)::${type}`;
}

function withoutGeo(o: Record<string, unknown>, geo: Map<string, string>): Record<string, unknown> {
  if (geo.size === 0) return o;
  return Object.fromEntries(Object.entries(o).filter(([k]) => !geo.has(k)));
}

function returningSql(returning?: string[]): string {
  if (!returning || returning.length === 0) return '';
  const cols = returning.includes('*') ? 'ins.*' : returning.map((c) => `ins.${ident(c)}`).join(', ');
  return `, 'returning', (SELECT coalesce(json_agg(r), '[]') FROM (SELECT ${cols} FROM ins) r)`;
}

export function buildDelete(table: QualifiedTable, args: { where?: unknown; returning?: string[] }): Built {
  const p = new Params();
  const where = whereSql(args.where, p);
  return {
    text: `WITH ins AS (DELETE FROM ${qualified(table)} WHERE ${where} RETURNING *)
      SELECT json_build_object('affected_rows', (SELECT count(*) FROM ins)${returningSql(args.returning)}) AS result`,
    values: p.values,
  };
}

export function buildUpdate(
  table: QualifiedTable,
  args: { where?: unknown; $set?: Record<string, unknown>; $inc?: Record<string, unknown>; returning?: string[] },
  geo: Map<string, string> = new Map(),
): Built {
  const p = new Params();
  const sets: string[] = [];
  for (const [c, v] of Object.entries(args.$set ?? {})) {
    if (geo.has(c)) { sets.push(`${ident(c)} = ${geoValue(v, geo.get(c)!, p)}`); continue; }
    sets.push(`${ident(c)} = (json_populate_record(null::${qualified(table)}, ${p.add(JSON.stringify({ [c]: v }))}::json)).${ident(c)}`);
  }
  for (const [c, v] of Object.entries(args.$inc ?? {})) sets.push(`${ident(c)} = ${ident(c)} + ${p.add(v)}`);
  if (sets.length === 0) throw new Error('atleast one of $set, $inc, $mul, $default is required');
  const where = whereSql(args.where, p);
  return {
    text: `WITH ins AS (UPDATE ${qualified(table)} SET ${sets.join(', ')} WHERE ${where} RETURNING *)
      SELECT json_build_object('affected_rows', (SELECT count(*) FROM ins)${returningSql(args.returning)}) AS result`,
    values: p.values,
  };
}

/**
 * The metadata-aware part of RQL (`/v1/query`, `/v2/query` `select`/`count`, and the table checks
 * of `insert`/`update`/`delete`; docs api-reference/schema-api/… "select", "count"; upstream
 * `Hasura/RQL/DML/Select.hs`, `Count.hs`): the table must be tracked, columns are column names,
 * relationship columns are `{name, columns, where, order_by, limit, offset}` objects, `where` is a
 * permission-style boolean expression (column names, `$eq`/`_eq`, relationships, shorthand
 * `col: value`). The model is built from the metadata being edited, inside the request's
 * transaction, so a `bulk` that tracks a table and then queries it sees the new table.
 */
import type { Metadata, Session } from '../contract.ts';
import { boolExp } from '../compile/boolexp.ts';
import { CompileContext, columnValue, typeSql } from '../compile/context.ts';
import { from } from '../compile/orderby.ts';
import { geoJsonOut, object } from '../compile/select.ts';
import { introspect } from '../introspection/introspect.ts';
import { introspectFunctions } from '../introspection/functions.ts';
import { introspectEnums } from '../introspection/enums.ts';
import { tableKey, type PgTypeRef } from '../introspection/catalog.ts';
import { isBigNum } from '../schema/scalars.ts';
import type { ColumnModel, Model, TableModel } from '../schema/model.ts';
import { buildModel, referencedFunctions, trackedTables } from '../schema/resolve-metadata.ts';
import { compile, identifier, join, keyword, sql, TRUE, value, type Compiled, type Queryable, type SQL } from '../sql/sql.ts';
import { tableText, type QualifiedTable } from '../metadata/model.ts';
import { QErr, badRequest } from '../errors.ts';

const ADMIN: Session = { role: 'admin', vars: {}, isAdmin: true };

export async function rqlModel(db: Queryable, md: Metadata): Promise<Model> {
  const pool = db as Parameters<typeof introspect>[0];
  const catalog = await introspect(pool, trackedTables(md).map((t) => t.ref));
  return buildModel(md, catalog, await introspectFunctions(pool, referencedFunctions(md)), await introspectEnums(db, md, catalog));
}

/** RQL refuses untracked tables the way Hasura does (`select_article_table_not_present_err.yaml`). */
export function trackedTable(model: Model, t: QualifiedTable): TableModel {
  const tm = model.tables.get(tableKey(t.schema, t.name));
  // `table "schema.name" does not exist` (upstream v1/track_table/track_untrack_table_non_public_schema.yaml).
  if (!tm) throw badRequest('not-exists', `table "${tableText(t)}" does not exist`, '$.args.table');
  return tm;
}

interface SelArgs { columns?: unknown; where?: unknown; order_by?: unknown; limit?: unknown; offset?: unknown }

const noColumn = (name: string, path: string) => badRequest('permission-denied', `no such column exists: "${name}"`, path);

/**
 * The GraphQL compiler's errors (bad where, missing session variable) point into a GraphQL
 * operation (`$`…); raised here they are 400s at `$.args`. Errors this file raises already point
 * into the command's arguments and pass unchanged.
 */
function guarded<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof QErr && !e.path.startsWith('$.args')) throw badRequest(e.code, e.message);
    throw e;
  }
}

function where(ctx: CompileContext, table: TableModel, a: SQL, w: unknown, path = '$.args.where'): SQL {
  if (w === undefined || w === null) return TRUE;
  return boolExp({ ctx, perm: true, root: a, rootTable: table, depth: 0, path }, table, a, w);
}

/** `order_by`: `"col"`, `"+col"`, `"-col"`, or `{column, type: asc|desc, nulls: first|last}`. */
function orderBy(table: TableModel, a: SQL, ob: unknown, path: string): SQL | undefined {
  const items = Array.isArray(ob) ? ob : ob ? [ob] : [];
  const parts = items.map((o, i) => {
    const spec = typeof o === 'string'
      ? { column: o.replace(/^[+-]/, ''), type: o.startsWith('-') ? 'desc' : 'asc', nulls: undefined }
      : (o as { column?: unknown; type?: string; nulls?: string });
    if (typeof spec.column !== 'string' || !table.colByName.has(spec.column)) throw noColumn(String(spec.column), `${path}[${i}]`);
    const dir = spec.type === 'desc' ? 'DESC' : 'ASC';
    const nulls = spec.nulls ? ` NULLS ${spec.nulls === 'first' ? 'FIRST' : 'LAST'}` : '';
    return sql`${a}.${identifier(spec.column)} ${keyword(dir + nulls)}`;
  });
  return parts.length ? join(parts, ', ') : undefined;
}

const intArg = (v: unknown, name: string, path: string): number | undefined => {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw badRequest('parse-failed', `expected Int, but encountered ${typeof v === 'string' ? 'String' : typeof v}`, `${path}.${name}`);
  if (v < 0) throw badRequest('unexpected', `unexpected negative value`, `${path}.${name}`);
  return v;
};

/** One row as Hasura's RQL returns it: column names as keys, bignums as strings (--stringify). */
function rowObject(ctx: CompileContext, table: TableModel, r: SQL, columns: unknown, path: string): SQL {
  const list = Array.isArray(columns) ? columns : ['*'];
  const pairs: Array<[string, SQL]> = [];
  list.forEach((c, i) => {
    if (c === '*') {
      for (const col of table.columns) pairs.push([col.name, out(ctx, col.type, sql`${r}.${identifier(col.name)}`)]);
      return;
    }
    if (typeof c === 'string') {
      const col = table.colByName.get(c);
      if (!col) throw noColumn(c, `${path}[${i}]`);
      pairs.push([c, out(ctx, col.type, sql`${r}.${identifier(col.name)}`)]);
      return;
    }
    const sub = (c ?? {}) as SelArgs & { name?: unknown; alias?: unknown };
    const key = (r: { name: string }) => (typeof sub.alias === 'string' ? sub.alias : r.name);
    const rel = typeof sub.name === 'string' ? table.relByName.get(sub.name) : undefined;
    if (!rel) throw badRequest('not-exists', `relationship "${String(sub.name)}" not found in table "${table.name}"`, `${path}[${i}]`);
    const target = ctx.model.tables.get(rel.target)!;
    const a = ctx.alias();
    if (rel.kind === 'object') {
      pairs.push([key(rel), sql`(SELECT ${rowObject(ctx, target, a, sub.columns, `${path}[${i}].columns`)} FROM ${from(ctx, rel, target, a, r)} LIMIT 1)`]);
      return;
    }
    const ord = orderBy(target, a, sub.order_by, `${path}[${i}].order_by`);
    const limit = intArg(sub.limit, 'limit', `${path}[${i}]`);
    const offset = intArg(sub.offset, 'offset', `${path}[${i}]`);
    const inner = sql`(SELECT ${a}.* FROM ${from(ctx, rel, target, a, r)} AND ${where(ctx, target, a, sub.where, `${path}[${i}].where`)}${ord ? sql` ORDER BY ${ord}` : keyword('')}${limit !== undefined ? sql` LIMIT ${value(limit)}` : keyword('')}${offset !== undefined ? sql` OFFSET ${value(offset)}` : keyword('')})`;
    const b = ctx.alias();
    pairs.push([key(rel), sql`(SELECT coalesce(json_agg(${rowObject(ctx, target, b, sub.columns, `${path}[${i}].columns`)}), '[]'::json) FROM ${inner} AS ${b})`]);
  });
  return object(pairs);
}

function out(ctx: CompileContext, type: PgTypeRef, expr: SQL): SQL {
  if (type.name === 'geometry' || type.name === 'geography') return geoJsonOut(expr);
  return ctx.stringify && isBigNum(type) ? sql`(${expr})::text` : expr;
}

export function compileSelect(model: Model, t: QualifiedTable, args: SelArgs, stringify = true): Compiled {
  const table = trackedTable(model, t);
  return guarded(() => {
    const ctx = new CompileContext(model, ADMIN, stringify);
    const a = ctx.alias();
    const r = ctx.alias();
    const ord = orderBy(table, a, args.order_by, '$.args.order_by');
    const limit = intArg(args.limit, 'limit', '$.args');
    const offset = intArg(args.offset, 'offset', '$.args');
    const base = sql`(SELECT ${a}.* FROM ${identifier(table.schema, table.name)} AS ${a} WHERE ${where(ctx, table, a, args.where)}${ord ? sql` ORDER BY ${ord}` : keyword('')}${limit !== undefined ? sql` LIMIT ${value(limit)}` : keyword('')}${offset !== undefined ? sql` OFFSET ${value(offset)}` : keyword('')})`;
    return compile(sql`SELECT coalesce(json_agg(${rowObject(ctx, table, r, args.columns, '$.args.columns')}), '[]'::json) AS result FROM ${base} AS ${r}`);
  });
}

export function compileCount(model: Model, t: QualifiedTable, args: { where?: unknown; distinct?: unknown }): Compiled {
  const table = trackedTable(model, t);
  return guarded(() => {
    const ctx = new CompileContext(model, ADMIN, true);
    const a = ctx.alias();
    const distinct = Array.isArray(args.distinct) ? args.distinct : [];
    distinct.forEach((c, i) => {
      if (typeof c !== 'string' || !table.colByName.has(c)) throw noColumn(String(c), `$.args.distinct[${i}]`);
    });
    const counted = distinct.length ? sql`count(DISTINCT (${join(distinct.map((c) => sql`${a}.${identifier(c as string)}`), ', ')}))` : keyword('count(*)');
    return compile(sql`SELECT json_build_object('count', ${counted}) AS result FROM ${identifier(table.schema, table.name)} AS ${a} WHERE ${where(ctx, table, a, args.where)}`);
  });
}

// ── insert / update / delete (RQL/DML/Insert.hs, Update.hs, Delete.hs) ────────────────────────────

type Row = Record<string, unknown>;

const isGeo = (c: ColumnModel) => c.type.name === 'geometry' || c.type.name === 'geography';

function column(table: TableModel, name: string, path: string): ColumnModel {
  const col = table.colByName.get(name);
  // askColInfo: `column "x" does not exist` (RQL/Types.hs `askFieldInfo`, prefixed by `column `).
  if (!col) throw badRequest('not-exists', `column "${name}" does not exist`, path);
  return col;
}

/**
 * A value for a column: geometry/geography take GeoJSON, as Hasura reads them (`ST_GeomFromGeoJSON`,
 * Backends/Postgres/SQL/Value.hs `withGeoVal`), and a string stays a literal the type's own input
 * function reads (WKT/EWKB); anything else is a bind parameter cast to the column's type.
 */
function input(col: ColumnModel, v: unknown): SQL {
  if (col.type.name === 'numeric' && typeof v === 'number') return sql`(${value(prepNumeric(v))})::${typeSql(col)}`;
  if (!isGeo(col)) return columnValue(col, v);
  if (v === null) return keyword('NULL');
  if (typeof v === 'object') return sql`ST_GeomFromGeoJSON(${value(JSON.stringify(v))}::text)::${typeSql(col)}`;
  return sql`(${value(v)}::text)::${typeSql(col)}`;
}

/**
 * A JSON number for a `numeric` column as Hasura's RQL sends it: a prepared value
 * (Postgres/SQL/Value.hs `PGValNumeric sc -> PG.toPrepVal sc`), which postgresql-binary encodes in
 * PostgreSQL's base-10000 numeric format with the display scale rounded up to whole 4-digit groups
 * — so 12345.67 is stored as 12345.6700 (upstream graphql_mutation/update/basic/numerics_inc.yaml
 * expects it after an RQL insert). Integers keep scale 0; NaN/±Infinity are left to PostgreSQL.
 */
export function prepNumeric(n: number): string {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(String(n));
  if (!m) return String(n);
  const [, sign = '', int = '', frac = '', e = '0'] = m;
  const exponent = Number(e) - frac.length;
  const digits = `${int}${frac}`.replace(/^0+(?=\d)/, '');
  if (exponent >= 0) return `${sign}${digits}${'0'.repeat(exponent)}`;
  const scale = Math.ceil(-exponent / 4) * 4;
  const padded = `${digits}${'0'.repeat(scale + exponent)}`.padStart(scale + 1, '0');
  return `${sign}${padded.slice(0, -scale)}.${padded.slice(-scale)}`;
}

/** `{"affected_rows": n, "returning": [...]}` over the rows a data-modifying CTE returned. */
function mutationResult(ctx: CompileContext, table: TableModel, cte: SQL, modify: SQL, returning: unknown): Compiled {
  const r = ctx.alias();
  const rows = Array.isArray(returning) && returning.length > 0
    ? sql`, 'returning', (SELECT coalesce(json_agg(${rowObject(ctx, table, r, returning, '$.args.returning')}), '[]'::json) FROM ${cte} AS ${r})`
    : keyword('');
  return compile(sql`WITH ${cte} AS (${modify}) SELECT json_build_object('affected_rows', (SELECT count(*) FROM ${cte})${rows}) AS result`);
}

/** RQL insert: every object's missing columns take their DEFAULT (not NULL), as Hasura's does. */
export function compileInsert(model: Model, t: QualifiedTable, args: { objects?: unknown; returning?: unknown }): Compiled {
  const table = trackedTable(model, t);
  const objects = Array.isArray(args.objects) ? args.objects : [];
  objects.forEach((o, i) => {
    if (o === null || typeof o !== 'object' || Array.isArray(o)) throw badRequest('parse-failed', 'expected Object', `$.args.objects[${i}]`);
  });
  const rows = objects as Row[];
  return guarded(() => {
    const ctx = new CompileContext(model, ADMIN, true);
    const names = [...new Set(rows.flatMap((o) => Object.keys(o)))];
    const cols = names.map((n) => column(table, n, '$.args.objects'));
    const target = identifier(table.schema, table.name);
    const values = rows.map((o) => sql`(${join(cols.map((c) => (c.name in o ? input(c, o[c.name]) : keyword('DEFAULT'))), ', ')})`);
    const insert = cols.length
      ? sql`INSERT INTO ${target} (${join(cols.map((c) => identifier(c.name)), ', ')}) VALUES ${join(values, ', ')} RETURNING *`
      : sql`INSERT INTO ${target} DEFAULT VALUES RETURNING *`;
    return mutationResult(ctx, table, ctx.alias(), insert, args.returning);
  });
}

/** RQL update: `$set`, `$inc`, `$mul`, `$default` (a list of columns), over the rows `where` selects. */
export function compileUpdate(model: Model, t: QualifiedTable, args: { where?: unknown; $set?: unknown; $inc?: unknown; $mul?: unknown; $default?: unknown; returning?: unknown }): Compiled {
  const table = trackedTable(model, t);
  return guarded(() => {
    const ctx = new CompileContext(model, ADMIN, true);
    const a = ctx.alias();
    const items: SQL[] = [];
    const each = (op: string, fn: (c: ColumnModel, v: unknown) => SQL) => {
      const obj = args[op as '$set'];
      if (obj === undefined || obj === null) return;
      if (typeof obj !== 'object' || Array.isArray(obj)) throw badRequest('parse-failed', 'expected Object', `$.args.${op}`);
      for (const [name, v] of Object.entries(obj)) items.push(fn(column(table, name, `$.args.${op}`), v));
    };
    each('$set', (c, v) => sql`${identifier(c.name)} = ${input(c, v)}`);
    each('$inc', (c, v) => sql`${identifier(c.name)} = ${a}.${identifier(c.name)} + ${columnValue(c, v)}`);
    each('$mul', (c, v) => sql`${identifier(c.name)} = ${a}.${identifier(c.name)} * ${columnValue(c, v)}`);
    if (Array.isArray(args.$default)) {
      for (const name of args.$default) items.push(sql`${identifier(column(table, String(name), '$.args.$default').name)} = DEFAULT`);
    }
    // Update.hs `validateUpdateQueryWith`: UnexpectedPayload when nothing is set.
    if (items.length === 0) throw badRequest('unexpected-payload', 'atleast one of $set, $inc, $mul, $default is required');
    const update = sql`UPDATE ${identifier(table.schema, table.name)} AS ${a} SET ${join(items, ', ')} WHERE ${where(ctx, table, a, args.where)} RETURNING ${a}.*`;
    return mutationResult(ctx, table, ctx.alias(), update, args.returning);
  });
}

export function compileDelete(model: Model, t: QualifiedTable, args: { where?: unknown; returning?: unknown }): Compiled {
  const table = trackedTable(model, t);
  return guarded(() => {
    const ctx = new CompileContext(model, ADMIN, true);
    const a = ctx.alias();
    const del = sql`DELETE FROM ${identifier(table.schema, table.name)} AS ${a} WHERE ${where(ctx, table, a, args.where)} RETURNING ${a}.*`;
    return mutationResult(ctx, table, ctx.alias(), del, args.returning);
  });
}

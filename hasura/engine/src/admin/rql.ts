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
import { CompileContext, columnValue, isSessionVar, typeSql } from '../compile/context.ts';
import { from } from '../compile/orderby.ts';
import { geoJsonOut, object } from '../compile/select.ts';
import { introspect } from '../introspection/introspect.ts';
import { introspectFunctions } from '../introspection/functions.ts';
import { introspectEnums } from '../introspection/enums.ts';
import { tableKey, type PgTypeRef } from '../introspection/catalog.ts';
import { isBigNum } from '../schema/scalars.ts';
import type { ColumnModel, Model, SelectPerm, TableModel } from '../schema/model.ts';
import { buildModel, referencedFunctions, trackedTables } from '../schema/resolve-metadata.ts';
import { compile, identifier, join, keyword, sql, TRUE, value, type Compiled, type Queryable, type SQL } from '../sql/sql.ts';
import { tableText, type QualifiedTable } from '../metadata/model.ts';
import { QErr, badRequest, jsonKind } from '../errors.ts';

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
    // Aeson-relative paths of argument parse errors ($.limit, $.on_conflict…) are Hasura's too.
    if (e instanceof QErr && !/^\$\.(args|limit|offset|on_conflict)\b/.test(e.path)) throw badRequest(e.code, e.message);
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

/**
 * `limit`/`offset`: Aeson's parse error (its path is relative to the args object, as upstream
 * v1/select/limits/select_query_article_string_limit_error.yaml shows), and DML/Select.hs's
 * `NotSupported "unexpected negative value"`.
 */
const intArg = (v: unknown, name: string, path: string): number | undefined => {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw badRequest('parse-failed', `parsing Int failed, expected Number, but encountered ${jsonKind(v)}`, `${path.replace(/^\$\.args/, '$')}.${name}`);
  }
  if (v < 0) throw badRequest('not-supported', `unexpected negative value`, `${path}.${name}`);
  return v;
};

const roleText = (ctx: CompileContext) => ctx.session.role;

/** The role's select permission (admin: every column), or Hasura's refusal (DML/Internal.hs `askSelPermInfo`). */
function selectPermOf(ctx: CompileContext, table: TableModel, path: string, extra = ''): SelectPerm {
  const perm = ctx.permOf(table);
  if (!perm) throw badRequest('permission-denied', `select on "${tableText(table)}" for role "${roleText(ctx)}" is not allowed. ${extra}`, path);
  return perm;
}

/** `role "r" does not have permission to <verb> column "c"` (DML/Internal.hs `checkPermOnCol`). */
function permittedColumn(ctx: CompileContext, allowed: Set<string>, col: ColumnModel, verb: string, path: string): void {
  if (!ctx.admin && !allowed.has(col.name)) throw badRequest('permission-denied', `role "${roleText(ctx)}" does not have permission to ${verb} column "${col.name}"`, path);
}

/** One row as Hasura's RQL returns it: column names as keys, bignums as strings (--stringify). */
function rowObject(ctx: CompileContext, table: TableModel, r: SQL, columns: unknown, path: string, indexed = true): SQL {
  const list = Array.isArray(columns) ? columns : ['*'];
  const pairs: Array<[string, SQL]> = [];
  const perm = ctx.admin ? undefined : ctx.permOf(table);
  list.forEach((c, i) => {
    const at = indexed ? `${path}[${i}]` : path;
    if (c === '*') {
      // A role's `*` is the columns it may select.
      for (const col of table.columns) if (!perm || perm.columns.has(col.name)) pairs.push([col.name, out(ctx, col.type, sql`${r}.${identifier(col.name)}`)]);
      return;
    }
    if (typeof c === 'string') {
      const col = table.colByName.get(c);
      if (!col) throw noColumn(c, at);
      if (!ctx.admin) permittedColumn(ctx, perm?.columns ?? new Set(), col, 'select', at);
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

/** The role's row filter (admin: none), as the GraphQL compiler applies it. */
function permFilter(ctx: CompileContext, table: TableModel, a: SQL, filter: unknown): SQL {
  if (ctx.admin) return TRUE;
  return boolExp({ ctx, perm: true, root: a, rootTable: table, depth: 0 }, table, a, filter);
}

export function compileSelect(model: Model, t: QualifiedTable, args: SelArgs, stringify = true, session: Session = ADMIN): Compiled {
  const table = trackedTable(model, t);
  return guarded(() => {
    const ctx = new CompileContext(model, session, stringify);
    const perm = selectPermOf(ctx, table, '$.args');
    const a = ctx.alias();
    const r = ctx.alias();
    const ord = orderBy(table, a, args.order_by, '$.args.order_by');
    const asked = intArg(args.limit, 'limit', '$.args');
    // The permission's row limit caps the caller's (DML/Select.hs `convSelectQ`).
    const limit = !ctx.admin && perm.limit !== undefined ? Math.min(asked ?? perm.limit, perm.limit) : asked;
    const offset = intArg(args.offset, 'offset', '$.args');
    const base = sql`(SELECT ${a}.* FROM ${identifier(table.schema, table.name)} AS ${a} WHERE ${where(ctx, table, a, args.where)} AND ${permFilter(ctx, table, a, perm.filter)}${ord ? sql` ORDER BY ${ord}` : keyword('')}${limit !== undefined ? sql` LIMIT ${value(limit)}` : keyword('')}${offset !== undefined ? sql` OFFSET ${value(offset)}` : keyword('')})`;
    return compile(sql`SELECT coalesce(json_agg(${rowObject(ctx, table, r, args.columns, '$.args.columns')}), '[]'::json) AS result FROM ${base} AS ${r}`);
  });
}

export function compileCount(model: Model, t: QualifiedTable, args: { where?: unknown; distinct?: unknown }, session: Session = ADMIN): Compiled {
  const table = trackedTable(model, t);
  return guarded(() => {
    const ctx = new CompileContext(model, session, true);
    // DML/Count.hs: count needs the select permission, and says so.
    const perm = selectPermOf(ctx, table, '$.args', '; "count" is only allowed if the role has "select" permissions on the table');
    const a = ctx.alias();
    const distinct = Array.isArray(args.distinct) ? args.distinct : [];
    distinct.forEach((c, i) => {
      if (typeof c !== 'string' || !table.colByName.has(c)) throw noColumn(String(c), `$.args.distinct[${i}]`);
    });
    const counted = distinct.length ? sql`count(DISTINCT (${join(distinct.map((c) => sql`${a}.${identifier(c as string)}`), ', ')}))` : keyword('count(*)');
    return compile(sql`SELECT json_build_object('count', ${counted}) AS result FROM ${identifier(table.schema, table.name)} AS ${a} WHERE ${where(ctx, table, a, args.where)} AND ${permFilter(ctx, table, a, perm.filter)}`);
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

/**
 * `{"affected_rows": n, "returning": [...]}` over the rows a data-modifying CTE returned, and `ok`:
 * whether every row passed the permission's `check` (the CTE's `__check` column, if any).
 */
function mutationResult(ctx: CompileContext, table: TableModel, cte: SQL, modify: SQL, returning: unknown, checked: boolean): Compiled {
  const r = ctx.alias();
  const rows = Array.isArray(returning) && returning.length > 0
    ? sql`, 'returning', (SELECT coalesce(json_agg(${rowObject(ctx, table, r, returning, '$.args.returning', false)}), '[]'::json) FROM ${cte} AS ${r})`
    : keyword('');
  const ok = checked ? sql`(SELECT coalesce(bool_and("__check"), true) FROM ${cte})` : TRUE;
  return compile(sql`WITH ${cte} AS (${modify}) SELECT json_build_object('affected_rows', (SELECT count(*) FROM ${cte})${rows}) AS result, ${ok} AS ok`);
}

/** The `check` column a role's insert/update adds to RETURNING (Hasura's `checkRetCol`). */
function checkColumn(ctx: CompileContext, table: TableModel, a: SQL, check: unknown): SQL {
  return ctx.admin ? keyword('') : sql`, (${boolExp({ ctx, perm: true, root: a, rootTable: table, depth: 0 }, table, a, check)})::boolean AS "__check"`;
}

/** A permission preset: a session variable's value or a static value, as the column's type. */
function preset(ctx: CompileContext, c: ColumnModel, v: unknown): SQL {
  if (isSessionVar(v)) return sql`(${value(ctx.sessionVar(v))})::${typeSql(c)}`;
  return input(c, v);
}

interface OnConflictArgs { action?: unknown; constraint?: unknown; constraint_on?: unknown }

/**
 * `on_conflict: {action: ignore|update, constraint | constraint_on: [cols]}` (DML/Insert.hs
 * `convInsertQuery`, `OnConflict` JSON): `update` sets every inserted column from EXCLUDED.
 */
function parseOnConflict(oc: unknown): OnConflictArgs | undefined {
  if (oc === undefined || oc === null) return undefined;
  if (typeof oc !== 'object' || Array.isArray(oc)) throw badRequest('parse-failed', `parsing Object failed, expected Object, but encountered ${jsonKind(oc)}`, '$.on_conflict');
  const c = oc as OnConflictArgs;
  // Aeson's missing-key error, at the path Hasura reports (upstream v1/insert/onconflict/article_on_conflict_no_action_specified.yaml).
  if (c.action === undefined) throw badRequest('parse-failed', "the key 'action' was not present", '$.on_conflict');
  if (c.action !== 'ignore' && c.action !== 'update') throw badRequest('parse-failed', 'expected "ignore" or "update" for action', '$.on_conflict.action');
  return c;
}

function onConflict(ctx: CompileContext, table: TableModel, a: SQL, oc: unknown, cols: ColumnModel[]): SQL {
  const c = parseOnConflict(oc);
  if (!c) return keyword('');
  let target: SQL;
  if (typeof c.constraint === 'string') target = sql`ON CONSTRAINT ${identifier(c.constraint)}`;
  else if (Array.isArray(c.constraint_on)) {
    const on = c.constraint_on.map((n, i) => column(table, String(n), `$.args.on_conflict.constraint_on[${i}]`));
    target = sql`(${join(on.map((x) => identifier(x.name)), ', ')})`;
  } else if (c.action === 'ignore') target = keyword('');
  else throw badRequest('parse-failed', 'Expecting "constraint" or "constraint_on" when the "action" is "update"', '$.args.on_conflict');
  if (c.action === 'ignore' || cols.length === 0) return sql` ON CONFLICT ${target} DO NOTHING`;
  const upd = ctx.admin ? undefined : ctx.mutation.upd(table);
  if (!ctx.admin && !upd) throw badRequest('permission-denied', `update on "${tableText(table)}" for role "${roleText(ctx)}" is not allowed. `, '$.args');
  const settable = upd ? cols.filter((x) => upd.columns.has(x.name) && !(x.name in upd.set)) : cols;
  const filter = upd ? sql` WHERE ${boolExp({ ctx, perm: true, root: a, rootTable: table, depth: 0 }, table, a, upd.filter)}` : keyword('');
  if (settable.length === 0) return sql` ON CONFLICT ${target} DO NOTHING`;
  return sql` ON CONFLICT ${target} DO UPDATE SET ${join(settable.map((x) => sql`${identifier(x.name)} = EXCLUDED.${identifier(x.name)}`), ', ')}${filter}`;
}

/** RQL insert: every object's missing columns take their DEFAULT (not NULL), as Hasura's does. */
export function compileInsert(model: Model, t: QualifiedTable, args: { objects?: unknown; returning?: unknown; on_conflict?: unknown }, session: Session = ADMIN): Compiled {
  const table = trackedTable(model, t);
  const objects = Array.isArray(args.objects) ? args.objects : [];
  objects.forEach((o, i) => {
    if (o === null || typeof o !== 'object' || Array.isArray(o)) throw badRequest('parse-failed', 'expected Object', `$.args.objects[${i}]`);
  });
  const rows = objects as Row[];
  return guarded(() => {
    const ctx = new CompileContext(model, session, true);
    const ins = ctx.mutation.ins(table);
    if (!ins) throw badRequest('permission-denied', `insert on "${tableText(table)}" for role "${roleText(ctx)}" is not allowed. `, '$.args');
    const names = [...new Set(rows.flatMap((o) => Object.keys(o)))];
    const cols = names.map((n) => column(table, n, '$.args.objects'));
    for (const c of cols) permittedColumn(ctx, ins.columns, c, 'insert', '$.args.objects');
    // Presets of the permission win over the given values (DML/Insert.hs `convInsertQuery`).
    const presets = ctx.admin ? [] : Object.keys(ins.set).map((n) => table.colByName.get(n)).filter((c): c is ColumnModel => !!c);
    const all = [...new Set([...cols, ...presets])];
    const target = identifier(table.schema, table.name);
    const val = (o: Row, c: ColumnModel) => (!ctx.admin && c.name in ins.set ? preset(ctx, c, ins.set[c.name]) : c.name in o ? input(c, o[c.name]) : keyword('DEFAULT'));
    const values = rows.map((o) => sql`(${join(all.map((c) => val(o, c)), ', ')})`);
    const a = ctx.alias();
    // Order as Hasura's: the arguments parse (on_conflict's shape) before `returning` is checked,
    // and that before on_conflict's columns (upstream v1/insert/onconflict/*_error*.yaml).
    parseOnConflict(args.on_conflict);
    if (Array.isArray(args.returning)) rowObject(ctx, table, a, args.returning, '$.args.returning', false);
    const conflict = onConflict(ctx, table, a, args.on_conflict, cols);
    const insert = all.length
      ? sql`INSERT INTO ${target} AS ${a} (${join(all.map((c) => identifier(c.name)), ', ')}) VALUES ${join(values, ', ')}${conflict} RETURNING *${checkColumn(ctx, table, a, ins.check)}`
      : sql`INSERT INTO ${target} AS ${a} DEFAULT VALUES${conflict} RETURNING *${checkColumn(ctx, table, a, ins.check)}`;
    return mutationResult(ctx, table, ctx.alias(), insert, args.returning, !ctx.admin);
  });
}

/** RQL update: `$set`, `$inc`, `$mul`, `$default` (a list of columns), over the rows `where` selects. */
export function compileUpdate(model: Model, t: QualifiedTable, args: { where?: unknown; $set?: unknown; $inc?: unknown; $mul?: unknown; $default?: unknown; returning?: unknown }, session: Session = ADMIN): Compiled {
  const table = trackedTable(model, t);
  // Aeson: `where` is required (upstream v1/update/basic/person_error_no_where_clause.yaml).
  if (!('where' in args)) throw badRequest('parse-failed', 'key "where" not found', '$');
  return guarded(() => {
    const ctx = new CompileContext(model, session, true);
    const upd = ctx.mutation.upd(table);
    if (!upd) throw badRequest('permission-denied', `update on "${tableText(table)}" for role "${roleText(ctx)}" is not allowed. `, '$.args');
    const a = ctx.alias();
    const items: SQL[] = [];
    const each = (op: string, fn: (c: ColumnModel, v: unknown) => SQL) => {
      const obj = args[op as '$set'];
      if (obj === undefined || obj === null) return;
      if (typeof obj !== 'object' || Array.isArray(obj)) throw badRequest('parse-failed', 'expected Object', `$.args.${op}`);
      const at = `$.args["${op}"]`;
      for (const [name, v] of Object.entries(obj)) {
        const c = column(table, name, at);
        if (!ctx.admin && c.name in upd.set) {
          // DML/Update.hs: a preset column cannot be set (upstream v1/update/permissions/user_update_resident_preset_error.yaml).
          throw badRequest('not-supported', `column "${c.name}" is not updatable for role "${roleText(ctx)}"; its value is predefined in permission`, at);
        }
        permittedColumn(ctx, upd.columns, c, 'update', at);
        items.push(fn(c, v));
      }
    };
    each('$set', (c, v) => sql`${identifier(c.name)} = ${input(c, v)}`);
    each('$inc', (c, v) => sql`${identifier(c.name)} = ${a}.${identifier(c.name)} + ${input(c, v)}`);
    each('$mul', (c, v) => sql`${identifier(c.name)} = ${a}.${identifier(c.name)} * ${input(c, v)}`);
    if (Array.isArray(args.$default)) {
      for (const name of args.$default) {
        const c = column(table, String(name), '$.args["$default"]');
        permittedColumn(ctx, upd.columns, c, 'update', '$.args["$default"]');
        items.push(sql`${identifier(c.name)} = DEFAULT`);
      }
    }
    if (!ctx.admin) for (const [n, v] of Object.entries(upd.set)) { const c = table.colByName.get(n); if (c) items.push(sql`${identifier(c.name)} = ${preset(ctx, c, v)}`); }
    // Update.hs `validateUpdateQueryWith`: UnexpectedPayload when nothing is set (presets count).
    if (items.length === 0) throw badRequest('unexpected-payload', 'atleast one of $set, $inc, $mul, $default is required');
    const update = sql`UPDATE ${identifier(table.schema, table.name)} AS ${a} SET ${join(items, ', ')} WHERE ${where(ctx, table, a, args.where)} AND ${permFilter(ctx, table, a, upd.filter)} RETURNING ${a}.*${checkColumn(ctx, table, a, upd.check)}`;
    return mutationResult(ctx, table, ctx.alias(), update, args.returning, !ctx.admin);
  });
}

export function compileDelete(model: Model, t: QualifiedTable, args: { where?: unknown; returning?: unknown }, session: Session = ADMIN): Compiled {
  const table = trackedTable(model, t);
  return guarded(() => {
    const ctx = new CompileContext(model, session, true);
    const del = ctx.mutation.del(table);
    if (!del) throw badRequest('permission-denied', `delete on "${tableText(table)}" for role "${roleText(ctx)}" is not allowed. `, '$.args');
    const a = ctx.alias();
    const stmt = sql`DELETE FROM ${identifier(table.schema, table.name)} AS ${a} WHERE ${where(ctx, table, a, args.where)} AND ${permFilter(ctx, table, a, del.filter)} RETURNING ${a}.*`;
    return mutationResult(ctx, table, ctx.alias(), stmt, args.returning, false);
  });
}

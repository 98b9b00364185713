import type { ColumnModel, ComputedFieldModel, RelModel, TableModel } from '../schema/model.ts';
import { computedCall } from './functions.ts';
import { FALSE, identifier, join, keyword, sql, TRUE, value, type SQL } from '../sql/sql.ts';
import { QErr } from '../errors.ts';
import { columnValue, encode, geoValue, isGeo, isSessionVar, typeSql, type CompileContext } from './context.ts';
import { castColumn } from '../schema/comparison.ts';

/**
 * Boolean expressions → SQL (GraphQL/Schema/BoolExp.hs, Translate/BoolExp.hs; docs/research/hasura-v2.md §A.2).
 * Two dialects: a user `where` (GraphQL names, target tables' permission filters applied through
 * relationships), and a permission filter (column names, `$`-operators, session variables,
 * `_exists`, `_c*` column comparisons).
 */
export interface BoolCtx {
  ctx: CompileContext;
  perm: boolean;
  /** The permission's root table alias, for `_ceq: ["$", "col"]`. */
  root?: SQL;
  /** The table `root` is an alias of (`$` columns are looked up there). */
  rootTable?: TableModel;
  depth: number;
  /** Where this expression sits in an admin command (`$.args.where…`), for errors raised inside it. */
  path?: string;
  /** The row alias a column comparison (`_ceq`…) reads its other column from. */
  rowAlias?: SQL;
}

/**
 * A column or scalar computed field as an inherited role may read it: null on rows none of the
 * parents granting it can see (RQL/Types/Roles/Internal.hs `FieldAccessFilter`; the redaction
 * expression Hasura also applies inside `where` and `order_by`, Postgres/Translate/BoolExp.hs and
 * OrderBy: `withRedactionExp`), so a filter or an ordering never tells what the role cannot select.
 * Unchanged for roles with their own permission (no `redact`).
 */
export function redactedBy(ctx: BoolCtx['ctx'], table: TableModel, alias: SQL, name: string, expr: SQL): SQL {
  const when = ctx.permOf(table)?.redact?.get(name);
  if (when === undefined) return expr;
  return sql`(CASE WHEN ${boolExp({ ctx, perm: true, root: alias, rootTable: table, depth: 0 }, table, alias, when)} THEN ${expr} ELSE NULL END)`;
}

/** Aeson's JSON path step: `.key`, or `["key"]` when the key is not an identifier. */
const step = (path: string | undefined, key: string): string | undefined =>
  path === undefined ? undefined : /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;

const MAX_DEPTH = 64;

const BIN: Record<string, string> = {
  _eq: '=', _neq: '<>', _gt: '>', _lt: '<', _gte: '>=', _lte: '<=',
  _like: 'LIKE', _nlike: 'NOT LIKE', _ilike: 'ILIKE', _nilike: 'NOT ILIKE', _similar: 'SIMILAR TO', _nsimilar: 'NOT SIMILAR TO',
  _regex: '~', _iregex: '~*', _nregex: '!~', _niregex: '!~*', _contains: '@>', _contained_in: '<@',
};
const COL_CMP: Record<string, string> = { _ceq: '=', _cne: '<>', _cneq: '<>', _cgt: '>', _clt: '<', _cgte: '>=', _clte: '<=' };

const and = (parts: SQL[]): SQL => (parts.length === 0 ? TRUE : parts.length === 1 ? parts[0]! : sql`(${join(parts, ' AND ')})`);
const or = (parts: SQL[]): SQL => (parts.length === 0 ? FALSE : parts.length === 1 ? parts[0]! : sql`(${join(parts, ' OR ')})`);

/** Permission filters accept `$and`, `$eq`, `$ne`… for `_and`, `_eq`, `_neq`. */
function normOp(k: string, perm: boolean): string {
  if (!perm) return k;
  const n = k.startsWith('$') ? `_${k.slice(1)}` : k;
  return n === '_ne' ? '_neq' : n;
}

export function boolExp(b: BoolCtx, table: TableModel, alias: SQL, exp: unknown): SQL {
  if (b.depth > MAX_DEPTH) throw new QErr('validation-failed', 'boolean expression is nested too deeply', '$');
  if (exp === null || exp === undefined) return TRUE;
  if (typeof exp !== 'object' || Array.isArray(exp)) throw new QErr('validation-failed', 'expected a boolean expression object', '$');
  const inner: BoolCtx = { ...b, depth: b.depth + 1 };
  const parts: SQL[] = [];
  for (const [rawKey, v] of Object.entries(exp as Record<string, unknown>)) {
    const k = normOp(rawKey, b.perm);
    if (k === '_and') parts.push(and(list(v).map((x) => boolExp(inner, table, alias, x))));
    else if (k === '_or') parts.push(or(list(v).map((x) => boolExp(inner, table, alias, x))));
    else if (k === '_not') parts.push(sql`(NOT ${boolExp(inner, table, alias, v)})`);
    else if (k === '_exists' && b.perm) parts.push(exists(inner, v));
    else {
      const col = b.perm ? table.colByName.get(rawKey) : table.colByGql.get(rawKey);
      if (col) {
        const lhs = b.perm ? undefined : redactedBy(b.ctx, table, alias, col.name, sql`${alias}.${identifier(col.name)}`);
        parts.push(columnExp({ ...inner, path: step(b.path, rawKey) }, table, alias, col, v, lhs));
        continue;
      }
      const cf = table.computed.get(rawKey);
      if (cf && cf.inputArgs.length > 0) throw new QErr('validation-failed', `computed field "${rawKey}" takes input arguments and cannot be used in a boolean expression`, '$');
      if (cf) { parts.push(computedExp(inner, table, alias, cf, v)); continue; }
      const aggRel = rawKey.endsWith('_aggregate') ? table.relByName.get(rawKey.slice(0, -'_aggregate'.length)) : undefined;
      if (aggRel?.kind === 'array' && !table.relByName.has(rawKey)) { parts.push(aggregatePredicate(inner, table, alias, aggRel, v)); continue; }
      const rel = table.relByName.get(rawKey);
      if (!rel) throw new QErr('validation-failed', `no such column or relationship: "${rawKey}"`, '$');
      const target = b.ctx.model.tables.get(rel.target)!;
      const a = b.ctx.alias();
      const conds = rel.mapping.map(([mine, theirs]) => sql`${a}.${identifier(theirs)} = ${alias}.${identifier(mine)}`);
      if (!b.perm) {
        const perm = b.ctx.permOf(target);
        if (!perm) throw new QErr('validation-failed', `no such column or relationship: "${rawKey}"`, '$');
        conds.push(boolExp({ ctx: b.ctx, perm: true, root: a, rootTable: target, depth: inner.depth }, target, a, perm.filter));
      }
      conds.push(boolExp(inner, target, a, v));
      parts.push(sql`EXISTS (SELECT 1 FROM ${identifier(target.schema, target.name)} AS ${a} WHERE ${and(conds)})`);
    }
  }
  return and(parts);
}

const INT: ColumnModel = {
  name: 'count', gqlName: 'count', scalar: 'Int', nullable: false,
  type: { schema: 'pg_catalog', name: 'int4', category: 'N' },
  pg: { name: 'count', nullable: false, hasDefault: false, position: 0, type: { schema: 'pg_catalog', name: 'int4', category: 'N' } },
};

/** `<rel>_aggregate: {count: {arguments, distinct, filter, predicate}}` → `(SELECT count(…) …) <op> n`. */
function aggregatePredicate(b: BoolCtx, table: TableModel, alias: SQL, rel: RelModel, v: unknown): SQL {
  const target = b.ctx.model.tables.get(rel.target)!;
  const spec = ((v ?? {}) as { count?: { arguments?: string[]; distinct?: boolean; filter?: unknown; predicate?: Record<string, unknown> } }).count;
  if (!spec) return TRUE;
  const a = b.ctx.alias();
  const conds = rel.mapping.map(([mine, theirs]) => sql`${a}.${identifier(theirs)} = ${alias}.${identifier(mine)}`);
  const perm = b.ctx.permOf(target);
  conds.push(perm ? boolExp({ ctx: b.ctx, perm: true, root: a, rootTable: target, depth: b.depth }, target, a, perm.filter) : FALSE);
  if (spec.filter) conds.push(boolExp({ ...b, perm: false }, target, a, spec.filter));
  const cols = (spec.arguments ?? []).map((c) => sql`${a}.${identifier(c)}`);
  const d = spec.distinct ? keyword('DISTINCT ') : keyword('');
  const counted = cols.length === 0 ? keyword('*') : cols.length === 1 ? sql`${d}${cols[0]!}` : sql`${d}(${join(cols, ', ')})`;
  const lhs = sql`(SELECT count(${counted})::int4 FROM ${identifier(target.schema, target.name)} AS ${a} WHERE ${and(conds)})`;
  return and(Object.entries(spec.predicate ?? {}).map(([op, val]) => compare({ ...b, perm: false }, table, lhs, INT, op, val)));
}

const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === null || v === undefined ? [] : [v]);

function exists(b: BoolCtx, v: unknown): SQL {
  const spec = v as { _table?: { schema?: string; name?: string } | string; _where?: unknown };
  const t = typeof spec._table === 'string' ? { schema: 'public', name: spec._table } : spec._table;
  const table = t?.name ? b.ctx.model.tables.get(`${t.schema ?? 'public'}.${t.name}`) : undefined;
  if (!table) throw new QErr('validation-failed', '_exists refers to an untracked table', '$');
  const a = b.ctx.alias();
  return sql`EXISTS (SELECT 1 FROM ${identifier(table.schema, table.name)} AS ${a} WHERE ${boolExp(b, table, a, spec._where ?? {})})`;
}

/** Scalar computed fields compare like columns; SETOF ones filter like array relationships. */
function computedExp(b: BoolCtx, table: TableModel, alias: SQL, cf: ComputedFieldModel, v: unknown): SQL {
  const call = computedCall(b.ctx, cf, table, alias);
  if (cf.returns.kind === 'scalar') return columnExp(b, table, alias, cf.returns.column, v, b.perm ? call : redactedBy(b.ctx, table, alias, cf.name, call));
  const target = b.ctx.model.tables.get(cf.returns.target)!;
  const a = b.ctx.alias();
  const conds: SQL[] = [];
  if (!b.perm) {
    const perm = b.ctx.permOf(target);
    conds.push(perm ? boolExp({ ctx: b.ctx, perm: true, root: a, rootTable: target, depth: b.depth }, target, a, perm.filter) : FALSE);
  }
  conds.push(boolExp(b, target, a, v));
  return sql`EXISTS (SELECT 1 FROM ${call} AS ${a} WHERE ${and(conds)})`;
}

function columnExp(b: BoolCtx, table: TableModel, alias: SQL, col: ColumnModel, v: unknown, lhsOverride?: SQL): SQL {
  const lhs = lhsOverride ?? sql`${alias}.${identifier(col.name)}`;
  // Permission shorthand `col: value` means `_eq`.
  if (b.perm && (v === null || typeof v !== 'object' || Array.isArray(v))) return compare(b, table, lhs, col, '_eq', v);
  const parts: SQL[] = [];
  for (const [rawOp, val] of Object.entries((v ?? {}) as Record<string, unknown>)) parts.push(compare({ ...b, path: step(b.path, rawOp), rowAlias: alias }, table, lhs, col, normOp(rawOp, b.perm), val));
  return and(parts);
}

function operand(b: BoolCtx, col: ColumnModel, v: unknown): SQL {
  if (b.perm && isSessionVar(v)) return isGeo(col) ? geoValue(col, value(b.ctx.sessionVar(v))) : sql`(${value(b.ctx.sessionVar(v))})::${typeSql(col)}`;
  return columnValue(col, v);
}

/** A scalar operand of a fixed type (a distance, a band number), or a session variable cast to it. */
function typedOperand(b: BoolCtx, v: unknown, type: string): SQL {
  if (b.perm && isSessionVar(v)) return sql`(${value(b.ctx.sessionVar(v))})::${keyword(type)}`;
  return sql`(${value(v ?? null)})::${keyword(type)}`;
}

/**
 * PostGIS operators → functions (Postgres/Translate/BoolExp.hs `translateBoolExp`, `ASTContains` …
 * `ASTIntersectsGeomNband`): `ST_<Op>(column, value)`; `_st_d_within` passes the distance third and,
 * on geography, `use_spheroid` (default true) fourth.
 */
const ST_BINARY: Record<string, string> = {
  _st_contains: 'ST_Contains', _st_crosses: 'ST_Crosses', _st_equals: 'ST_Equals', _st_intersects: 'ST_Intersects',
  _st_overlaps: 'ST_Overlaps', _st_touches: 'ST_Touches', _st_within: 'ST_Within', _st_3d_intersects: 'ST_3DIntersects',
  _st_intersects_rast: 'ST_Intersects',
};

const GEOMETRY_OF = (col: ColumnModel): ColumnModel => castColumn(col, 'geometry');

function postgis(b: BoolCtx, lhs: SQL, col: ColumnModel, op: string, v: unknown): SQL | undefined {
  const fn = ST_BINARY[op];
  if (fn) return sql`${keyword(fn)}(${lhs}, ${operand(b, col, v)})`;
  const spec = (v !== null && typeof v === 'object' && !Array.isArray(v) ? v : {}) as Record<string, unknown>;
  const normSpec = Object.fromEntries(Object.entries(spec).map(([k, x]) => [k.replace(/^\$/, ''), x]));
  switch (op) {
    case '_st_d_within':
    case '_st_3d_d_within': {
      const from = operand(b, col, normSpec.from);
      const distance = typedOperand(b, normSpec.distance, 'float8');
      if (op === '_st_3d_d_within') return sql`ST_3DDWithin(${lhs}, ${from}, ${distance})`;
      if (col.type.name !== 'geography') return sql`ST_DWithin(${lhs}, ${from}, ${distance})`;
      const sph = normSpec.use_spheroid === undefined ? TRUE : typedOperand(b, normSpec.use_spheroid, 'boolean');
      return sql`ST_DWithin(${lhs}, ${from}, ${distance}, ${sph})`;
    }
    case '_st_intersects_nband_geom':
      return sql`ST_Intersects(${lhs}, ${typedOperand(b, normSpec.nband, 'int4')}, ${operand(b, GEOMETRY_OF(col), normSpec.geommin)})`;
    case '_st_intersects_geom_nband':
      return sql`ST_Intersects(${lhs}, ${operand(b, GEOMETRY_OF(col), normSpec.geommin)}, ${typedOperand(b, normSpec.nband ?? null, 'int4')})`;
  }
  return undefined;
}

/** `_cast: {<type>: <comparison>}`: the column cast to geometry/geography (`castExp`; `ACast`). */
const CASTS: Record<string, string> = { geometry: 'geography', geography: 'geometry' };

function cast(b: BoolCtx, table: TableModel, lhs: SQL, col: ColumnModel, v: unknown): SQL {
  const parts: SQL[] = [];
  for (const [target, exp] of Object.entries((v ?? {}) as Record<string, unknown>)) {
    if (CASTS[col.type.name] !== target) {
      throw new QErr('unexpected-payload', `cannot cast column of type "${col.type.name}" to type "${target}"`, b.path ?? '$');
    }
    const castCol = castColumn(col, target);
    const castLhs = sql`(${lhs})::${identifier(col.type.schema, target)}`;
    for (const [rawOp, val] of Object.entries((exp ?? {}) as Record<string, unknown>)) parts.push(compare(b, table, castLhs, castCol, normOp(rawOp, b.perm), val));
  }
  return and(parts);
}

/** A list operand: a JSON list, or a session variable holding a JSON list or a PG array literal. */
function listOperand(b: BoolCtx, col: ColumnModel, v: unknown, elemType: SQL): SQL {
  let items: unknown = v;
  if (b.perm && isSessionVar(v)) {
    const raw = b.ctx.sessionVar(v);
    try { items = JSON.parse(raw); } catch { return sql`(${value(raw)})::${elemType}[]`; }
    if (!Array.isArray(items)) return sql`(${value(raw)})::${elemType}[]`;
  }
  const arr = (Array.isArray(items) ? items : [items]).map((x) => (elemType === TEXT ? String(x) : encode(col, x)));
  return sql`(${value(arr)})::${elemType}[]`;
}

const TEXT = keyword('text');

function compare(b: BoolCtx, table: TableModel, lhs: SQL, col: ColumnModel, op: string, v: unknown): SQL {
  if (op === '_cast') return cast(b, table, lhs, col, v);
  if (op.startsWith('_st_')) {
    const st = postgis(b, lhs, col, op, v);
    if (st) return st;
  }
  const bin = BIN[op];
  if (bin) {
    const rhs = operand(b, col, v);
    // Permission `_eq` is null-safe (docs/research/hasura-v2.md §D, explain/permissions_query.yaml). Session variables
    // and non-null literals can never be NULL, so only a literal null needs the IS NULL branch —
    // which keeps `col = $1` index- and order-friendly under generic plans.
    if (b.perm && op === '_eq' && v === null) return sql`(${lhs} IS NULL)`;
    return sql`(${lhs} ${keyword(bin)} ${rhs})`;
  }
  if ((op === '_in' || op === '_nin') && isGeo(col) && Array.isArray(v)) {
    // Each GeoJSON item goes through ST_GeomFromGeoJSON (a geometry[] literal cannot hold GeoJSON).
    const items = v.map((x) => operand(b, col, x));
    if (items.length === 0) return op === '_in' ? FALSE : TRUE;
    return sql`(${lhs} ${keyword(op === '_in' ? 'IN' : 'NOT IN')} (${join(items, ', ')}))`;
  }
  switch (op) {
    case '_in': return sql`(${lhs} = ANY(${listOperand(b, col, v, typeSql(col))}))`;
    case '_nin': return sql`(${lhs} <> ALL(${listOperand(b, col, v, typeSql(col))}))`;
    case '_is_null': {
      const t = b.perm && isSessionVar(v) ? b.ctx.sessionVar(v) === 'true' : v === true;
      return t ? sql`(${lhs} IS NULL)` : sql`(${lhs} IS NOT NULL)`;
    }
    case '_has_key': return sql`(${lhs} ? ${b.perm && isSessionVar(v) ? value(b.ctx.sessionVar(v)) : value(String(v))}::text)`;
    case '_has_keys_any': return sql`(${lhs} ?| ${listOperand(b, col, v, TEXT)})`;
    case '_has_keys_all': return sql`(${lhs} ?& ${listOperand(b, col, v, TEXT)})`;
  }
  const c = COL_CMP[op];
  if (c && b.perm) {
    const ref = Array.isArray(v) && v[0] === '$' ? { alias: b.root, name: String(v[1]) } : { alias: undefined, name: String(v) };
    const other = (ref.alias ? (b.rootTable ?? table) : table).colByName.get(ref.name);
    if (!other) throw new QErr('validation-failed', `no such column: "${ref.name}"`, '$');
    const otherSql = ref.alias ? sql`${ref.alias}.${identifier(other.name)}` : sql`${b.rowAlias ?? lhsAlias(lhs)}.${identifier(other.name)}`;
    return sql`(${lhs} ${keyword(c)} ${otherSql})`;
  }
  throw new QErr('validation-failed', `unknown operator "${op}"`, '$');
}

/** The table alias of `alias."col"` (lhs is always built as alias.col above). */
function lhsAlias(lhs: SQL): SQL {
  if (lhs.k === 'list' && lhs.items[0]) return lhs.items[0];
  return lhs;
}

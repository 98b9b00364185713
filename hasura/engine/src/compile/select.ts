import type { SelectPerm, TableModel } from '../schema/model.ts';
import { fieldMeta, type AggOp } from '../schema/meta.ts';
import { isBigNum } from '../schema/scalars.ts';
import type { ColumnModel } from '../schema/model.ts';
import { FALSE, identifier, join, keyword, sql, value, type SQL } from '../sql/sql.ts';
import { validationFailed } from '../errors.ts';
import type { ResolvedField } from '../validation/resolve.ts';
import { boolExp } from './boolexp.ts';
import { columnValue, isGeo, nameLiteral, type CompileContext } from './context.ts';
import { from, orderItems, type OrderItem } from './orderby.ts';
import { parseJsonPath } from '../jsonpath.ts';
import { computedCall } from './functions.ts';

/**
 * Selections → one SQL expression yielding JSON (Translate/Select/**; docs/research/hasura-v2.md §D). Each level is
 * a sub-select over a filtered base `(SELECT DISTINCT ON … t.*, <order keys> FROM t WHERE
 * <permission> AND <where> AND <join> ORDER BY … LIMIT … OFFSET …) AS r`; objects are
 * `json_build_object` in selection order, lists `json_agg(… ORDER BY <order keys>)`.
 */
export interface Source { table: TableModel; perm: SelectPerm | undefined; join?: (a: SQL) => SQL; fromItem?: SQL }

interface Base { from: SQL; alias: SQL; order: SQL | undefined; nodesFilter: SQL | undefined }

/**
 * `aggregate` sees every permitted row; the permission `limit` bounds only `nodes`
 * (agg_perm/author_agg_articles.yaml), via a row number filter.
 */
function base(ctx: CompileContext, src: Source, args: Record<string, unknown>, path: string, forAggregate = false): Base {
  const { table, perm } = src;
  const b = ctx.alias();
  const r = ctx.alias();
  const conds: SQL[] = [perm ? boolExp({ ctx, perm: true, root: b, rootTable: table, depth: 0 }, table, b, perm.filter) : FALSE];
  if (args.where) conds.push(boolExp({ ctx, perm: false, depth: 0 }, table, b, args.where));
  if (src.join) conds.push(src.join(b));
  const items = orderItems(ctx, table, b, args.order_by);
  const distinct = (args.distinct_on as string[] | undefined) ?? [];
  if (distinct.length > 0 && items.length > 0) {
    // Hasura: the leading order_by columns must be the distinct_on columns (order_by/employee_distinct_fail.yaml).
    const lead = items.slice(0, distinct.length).map((i) => i.column);
    if (lead.length < distinct.length || lead.some((c) => !c || !distinct.includes(c)))
      throw validationFailed(`${path}.args`, '"distinct_on" columns must match initial "order_by" columns');
  }
  const userLimit = args.limit as number | undefined | null;
  const permLimit = perm?.limit;
  const limit = !forAggregate && permLimit !== undefined && (userLimit === undefined || userLimit === null || userLimit > permLimit) ? permLimit : userLimit;
  const keys = items.map((it, i) => sql`, ${it.expr} AS ${identifier(`__o${i}`)}`);
  const rowNumbered = forAggregate && permLimit !== undefined && (userLimit === undefined || userLimit === null || userLimit > permLimit);
  if (rowNumbered) {
    const over = items.length ? sql`ORDER BY ${join(items.map((it) => sql`${it.expr} ${it.dir}`), ', ')}` : keyword('');
    keys.push(sql`, row_number() OVER (${over}) AS "__rn"`);
  }
  const distinctSql = distinct.length ? sql`DISTINCT ON (${join(distinct.map((c) => sql`${b}.${identifier(c)}`), ', ')}) ` : keyword('');
  const orderSql = items.length ? sql` ORDER BY ${join(items.map((it) => sql`${it.expr} ${it.dir}`), ', ')}` : keyword('');
  const limitSql = limit !== undefined && limit !== null ? sql` LIMIT ${value(limit)}` : keyword('');
  const offsetSql = args.offset ? sql` OFFSET ${value(args.offset)}` : keyword('');
  const fromSql = sql`(SELECT ${distinctSql}${b}.*${join(keys, '')} FROM ${src.fromItem ?? identifier(table.schema, table.name)} AS ${b} WHERE ${join(conds, ' AND ')}${orderSql}${limitSql}${offsetSql}) AS ${r}`;
  const order = items.length ? sql` ORDER BY ${join(items.map((it: OrderItem, i) => sql`${r}.${identifier(`__o${i}`)} ${it.dir}`), ', ')}` : undefined;
  const nodesFilter = rowNumbered ? sql` FILTER (WHERE ${r}."__rn" <= ${value(permLimit)})` : undefined;
  return { from: fromSql, alias: r, order, nodesFilter };
}

export function selectList(ctx: CompileContext, src: Source, field: ResolvedField): SQL {
  const bs = base(ctx, src, field.args, field.path);
  return sql`(SELECT coalesce(json_agg(${rowObject(ctx, src.table, bs.alias, field.selection, src.perm)}${bs.order ?? keyword('')}), '[]'::json) FROM ${bs.from})`;
}

export function selectAggregate(ctx: CompileContext, src: Source, field: ResolvedField): SQL {
  const bs = base(ctx, src, field.args, field.path, true);
  const pairs = field.selection.map((f): [string, SQL] => {
    if (!f.def) return [f.alias, nameLiteral(f.parentType.name)];
    const m = fieldMeta(f.def.extensions);
    if (m?.kind === 'nodes') return [f.alias, sql`coalesce(json_agg(${rowObject(ctx, src.table, bs.alias, f.selection, src.perm)}${bs.order ?? keyword('')})${bs.nodesFilter ?? keyword('')}, '[]'::json)`];
    return [f.alias, aggregateFields(ctx, src.table, bs.alias, f, src.perm)];
  });
  return sql`(SELECT ${object(pairs)} FROM ${bs.from})`;
}

export function selectByPk(ctx: CompileContext, src: Source, field: ResolvedField): SQL {
  const r = ctx.alias();
  const { table, perm } = src;
  const conds: SQL[] = [perm ? boolExp({ ctx, perm: true, root: r, rootTable: table, depth: 0 }, table, r, perm.filter) : FALSE];
  for (const name of table.pk) {
    const c = table.colByName.get(name)!;
    conds.push(sql`${r}.${identifier(c.name)} = ${columnValue(c, field.args[c.gqlName])}`);
  }
  return sql`(SELECT ${rowObject(ctx, table, r, field.selection, perm)} FROM ${identifier(table.schema, table.name)} AS ${r} WHERE ${join(conds, ' AND ')} LIMIT 1)`;
}

/**
 * geometry/geography as GeoJSON: Hasura's `toJSONableExp` (Postgres/Translate/Column.hs) selects
 * `ST_AsGeoJSON(col, 15, 4)`: 15 decimal digits, option 4 = the long CRS
 * (`urn:ogc:def:crs:EPSG::4326`) whenever the SRID is set.
 */
export const geoJsonOut = (expr: SQL): SQL => sql`ST_AsGeoJSON(${expr}, 15, 4)::json`;

/** A column as Hasura outputs it: bigint/numeric/float8 as strings with --stringify-numeric-types. */
function columnOut(ctx: CompileContext, c: ColumnModel, expr: SQL): SQL {
  if (isGeo(c)) return geoJsonOut(expr);
  return ctx.stringify && isBigNum(c.type) ? sql`(${expr})::text` : expr;
}

/** The `path` argument as a `#>` text-array path (Hasura's `parseJSONPath` error on a bad one). */
function jsonPathArg(path: string, errPath: string): string[] {
  const p = parseJsonPath(path);
  if (!p) throw validationFailed(errPath, `parse json path error: invalid path ${JSON.stringify(path)}`);
  return p.map(String);
}

/**
 * A field an inherited role's union grants through only some of its parents reads as null on rows
 * none of those parents can see (`FieldAccessFilter` redaction, RQL/Types/Roles/Internal.hs;
 * upstream inherited_roles/basic_inherited_roles.yaml: "when a role doesn't have access to a
 * certain column in a row, it should be null").
 */
function redacted(ctx: CompileContext, table: TableModel, r: SQL, perm: SelectPerm | undefined, name: string, expr: SQL): SQL {
  const when = perm?.redact?.get(name);
  if (when === undefined) return expr;
  return sql`(CASE WHEN ${boolExp({ ctx, perm: true, root: r, rootTable: table, depth: 0 }, table, r, when)} THEN ${expr} ELSE NULL END)`;
}

export function rowObject(ctx: CompileContext, table: TableModel, r: SQL, fields: ResolvedField[], perm?: SelectPerm): SQL {
  const pairs = fields.map((f): [string, SQL] => {
    if (!f.def) return [f.alias, nameLiteral(f.parentType.name)];
    const m = fieldMeta(f.def.extensions);
    switch (m?.kind) {
      case 'column': {
        const col = sql`${r}.${identifier(m.column.name)}`;
        if (typeof f.args.path === 'string') return [f.alias, redacted(ctx, table, r, perm, m.column.name, sql`(${col} #> ${value(jsonPathArg(f.args.path, `${f.path}.args.path`))}::text[])`)];
        return [f.alias, redacted(ctx, table, r, perm, m.column.name, columnOut(ctx, m.column, col))];
      }
      case 'objrel': {
        const a = ctx.alias();
        return [f.alias, sql`(SELECT ${rowObject(ctx, m.target, a, f.selection, m.perm)} FROM ${from(ctx, m.rel, m.target, a, r)} LIMIT 1)`];
      }
      case 'arrrel':
      case 'arragg': {
        const rel = m.rel;
        const src: Source = {
          table: m.target, perm: m.perm,
          join: (a) => join(rel.mapping.map(([mine, theirs]) => sql`${a}.${identifier(theirs)} = ${r}.${identifier(mine)}`), ' AND '),
        };
        return [f.alias, m.kind === 'arrrel' ? selectList(ctx, src, f) : selectAggregate(ctx, src, f)];
      }
      case 'computed': {
        const call = computedCall(ctx, m.cf, table, r, f.args.args as Record<string, unknown> | undefined, f.path);
        if (m.cf.returns.kind === 'scalar') return [f.alias, redacted(ctx, table, r, perm, m.cf.name, columnOut(ctx, m.cf.returns.column, call))];
        return [f.alias, selectList(ctx, { table: m.target!, perm: m.perm, fromItem: call }, f)];
      }
      default:
        throw validationFailed(f.path, `field '${f.name}' cannot be selected here`);
    }
  });
  return object(pairs);
}

const AGG_SQL: Record<AggOp, string> = {
  avg: 'avg', max: 'max', min: 'min', sum: 'sum', stddev: 'stddev', stddev_pop: 'stddev_pop',
  stddev_samp: 'stddev_samp', var_pop: 'var_pop', var_samp: 'var_samp', variance: 'variance',
};

function aggregateFields(ctx: CompileContext, table: TableModel, r: SQL, field: ResolvedField, perm: SelectPerm | undefined): SQL {
  const pairs = field.selection.map((f): [string, SQL] => {
    if (!f.def) return [f.alias, nameLiteral(f.parentType.name)];
    const m = fieldMeta(f.def.extensions);
    if (m?.kind === 'count') {
      const cols = (f.args.columns as string[] | undefined) ?? [];
      const d = f.args.distinct === true ? keyword('DISTINCT ') : keyword('');
      if (cols.length === 0) return [f.alias, f.args.distinct === true ? sql`count(DISTINCT ${r}.*)` : keyword('count(*)')];
      const colSql = cols.map((c) => redacted(ctx, table, r, perm, c, sql`${r}.${identifier(c)}`));
      return [f.alias, cols.length === 1 ? sql`count(${d}${colSql[0]!})` : sql`count(${d}(${join(colSql, ', ')}))`];
    }
    if (m?.kind === 'aggop') {
      const op = m.op;
      const inner = f.selection.map((g): [string, SQL] => {
        if (!g.def) return [g.alias, nameLiteral(g.parentType.name)];
        const gm = fieldMeta(g.def.extensions);
        if (gm?.kind === 'computed' && gm.cf.returns.kind === 'scalar') {
          // A scalar computed field aggregates its call, with its args, and answers in its own
          // type (Schema/Select.hs `mkColumnAggComputedField` reuses the field's parser).
          const call = computedCall(ctx, gm.cf, table, r, g.args.args as Record<string, unknown> | undefined, g.path);
          return [g.alias, columnOut(ctx, gm.cf.returns.column, sql`${keyword(AGG_SQL[op])}(${redacted(ctx, table, r, perm, gm.cf.name, call)})`)];
        }
        if (gm?.kind !== 'column') throw validationFailed(g.path, 'unexpected aggregate field');
        const e = sql`${keyword(AGG_SQL[op])}(${redacted(ctx, table, r, perm, gm.column.name, sql`${r}.${identifier(gm.column.name)}`)})`;
        // sum/max/min keep the column's type; the statistics are Float, except that a bignum column's
        // numeric result is stringified like the column (aggregations/article_agg_where.yaml).
        if (op === 'sum' || op === 'max' || op === 'min' || isBigNum(gm.column.type)) return [g.alias, columnOut(ctx, gm.column, e)];
        return [g.alias, sql`(${e})::float8`];
      });
      return [f.alias, object(inner)];
    }
    throw validationFailed(f.path, `field '${f.name}' cannot be selected here`);
  });
  return object(pairs);
}

/** json_build_object takes at most 100 arguments; wider objects go through row_to_json. */
export function object(pairs: Array<[string, SQL]>): SQL {
  if (pairs.length <= 50) return sql`json_build_object(${join(pairs.map(([k, v]) => sql`${nameLiteral(k)}, ${v}`), ', ')})`;
  return sql`(SELECT row_to_json(_e) FROM (SELECT ${join(pairs.map(([k, v]) => sql`${v} AS ${identifier(k)}`), ', ')}) AS _e)`;
}

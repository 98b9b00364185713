import type { ComputedFieldModel, FunctionModel, TableModel } from '../schema/model.ts';
import type { PgFunctionArg } from '../introspection/catalog.ts';
import { identifier, join, sql, value, type SQL } from '../sql/sql.ts';
import { QErr } from '../errors.ts';
import { argGqlNames } from '../schema/function-args.ts';
import type { CompileContext } from './context.ts';

/**
 * Function calls for computed fields and tracked functions (Translate/Select: `SFunction`,
 * `mkComputedFieldSelect`). The row argument is rebuilt as the table's composite type, so it
 * works over our base sub-selects (which carry extra ordering columns); the session argument is
 * the session variables as json.
 */
export function rowOf(table: TableModel, alias: SQL): SQL {
  return sql`ROW(${join(table.columns.map((c) => sql`${alias}.${identifier(c.name)}`), ', ')})::${identifier(table.schema, table.name)}`;
}

const sessionJson = (ctx: CompileContext): SQL => sql`(${value(JSON.stringify(ctx.session.vars))})::json`;

/**
 * The argument list of a call, as Hasura builds it (Backends/Postgres/Schema/Select.hs
 * `functionArgs`): in SQL order, the leading arguments that are given (or implicit: table row,
 * session) are passed by position; after the first omitted one every other is passed by name
 * (`name => value`), so the omitted ones take their defaults. Omitting one without a default is
 * "Non default arguments cannot be omitted"; an unnamed one after an omitted one cannot be passed
 * at all: "Only last set of positional arguments can be omitted" (both `not-supported`).
 * Input arguments are looked up in `given` by their GraphQL name (`arg_<n>` when unnamed).
 */
function callArgs(all: readonly PgFunctionArg[], implicit: Map<number, SQL>, given: Record<string, unknown> | undefined, path: string, argSql: (a: PgFunctionArg, v: unknown) => SQL): SQL[] {
  const inputs = all.map((a, i) => ({ a, i })).filter(({ i }) => !implicit.has(i));
  const names = new Map(inputs.map(({ i }, k) => [i, argGqlNames(inputs.map((x) => x.a))[k]!]));
  const parts: SQL[] = [];
  let positional = true;
  all.forEach((a, i) => {
    const gql = names.get(i);
    const arg = implicit.get(i) ?? (given && gql !== undefined && Object.hasOwn(given, gql) ? argSql(a, given[gql]) : undefined);
    if (!arg) {
      if (!a.hasDefault) throw new QErr('not-supported', 'Non default arguments cannot be omitted', path);
      positional = false;
      return;
    }
    if (positional) { parts.push(arg); return; }
    if (!a.name) throw new QErr('not-supported', 'Only last set of positional arguments can be omitted', path);
    parts.push(sql`${identifier(a.name)} => ${arg}`);
  });
  return parts;
}

/** A computed field's call: the row, the session, and the input arguments given in the field's `args`. */
export function computedCall(ctx: CompileContext, cf: ComputedFieldModel, table: TableModel, alias: SQL, given?: Record<string, unknown>, path = '$'): SQL {
  const implicit = new Map<number, SQL>([[cf.tableArgIndex, rowOf(table, alias)]]);
  if (cf.sessionArgIndex !== undefined) implicit.set(cf.sessionArgIndex, sessionJson(ctx));
  const parts = callArgs(cf.fn.args, implicit, given, `${path}.args`, argValue);
  return sql`${identifier(cf.fn.schema, cf.fn.name)}(${join(parts, ', ')})`;
}

/** An input argument as a typed parameter: json(b) and objects as JSON text, geo types from GeoJSON. */
function argValue(a: PgFunctionArg, v: unknown): SQL {
  const type = identifier(a.type.schema, a.type.name);
  if (v !== null && (a.type.name === 'geometry' || a.type.name === 'geography')) return sql`ST_GeomFromGeoJSON((${value(typeof v === 'string' ? v : JSON.stringify(v))})::text)::${type}`;
  const isJson = a.type.name === 'json' || a.type.name === 'jsonb';
  return sql`(${value(v !== null && (isJson || typeof v === 'object') ? JSON.stringify(v) : v)})::${type}`;
}

/** A tracked function's FROM item. */
export function functionCall(ctx: CompileContext, fnm: FunctionModel, given: Record<string, unknown> | undefined, path: string): SQL {
  const implicit = new Map<number, SQL>();
  if (fnm.sessionArgIndex !== undefined) implicit.set(fnm.sessionArgIndex, sessionJson(ctx));
  const parts = callArgs(fnm.fn.args, implicit, given, `${path}.args.args`, (a, v) => sql`(${value(v)})::${identifier(a.type.schema, a.type.name)}`);
  return sql`${identifier(fnm.fn.schema, fnm.fn.name)}(${join(parts, ', ')})`;
}

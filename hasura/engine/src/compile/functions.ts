import type { ComputedFieldModel, FunctionModel, TableModel } from '../schema/model.ts';
import type { PgFunctionArg } from '../introspection/catalog.ts';
import { identifier, join, sql, value, type SQL } from '../sql/sql.ts';
import { validationFailed } from '../errors.ts';
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
 * A computed field's call: the row, the session, and the input arguments given in the field's
 * `args` — by name, so omitted ones take their defaults (`mkComputedFieldSelect`/`SFunctionArgs`).
 */
export function computedCall(ctx: CompileContext, cf: ComputedFieldModel, table: TableModel, alias: SQL, given?: Record<string, unknown>, path = '$'): SQL {
  const parts: SQL[] = [];
  let named = false;
  cf.fn.args.forEach((a, i) => {
    let arg: SQL | undefined;
    if (i === cf.sessionArgIndex) arg = sessionJson(ctx);
    else if (i === cf.tableArgIndex) arg = rowOf(table, alias);
    else if (given && a.name in given) arg = argValue(a, given[a.name]);
    if (!arg) {
      if (!a.hasDefault) throw validationFailed(`${path}.args`, `missing required field '${a.name}'`);
      named = true;
      return;
    }
    parts.push(named && a.name ? sql`${identifier(a.name)} => ${arg}` : arg);
  });
  return sql`${identifier(cf.fn.schema, cf.fn.name)}(${join(parts, ', ')})`;
}

/** An input argument as a typed parameter: json(b) and objects as JSON text, geo types from GeoJSON. */
function argValue(a: PgFunctionArg, v: unknown): SQL {
  const type = identifier(a.type.schema, a.type.name);
  if (v !== null && (a.type.name === 'geometry' || a.type.name === 'geography')) return sql`ST_GeomFromGeoJSON((${value(typeof v === 'string' ? v : JSON.stringify(v))})::text)::${type}`;
  const isJson = a.type.name === 'json' || a.type.name === 'jsonb';
  return sql`(${value(v !== null && (isJson || typeof v === 'object') ? JSON.stringify(v) : v)})::${type}`;
}

/** A tracked function's FROM item; input args by name so omitted defaults apply. */
export function functionCall(ctx: CompileContext, fnm: FunctionModel, given: Record<string, unknown> | undefined, path: string): SQL {
  const parts: SQL[] = [];
  fnm.fn.args.forEach((a, i) => {
    const arg = i === fnm.sessionArgIndex ? sessionJson(ctx)
      : given && a.name in given ? sql`(${value(given[a.name])})::${identifier(a.type.schema, a.type.name)}` : undefined;
    if (!arg) {
      if (!a.hasDefault) throw validationFailed(`${path}.args.args`, `missing required field '${a.name}'`);
      return;
    }
    parts.push(a.name ? sql`${identifier(a.name)} => ${arg}` : arg);
  });
  return sql`${identifier(fnm.fn.schema, fnm.fn.name)}(${join(parts, ', ')})`;
}

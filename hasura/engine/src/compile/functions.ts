import type { ComputedFieldModel, FunctionModel, TableModel } from '../schema/model.ts';
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

export function computedCall(ctx: CompileContext, cf: ComputedFieldModel, table: TableModel, alias: SQL): SQL {
  const args = cf.fn.args.map((_, i) => (i === cf.sessionArgIndex ? sessionJson(ctx) : rowOf(table, alias)));
  return sql`${identifier(cf.fn.schema, cf.fn.name)}(${join(args, ', ')})`;
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

import type { FieldMeta } from '../schema/meta.ts';
import { sql, type SQL } from '../sql/sql.ts';
import type { ResolvedField } from '../validation/resolve.ts';
import type { CompileContext } from './context.ts';
import { functionCall } from './functions.ts';
import { selectAggregate, selectList } from './select.ts';

type FunctionMeta = Extract<FieldMeta, { kind: 'function' | 'function_aggregate' }>;

/**
 * A tracked function's root field, on query_root or mutation_root (Translate/Select `SFunction`;
 * docs schema/postgres/custom-functions.mdx): the call is the FROM item of the usual select, so
 * the returning table's select permission (filter, columns, limit) applies to its rows. A
 * function returning one row (not SETOF) answers one object, or null
 * (upstream graphql_mutation/functions/single_row_function_as_mutation.yaml).
 */
export function functionRoot(ctx: CompileContext, m: FunctionMeta, f: ResolvedField): SQL {
  const src = { table: m.table, perm: m.perm, fromItem: functionCall(ctx, m.fnm, f.args.args as Record<string, unknown> | undefined, f.path) };
  if (m.kind === 'function_aggregate') return selectAggregate(ctx, src, f);
  if (!m.fnm.returnsSet) return sql`(${selectList(ctx, src, f)} -> 0)`;
  return selectList(ctx, src, f);
}

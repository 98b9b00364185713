import { fieldMeta } from '../schema/meta.ts';
import { sql, type SQL } from '../sql/sql.ts';
import { validationFailed } from '../errors.ts';
import type { ResolvedField } from '../validation/resolve.ts';
import type { CompileContext } from './context.ts';
import { object, selectAggregate, selectByPk, selectList } from './select.ts';
import { functionRoot } from './function-root.ts';
import { streamOnce } from './stream.ts';

/**
 * All database root fields of one operation → ONE statement returning one JSON object keyed by
 * response name, in selection order (Hasura runs one statement per root field, docs/research/hasura-v2.md §D;
 * we fold them so a request is one round trip). Mutations will add their CTEs here.
 */
export function compileQueryRoot(ctx: CompileContext, fields: ResolvedField[]): SQL {
  const pairs = fields.map((f): [string, SQL] => [f.alias, rootField(ctx, f)]);
  return sql`SELECT ${object(pairs)} AS data`;
}

function rootField(ctx: CompileContext, f: ResolvedField): SQL {
  const m = f.def ? fieldMeta(f.def.extensions) : undefined;
  switch (m?.kind) {
    case 'select': return selectList(ctx, { table: m.table, perm: m.perm }, f);
    case 'select_aggregate': return selectAggregate(ctx, { table: m.table, perm: m.perm }, f);
    case 'select_by_pk': return selectByPk(ctx, { table: m.table, perm: m.perm }, f);
    case 'select_stream': return streamOnce(ctx, f);
    case 'function':
    case 'function_aggregate': return functionRoot(ctx, m, f);
    default: throw validationFailed(f.path, `field '${f.name}' cannot be compiled`);
  }
}

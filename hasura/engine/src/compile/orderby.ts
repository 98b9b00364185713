import type { RelModel, TableModel } from '../schema/model.ts';
import { FALSE, identifier, join, keyword, sql, type SQL } from '../sql/sql.ts';
import { boolExp, redactedBy } from './boolexp.ts';
import type { CompileContext } from './context.ts';
import { computedCall } from './functions.ts';

/** `order_by` enum → SQL (Postgres/Instances/Schema.hs `orderByOperators`; docs/research/hasura-v2.md §A.3). */
const DIRECTIONS: Record<string, string> = {
  asc: 'ASC NULLS LAST', asc_nulls_first: 'ASC NULLS FIRST', asc_nulls_last: 'ASC NULLS LAST',
  desc: 'DESC NULLS FIRST', desc_nulls_first: 'DESC NULLS FIRST', desc_nulls_last: 'DESC NULLS LAST',
};

export interface OrderItem { expr: SQL; dir: SQL; column?: string }

const AGG_FN: Record<string, string> = {
  avg: 'avg', max: 'max', min: 'min', sum: 'sum', stddev: 'stddev', stddev_pop: 'stddev_pop',
  stddev_samp: 'stddev_samp', var_pop: 'var_pop', var_samp: 'var_samp', variance: 'variance',
};

/** Ordering by columns, object relationships (scalar sub-selects) and array aggregates. */
export function orderItems(ctx: CompileContext, table: TableModel, alias: SQL, orderBy: unknown): OrderItem[] {
  const out: OrderItem[] = [];
  const entries = Array.isArray(orderBy) ? orderBy : orderBy ? [orderBy] : [];
  for (const ob of entries) {
    for (const [k, v] of Object.entries(ob as Record<string, unknown>)) {
      const col = table.colByGql.get(k);
      // Inherited roles order by what they may read (redaction, boolexp.ts `redactedBy`).
      if (col) { out.push({ expr: redactedBy(ctx, table, alias, col.name, sql`${alias}.${identifier(col.name)}`), dir: keyword(DIRECTIONS[String(v)]!), column: col.name }); continue; }
      const rel = table.relByName.get(k);
      if (rel && rel.kind === 'object') {
        const target = ctx.model.tables.get(rel.target)!;
        const a = ctx.alias();
        for (const it of orderItems(ctx, target, a, v)) {
          out.push({ expr: sql`(SELECT ${it.expr} FROM ${from(ctx, rel, target, a, alias)} LIMIT 1)`, dir: it.dir });
        }
        continue;
      }
      const cf = table.computed.get(k) ?? (k.endsWith('_aggregate') ? table.computed.get(k.slice(0, -'_aggregate'.length)) : undefined);
      if (cf) {
        const call = computedCall(ctx, cf, table, alias);
        if (cf.returns.kind === 'scalar') { out.push({ expr: redactedBy(ctx, table, alias, cf.name, call), dir: keyword(DIRECTIONS[String(v)]!) }); continue; }
        const target = ctx.model.tables.get(cf.returns.target)!;
        for (const [op, spec] of Object.entries(v as Record<string, unknown>)) {
          const a = ctx.alias();
          const perm = ctx.permOf(target);
          const fromCall = sql`${call} AS ${a} WHERE ${perm ? boolExp({ ctx, perm: true, root: a, depth: 0 }, target, a, perm.filter) : FALSE}`;
          if (op === 'count') { out.push({ expr: sql`(SELECT count(*) FROM ${fromCall})`, dir: keyword(DIRECTIONS[String(spec)]!) }); continue; }
          for (const [cname, dir] of Object.entries(spec as Record<string, unknown>)) {
            const c = target.colByGql.get(cname)!;
            out.push({ expr: sql`(SELECT ${keyword(AGG_FN[op]!)}(${redactedBy(ctx, target, a, c.name, sql`${a}.${identifier(c.name)}`)}) FROM ${fromCall})`, dir: keyword(DIRECTIONS[String(dir)]!) });
          }
        }
        continue;
      }
      const arr = k.endsWith('_aggregate') ? table.relByName.get(k.slice(0, -'_aggregate'.length)) : undefined;
      if (arr && arr.kind === 'array') {
        const target = ctx.model.tables.get(arr.target)!;
        for (const [op, spec] of Object.entries(v as Record<string, unknown>)) {
          const a = ctx.alias();
          if (op === 'count') {
            out.push({ expr: sql`(SELECT count(*) FROM ${from(ctx, arr, target, a, alias)})`, dir: keyword(DIRECTIONS[String(spec)]!) });
            continue;
          }
          for (const [cname, dir] of Object.entries(spec as Record<string, unknown>)) {
            const c = target.colByGql.get(cname)!;
            out.push({ expr: sql`(SELECT ${keyword(AGG_FN[op]!)}(${redactedBy(ctx, target, a, c.name, sql`${a}.${identifier(c.name)}`)}) FROM ${from(ctx, arr, target, a, alias)})`, dir: keyword(DIRECTIONS[String(dir)]!) });
          }
        }
      }
    }
  }
  return out;
}

/** `target AS a WHERE <join> AND <target permission>` for a relationship sub-select. */
export function from(ctx: CompileContext, rel: RelModel, target: TableModel, a: SQL, parent: SQL): SQL {
  const conds = rel.mapping.map(([mine, theirs]) => sql`${a}.${identifier(theirs)} = ${parent}.${identifier(mine)}`);
  const perm = ctx.permOf(target);
  conds.push(perm ? boolExp({ ctx, perm: true, root: a, depth: 0 }, target, a, perm.filter) : FALSE);
  return sql`${identifier(target.schema, target.name)} AS ${a} WHERE ${join(conds, ' AND ')}`;
}

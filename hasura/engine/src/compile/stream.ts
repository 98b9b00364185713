/**
 * A streaming subscription field (`<id>_stream`, schema/stream.ts) → SQL, as Hasura's
 * `mkStreamSQLSelect` (Backends/Postgres/Translate/Select/Streaming.hs) builds it:
 *
 *   - the rows after the cursor: `<cursor column> > <cursor value>` (`<` for DESC), AND the
 *     permission filter AND the user's `where`, ordered by the cursor column, at most
 *     `batch_size` rows — `FETCH FIRST n ROWS WITH TIES`, so rows sharing the last row's cursor
 *     value all come in this batch instead of being skipped by the next batch's `>` (upstream
 *     enableWithTiesInSelectSource; test_subscriptions.py TestStreamingSubscriptionWithTies);
 *   - next to the rows, the cursor's next value: `json_build_object('<column>', MAX(col)::text)`
 *     (MIN for DESC), text so the poller can bind it again as it is; NULL when there was no row,
 *     and the poller then keeps the previous value (StreamingQuery.hs mergeOldAndNewCursorValues).
 *
 * The cursor value is one bind parameter; `cursorParam` is its position among the statement's
 * parameters, which the streaming multiplexer (subscriptions/streaming.ts) replaces with each
 * cohort's current cursor on every poll.
 */
import { QErr, validationFailed } from '../errors.ts';
import { fieldMeta } from '../schema/meta.ts';
import type { ColumnModel } from '../schema/model.ts';
import { FALSE, identifier, join, keyword, sql, value, type SQL } from '../sql/sql.ts';
import type { ResolvedField } from '../validation/resolve.ts';
import { boolExp } from './boolexp.ts';
import { encode, nameLiteral, typeSql, type CompileContext } from './context.ts';
import { rowObject } from './select.ts';

export interface CompiledStream {
  /** One row: `data` (the response object, keyed by the field's alias) and `cursor` (JSON, text values). */
  statement: SQL;
  /** Index of the cursor's bind parameter in `compile(statement).values`. */
  cursorParam: number;
  /** The cursor's key in the `cursor` JSON (the column's GraphQL name, as Hasura keys it). */
  cursorKey: string;
}

/** Is `f` a streaming root field? */
export const isStreamField = (f: ResolvedField): boolean => (f.def ? fieldMeta(f.def.extensions)?.kind === 'select_stream' : false);

interface CursorItem { column: ColumnModel; value: unknown; desc: boolean }

/** The one cursor column (SubscriptionStream.hs `tableStreamArguments`, with its parse errors). */
function cursorOf(f: ResolvedField, columns: Map<string, ColumnModel>): CursorItem {
  const items: CursorItem[] = [];
  const list = Array.isArray(f.args.cursor) ? f.args.cursor : f.args.cursor ? [f.args.cursor] : [];
  for (const c of list as Array<{ initial_value?: Record<string, unknown>; ordering?: string } | null>) {
    if (!c) continue;
    for (const [k, v] of Object.entries(c.initial_value ?? {})) {
      const column = columns.get(k);
      if (!column) throw validationFailed(`${f.path}.args.cursor`, `field '${k}' not found`);
      items.push({ column, value: v, desc: c.ordering === 'DESC' });
    }
  }
  if (items.length === 0) throw validationFailed(`${f.path}.args.cursor`, 'one streaming column field is expected');
  if (items.length > 1) throw validationFailed(`${f.path}.args.cursor`, 'multiple column cursors are not supported yet');
  return items[0]!;
}

function batchSizeOf(f: ResolvedField): number {
  const n = f.args.batch_size;
  if (typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 2147483647) return n;
  throw validationFailed(`${f.path}.args.batch_size`, `expected a non-negative 32-bit integer for type 'Int', but found ${typeof n === 'number' ? 'an integer' : 'null'}`);
}

/** The index of `node` among the bind parameters of `statement`, in compile order. */
function paramIndex(statement: SQL, node: SQL): number {
  let n = 0;
  let found = -1;
  const walk = (x: SQL): void => {
    if (found >= 0) return;
    if (x === node) { found = n; return; }
    if (x.k === 'value') n++;
    else if (x.k === 'list') for (const it of x.items) walk(it);
  };
  walk(statement);
  if (found < 0) throw new QErr('unexpected', 'streaming cursor parameter not found', '$');
  return found;
}

/**
 * The SELECT yielding `data` and `cursor` for ONE stream field (Hasura: "exactly one root field is
 * allowed for streaming subscriptions", Execute.hs buildSubscriptionPlan — checked by the caller).
 */
export function compileStream(ctx: CompileContext, f: ResolvedField): CompiledStream {
  const m = f.def ? fieldMeta(f.def.extensions) : undefined;
  if (m?.kind !== 'select_stream') throw validationFailed(f.path, `field '${f.name}' is not a streaming field`);
  const { table, perm } = m;
  const cursor = cursorOf(f, table.colByGql);
  const batchSize = permLimited(batchSizeOf(f), perm?.limit);
  const b = ctx.alias();
  const r = ctx.alias();
  const col = identifier(cursor.column.name);
  // The cursor as a typed bind parameter (context.ts columnValue's form), kept by identity so the
  // poller can find and rebind it.
  const cursorNode = value(cursor.value === null ? null : encode(cursor.column, cursor.value));
  const conds: SQL[] = [
    perm ? boolExp({ ctx, perm: true, root: b, rootTable: table, depth: 0 }, table, b, perm.filter) : FALSE,
    sql`${b}.${col} ${keyword(cursor.desc ? '<' : '>')} (${cursorNode})::${typeSql(cursor.column)}`,
  ];
  if (f.args.where) conds.push(boolExp({ ctx, perm: false, depth: 0 }, table, b, f.args.where));
  const dir = keyword(cursor.desc ? 'DESC NULLS FIRST' : 'ASC NULLS LAST');
  const rows = sql`(SELECT ${b}.* FROM ${identifier(table.schema, table.name)} AS ${b} WHERE ${join(conds, ' AND ')} ORDER BY ${b}.${col} ${dir} FETCH FIRST ${keyword(String(batchSize))} ROWS WITH TIES) AS ${r}`;
  const data = sql`json_build_object(${nameLiteral(f.alias)}, coalesce(json_agg(${rowObject(ctx, table, r, f.selection)} ORDER BY ${r}.${col} ${dir}), '[]'::json))`;
  const next = sql`json_build_object(${nameLiteral(cursor.column.gqlName)}, (${keyword(cursor.desc ? 'min' : 'max')}(${r}.${col}))::text)`;
  const statement = sql`SELECT ${data} AS data, ${next} AS cursor FROM ${rows}`;
  return { statement, cursorParam: paramIndex(statement, cursorNode), cursorKey: cursor.column.gqlName };
}

/** The permission's row limit bounds a batch too (Hasura applies the permission limit to every select). */
const permLimited = (n: number, limit: number | undefined): number => (limit !== undefined && limit < n ? limit : n);

/**
 * A stream field run once, as a query (over HTTP, or the first run of an unplanned engine): the
 * first batch after the initial cursor.
 */
export function streamOnce(ctx: CompileContext, f: ResolvedField): SQL {
  return sql`(SELECT "_s".data -> ${nameLiteral(f.alias)} FROM (${compileStream(ctx, f).statement}) AS "_s")`;
}

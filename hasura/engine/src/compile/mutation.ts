import { fieldMeta, type FieldMeta } from '../schema/meta.ts';
import type { ColumnModel, InsertPerm, RelModel, SelectPerm, TableModel, UpdatePerm } from '../schema/model.ts';
import { isJsonb } from '../schema/scalars.ts';
import { UPDATE_OPS } from '../schema/mutation-fields.ts';
import { identifier, join, keyword, sql, value, type SQL } from '../sql/sql.ts';
import { QErr, validationFailed } from '../errors.ts';
import type { ResolvedField } from '../validation/resolve.ts';
import { boolExp } from './boolexp.ts';
import { columnValue, geoValue, isGeo, isSessionVar, nameLiteral, typeSql, type CompileContext } from './context.ts';
import { object, selectList } from './select.ts';
import { functionRoot } from './function-root.ts';

/**
 * Mutation root fields (docs/research/hasura-v2.md §D "Mutations"; Hasura Translate/{Insert,Update,Delete,Returning}.hs,
 * Execute/Insert.hs). Each field is one statement
 *   WITH "_mr" AS (INSERT … | UPDATE … | DELETE … RETURNING *, <check> AS "__check")
 *   SELECT <affected_rows / returning over "_mr"> AS data, bool_and("__check") AS ok
 * so the permission `check` sees the rows as written, and `returning` reuses select.ts over the CTE
 * (with the select permission applied). Nested inserts go row by row as Hasura's `insertObj` does:
 * object relationships first, then the row, then array relationships; their output is built from
 * the returned rows (`mkSelectExpFromColumnValues`). The caller runs every statement of an
 * operation in one transaction and rolls back on any error or failed check.
 */
export interface StepResult { data: unknown; ok: boolean }
/** Runs one statement; database errors are reported at `errPath`. */
export type Exec = (stmt: SQL, errPath: string) => Promise<StepResult>;

const CTE = identifier('_mr');
const CHECK_FAILED = 'check constraint of an insert/update permission has failed';

export async function runMutationField(ctx: CompileContext, f: ResolvedField, exec: Exec): Promise<unknown> {
  const m = f.def ? fieldMeta(f.def.extensions) : undefined;
  switch (m?.kind) {
    case 'insert': case 'insert_one': return insert(ctx, f, m, exec);
    case 'update': case 'update_by_pk': return update(ctx, f, m, f.args, exec, m.kind === 'update_by_pk');
    case 'update_many': {
      const out: unknown[] = [];
      const updates = (f.args.updates ?? []) as Array<Record<string, unknown>>;
      for (const [i, u] of updates.entries()) out.push(await update(ctx, f, m, u, exec, false, `${f.path}.args.updates[${i}]`));
      return out;
    }
    case 'delete': case 'delete_by_pk': return del(ctx, f, m, exec);
    // A VOLATILE function exposed as a mutation: one statement in the operation's transaction.
    case 'function': case 'function_aggregate': return (await exec(sql`SELECT ${functionRoot(ctx, m, f)} AS data`, '$')).data;
    default: throw validationFailed(f.path, `field '${f.name}' cannot be compiled`);
  }
}

/** The mutation's result over the CTE: a `<id>_mutation_response`, or one row (`_one`, `_by_pk`). */
function output(ctx: CompileContext, f: ResolvedField, table: TableModel, perm: SelectPerm | undefined, affected: SQL, one: boolean): SQL {
  // The written rows are returned whatever the select filter says; the select permission's columns
  // still shape the type (Returning.hs `mkMutFldExp`: `TablePerm annBoolExpTrue Nothing`;
  // insert/permissions/blog_on_conflict_update_preset.yaml).
  const src = { table, perm: perm && { ...perm, filter: {}, limit: undefined }, fromItem: CTE };
  if (one) return sql`(${selectList(ctx, src, { ...f, args: {} })}) -> 0`;
  return object(f.selection.map((g): [string, SQL] => {
    if (!g.def) return [g.alias, nameLiteral(g.parentType.name)];
    if (fieldMeta(g.def.extensions)?.kind === 'affected_rows') return [g.alias, affected];
    return [g.alias, selectList(ctx, src, { ...g, args: {} })];
  }));
}

const countRows = sql`(SELECT count(*) FROM ${CTE})::int`;
const checkOk = sql`(SELECT coalesce(bool_and("__check"), true) FROM ${CTE})`;

function permCheck(ctx: CompileContext, table: TableModel, a: SQL, exp: unknown): SQL {
  return boolExp({ ctx, perm: true, root: a, rootTable: table, depth: 0 }, table, a, exp);
}

/** A preset (`set`): a session variable's value or a static value, cast to the column type. */
function presetValue(ctx: CompileContext, c: ColumnModel, v: unknown): SQL {
  if (isSessionVar(v)) return isGeo(c) ? geoValue(c, value(ctx.sessionVar(v))) : sql`(${value(ctx.sessionVar(v))})::${typeSql(c)}`;
  return columnValue(c, v);
}

// ---------------------------------------------------------------------------------------------
// insert

interface NestedInput { data: unknown; on_conflict?: OnConflict | null }
interface OnConflict { constraint: string; update_columns?: string[]; where?: unknown }
interface RowInput { cols: Map<string, unknown>; objRels: Array<[RelModel, NestedInput]>; arrRels: Array<[RelModel, NestedInput]> }

type InsertMeta = Extract<FieldMeta, { kind: 'insert' | 'insert_one' }>;

function rowInput(table: TableModel, obj: unknown): RowInput {
  const row: RowInput = { cols: new Map(), objRels: [], arrRels: [] };
  for (const [k, v] of Object.entries((obj ?? {}) as Record<string, unknown>)) {
    const c = table.colByGql.get(k);
    if (c) { row.cols.set(c.name, v); continue; }
    const r = table.relByName.get(k);
    if (r && v !== null && v !== undefined) (r.kind === 'object' ? row.objRels : row.arrRels).push([r, v as NestedInput]);
  }
  return row;
}

/** Insert/update permissions of the role for a (nested) table; absent → the field would not exist. */
function permsFor(ctx: CompileContext, table: TableModel): { ins: InsertPerm; upd: UpdatePerm | undefined } {
  const ins = ctx.mutation.ins(table);
  if (!ins) throw validationFailed('$', `no insert permission on "${table.name}"`);
  return { ins, upd: ctx.mutation.upd(table) };
}

async function insert(ctx: CompileContext, f: ResolvedField, m: InsertMeta, exec: Exec): Promise<unknown> {
  const one = m.kind === 'insert_one';
  const errPath = `${f.path}.args.${one ? 'object' : 'objects'}`;
  const rows = (one ? [f.args.object] : ((f.args.objects ?? []) as unknown[])).map((o) => rowInput(m.table, o));
  const onConflict = (f.args.on_conflict ?? null) as OnConflict | null;
  // The `_PLACEHOLDER` of an empty `<id>_update_column` enum (OnConflict.hs).
  if (onConflict?.update_columns?.includes('_PLACEHOLDER')) throw validationFailed(`${f.path}.args.on_conflict`, 'erroneous column name');
  const nested = rows.some((r) => r.objRels.length > 0 || r.arrRels.length > 0);
  if (!nested && rows.length > 0) {
    const stmt = sql`WITH ${CTE} AS (${insertStatement(ctx, m.table, rows, onConflict, { ins: m.ins, upd: m.upd })})
SELECT ${output(ctx, f, m.table, m.perm, countRows, one)} AS data, ${checkOk} AS ok`;
    const res = await exec(stmt, errPath);
    if (!res.ok) throw new QErr('permission-error', CHECK_FAILED, errPath);
    return res.data;
  }
  let affected = 0;
  const written: string[] = [];
  for (const row of rows) {
    const r = await insertObject(ctx, m.table, row, onConflict, exec, errPath);
    affected += r.affected;
    if (r.rowJson) written.push(r.rowJson);
  }
  // Hasura builds the output from the returned column values (`mkSelectExpFromColumnValues`).
  const stmt = sql`WITH ${CTE} AS (SELECT * FROM json_populate_recordset(NULL::${identifier(m.table.schema, m.table.name)}, ${value(`[${written.join(',')}]`)}::json))
SELECT ${output(ctx, f, m.table, m.perm, sql`${value(affected)}::int`, one)} AS data, true AS ok`;
  return (await exec(stmt, errPath)).data;
}

interface Inserted { affected: number; rowJson: string | undefined; row: Record<string, unknown> | undefined }

/** One object with its relationships (Execute/Insert.hs `insertObj`). */
async function insertObject(ctx: CompileContext, table: TableModel, row: RowInput, onConflict: OnConflict | null, exec: Exec, errPath: string): Promise<Inserted> {
  let affected = 0;
  for (const [rel, input] of row.objRels) {
    const target = ctx.model.tables.get(rel.target)!;
    const parent = await insertObject(ctx, target, rowInput(target, input.data), input.on_conflict ?? null, exec, errPath);
    if (!parent.row) {
      throw new QErr('not-supported', `cannot proceed to insert object relation "${rel.name}" since insert to table "${target.name}" affects zero rows`, errPath);
    }
    affected += parent.affected;
    for (const [mine, theirs] of rel.mapping) row.cols.set(mine, parent.row[theirs]);
  }
  const stmt = sql`WITH ${CTE} AS (${insertStatement(ctx, table, [row], onConflict, permsFor(ctx, table))})
SELECT (SELECT json_agg(row_to_json(${CTE}))::text FROM ${CTE}) AS data, ${checkOk} AS ok`;
  const res = await exec(stmt, errPath);
  if (!res.ok) throw new QErr('permission-error', CHECK_FAILED, errPath);
  const list = typeof res.data === 'string' ? (JSON.parse(res.data) as Array<Record<string, unknown>>) : [];
  const inserted = list[0];
  if (!inserted) return { affected, rowJson: undefined, row: undefined };
  affected += list.length;
  for (const [rel, input] of row.arrRels) {
    const target = ctx.model.tables.get(rel.target)!;
    for (const child of (input.data ?? []) as unknown[]) {
      const c = rowInput(target, child);
      for (const [mine, theirs] of rel.mapping) c.cols.set(theirs, inserted[mine]);
      affected += (await insertObject(ctx, target, c, input.on_conflict ?? null, exec, errPath)).affected;
    }
  }
  const text = (res.data as string).trim();
  return { affected, rowJson: text.slice(1, -1), row: inserted };
}

/**
 * `INSERT INTO t AS a (cols) VALUES … [ON CONFLICT ON CONSTRAINT c DO UPDATE SET … WHERE <update
 * filter> AND <where> | DO NOTHING] RETURNING *, <check> AS "__check"`; for upserts the check is
 * the insert check on new rows and the update check on updated ones (`xmax = 0`, docs/research/hasura-v2.md §D).
 */
function insertStatement(ctx: CompileContext, table: TableModel, rows: RowInput[], oc: OnConflict | null, perms: { ins: InsertPerm; upd: UpdatePerm | undefined }): SQL {
  const a = ctx.alias();
  const presets = Object.keys(perms.ins.set);
  const used = new Set<string>(presets);
  for (const r of rows) for (const k of r.cols.keys()) used.add(k);
  let cols = table.columns.filter((c) => used.has(c.name));
  if (cols.length === 0) cols = table.columns.slice(0, 1);
  const tuples = rows.map((r) => sql`(${join(cols.map((c) => {
    if (c.name in perms.ins.set) return presetValue(ctx, c, perms.ins.set[c.name]);
    return r.cols.has(c.name) ? columnValue(c, r.cols.get(c.name)) : keyword('DEFAULT');
  }), ', ')})`);
  let conflict: SQL = keyword('');
  let check = permCheck(ctx, table, a, perms.ins.check);
  if (oc) {
    if (!table.uniqueConstraints.some((c) => c.name === oc.constraint)) throw validationFailed('$', `constraint "${oc.constraint}" not found`);
    const updateCols = oc.update_columns ?? [];
    if (updateCols.length === 0) conflict = sql` ON CONFLICT ON CONSTRAINT ${identifier(oc.constraint)} DO NOTHING`;
    else {
      const upd = perms.upd;
      if (!upd) throw validationFailed('$', 'upsert needs an update permission');
      const sets = updateCols.filter((n) => !(n in upd.set)).map((n) => sql`${identifier(n)} = EXCLUDED.${identifier(n)}`);
      for (const [n, v] of Object.entries(upd.set)) {
        const c = table.colByName.get(n);
        if (c) sets.push(sql`${identifier(n)} = ${presetValue(ctx, c, v)}`);
      }
      const where = [permCheck(ctx, table, a, upd.filter)];
      if (oc.where) where.push(boolExp({ ctx, perm: false, depth: 0 }, table, a, oc.where));
      conflict = sql` ON CONFLICT ON CONSTRAINT ${identifier(oc.constraint)} DO UPDATE SET ${join(sets, ', ')} WHERE ${join(where, ' AND ')}`;
      check = sql`(CASE WHEN ${a}.xmax = 0 THEN ${check} ELSE ${permCheck(ctx, table, a, upd.check)} END)`;
    }
  }
  return sql`INSERT INTO ${identifier(table.schema, table.name)} AS ${a} (${join(cols.map((c) => identifier(c.name)), ', ')}) VALUES ${join(tuples, ', ')}${conflict} RETURNING *, (${check})::boolean AS "__check"`;
}

// ---------------------------------------------------------------------------------------------
// update

type UpdateMeta = Extract<FieldMeta, { kind: 'update' | 'update_by_pk' | 'update_many' }>;

/** `_set`, `_inc` and the jsonb operators → `SET` items (Translate/Update.hs `updateOperatorText`). */
function setItems(ctx: CompileContext, table: TableModel, upd: UpdatePerm, args: Record<string, unknown>, path: string): SQL[] {
  const seen = new Map<string, number>();
  const items: SQL[] = [];
  for (const op of Object.keys(args)) {
    if (!(UPDATE_OPS as readonly string[]).includes(op)) continue;
    for (const [k, v] of Object.entries((args[op] ?? {}) as Record<string, unknown>)) {
      const c = table.colByGql.get(k);
      if (!c) continue;
      seen.set(c.gqlName, (seen.get(c.gqlName) ?? 0) + 1);
      const col = identifier(c.name);
      const cur = sql`${col}`;
      switch (op) {
        case '_set': items.push(sql`${col} = ${columnValue(c, v)}`); break;
        case '_inc': items.push(sql`${col} = ${cur} + ${columnValue(c, v)}`); break;
        case '_append': items.push(sql`${col} = ${cur} || ${columnValue(c, v)}`); break;
        case '_prepend': items.push(sql`${col} = ${columnValue(c, v)} || ${cur}`); break;
        case '_delete_key': items.push(sql`${col} = ${cur} - (${value(v)})::text`); break;
        case '_delete_elem': items.push(sql`${col} = ${cur} - (${value(v)})::integer`); break;
        case '_delete_at_path': items.push(sql`${col} = ${cur} #- (${value(v)})::text[]`); break;
      }
      if (op !== '_set' && op !== '_inc' && !isJsonb(c.type)) throw validationFailed(path, `column "${c.gqlName}" is not jsonb`);
    }
  }
  const dups = [...seen].filter(([, n]) => n > 1).map(([k]) => `'${k}'`);
  if (dups.length) throw validationFailed(`${path}.args`, `Column found in multiple operators: [${dups.join(', ')}].`);
  for (const [n, v] of Object.entries(upd.set)) {
    const c = table.colByName.get(n);
    if (c) items.push(sql`${identifier(n)} = ${presetValue(ctx, c, v)}`);
  }
  return items;
}

function pkConditions(table: TableModel, a: SQL, args: Record<string, unknown>): SQL[] {
  return table.pk.map((n) => {
    const c = table.colByName.get(n)!;
    return sql`${a}.${identifier(c.name)} = ${columnValue(c, args[c.gqlName])}`;
  });
}

async function update(
  ctx: CompileContext, f: ResolvedField, m: UpdateMeta, args: Record<string, unknown>, exec: Exec, byPk: boolean, path = f.path,
): Promise<unknown> {
  const { table, upd } = m;
  const a = ctx.alias();
  const items = setItems(ctx, table, upd, args, path);
  const conds = [permCheck(ctx, table, a, upd.filter)];
  if (byPk) conds.push(...pkConditions(table, a, (args.pk_columns ?? {}) as Record<string, unknown>));
  else conds.push(boolExp({ ctx, perm: false, depth: 0 }, table, a, args.where));
  // Nothing to set: no statement, no rows (update/basic/author_empty_set.yaml).
  const cte = items.length === 0
    ? sql`SELECT *, true AS "__check" FROM ${identifier(table.schema, table.name)} WHERE false`
    : sql`UPDATE ${identifier(table.schema, table.name)} AS ${a} SET ${join(items, ', ')} WHERE ${join(conds, ' AND ')} RETURNING *, (${permCheck(ctx, table, a, upd.check)})::boolean AS "__check"`;
  const stmt = sql`WITH ${CTE} AS (${cte}) SELECT ${output(ctx, f, table, m.perm, countRows, byPk)} AS data, ${checkOk} AS ok`;
  const res = await exec(stmt, '$');
  if (!res.ok) throw new QErr('permission-error', CHECK_FAILED, '$');
  return res.data;
}

// ---------------------------------------------------------------------------------------------
// delete

type DeleteMeta = Extract<FieldMeta, { kind: 'delete' | 'delete_by_pk' }>;

async function del(ctx: CompileContext, f: ResolvedField, m: DeleteMeta, exec: Exec): Promise<unknown> {
  const { table } = m;
  const a = ctx.alias();
  const byPk = m.kind === 'delete_by_pk';
  const conds = [permCheck(ctx, table, a, m.del.filter)];
  if (byPk) conds.push(...pkConditions(table, a, f.args));
  else conds.push(boolExp({ ctx, perm: false, depth: 0 }, table, a, f.args.where));
  const stmt = sql`WITH ${CTE} AS (DELETE FROM ${identifier(table.schema, table.name)} AS ${a} WHERE ${join(conds, ' AND ')} RETURNING *, true AS "__check")
SELECT ${output(ctx, f, table, m.perm, countRows, byPk)} AS data, ${checkOk} AS ok`;
  return (await exec(stmt, '$')).data;
}

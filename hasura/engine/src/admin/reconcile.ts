/**
 * What run_sql's DDL does to metadata (docs/research/hasura-v2.md §C.2; Hasura's RunSQL.hs `withMetadataCheck`):
 * the tracked tables are looked up by oid before and after the SQL, inside the same transaction.
 * A dropped table is untracked; a renamed table or column is followed; objects of other tables
 * that depend on something dropped (relationships to a dropped table, permissions or
 * relationships using a dropped column) make the call fail with `dependency-error` unless
 * `cascade: true`, in which case they are dropped too.
 */
import type { Metadata, TableMetadata } from '../contract.ts';
import { parseTableName, sameTable, tableText, type QualifiedTable } from '../metadata/model.ts';
import { catalogByName, catalogByOid, foreignKeysOf, type CatalogTable } from './catalog.ts';
import type { Queryable } from '../sql/sql.ts';
import { dependencyError, fkColumns, fkKey, relationshipTarget, relationshipsTargeting } from './ops.ts';
import { badRequest } from '../errors.ts';
import { renameColumnInTrigger, tableTriggers, triggerColumnDeps } from '../events/model.ts';

export type Snapshot = Map<string, { table: QualifiedTable; catalog: CatalogTable }>;

const sourceName = 'default';

export async function snapshot(db: Queryable, m: Metadata): Promise<Snapshot> {
  const s = m.sources.find((x) => x.name === sourceName);
  const out: Snapshot = new Map();
  if (!s) return out;
  const found = await catalogByName(db, s.tables.map((t) => t.table));
  for (const c of found) out.set(c.oid, { table: { schema: c.schema, name: c.name }, catalog: c });
  return out;
}

type Perm = { role: string; permission: Record<string, unknown> };
const permKinds = ['select', 'insert', 'update', 'delete'] as const;

/** Top-level column names a boolean expression uses (relationship keys lead elsewhere). */
function boolExpColumns(e: unknown, out: Set<string>): Set<string> {
  if (!e || typeof e !== 'object') return out;
  if (Array.isArray(e)) {
    for (const x of e) boolExpColumns(x, out);
    return out;
  }
  for (const [k, v] of Object.entries(e)) {
    if (['_and', '_or', '$and', '$or'].includes(k)) boolExpColumns(v, out);
    else if (k === '_not' || k === '$not') boolExpColumns(v, out);
    else if (!k.startsWith('_') && !k.startsWith('$')) out.add(k);
  }
  return out;
}

function renameInBoolExp(e: unknown, from: string, to: string): unknown {
  if (!e || typeof e !== 'object') return e;
  if (Array.isArray(e)) return e.map((x) => renameInBoolExp(x, from, to));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(e)) {
    if (['_and', '_or', '$and', '$or', '_not', '$not'].includes(k)) out[k] = renameInBoolExp(v, from, to);
    else out[k === from ? to : k] = v;
  }
  return out;
}

function permissionUses(p: Perm, column: string): boolean {
  const perm = p.permission;
  if (Array.isArray(perm.columns) && perm.columns.includes(column)) return true;
  if (perm.set && typeof perm.set === 'object' && column in perm.set) return true;
  return boolExpColumns(perm.filter, new Set()).has(column) || boolExpColumns(perm.check, new Set()).has(column);
}

function renameColumnInPermission(p: Perm, from: string, to: string): void {
  const perm = p.permission;
  if (Array.isArray(perm.columns)) perm.columns = perm.columns.map((c) => (c === from ? to : c));
  if (perm.set && typeof perm.set === 'object') {
    perm.set = Object.fromEntries(Object.entries(perm.set).map(([k, v]) => [k === from ? to : k, v]));
  }
}

/** Columns of `owner` a relationship defined on `owner` uses. */
function ownColumns(using: Record<string, unknown>): string[] {
  const fk = using.foreign_key_constraint_on;
  if (typeof fk === 'string') return [fk];
  if (Array.isArray(fk)) return fk as string[];
  const manual = using.manual_configuration as { column_mapping?: Record<string, string> } | undefined;
  return manual?.column_mapping ? Object.keys(manual.column_mapping) : [];
}

/** Columns of the remote table a relationship uses. */
function remoteColumns(using: Record<string, unknown>): string[] {
  const fk = using.foreign_key_constraint_on as Record<string, unknown> | undefined;
  if (fk && typeof fk === 'object' && !Array.isArray(fk)) {
    if (typeof fk.column === 'string') return [fk.column];
    if (Array.isArray(fk.columns)) return fk.columns as string[];
  }
  const manual = using.manual_configuration as { column_mapping?: Record<string, string> } | undefined;
  return manual?.column_mapping ? Object.values(manual.column_mapping) : [];
}

/** Applies the catalog change between `before` and now to `m` (in place); throws dependency-error. */
export async function reconcile(db: Queryable, m: Metadata, before: Snapshot, cascade: boolean): Promise<boolean> {
  const s = m.sources.find((x) => x.name === sourceName);
  if (!s || before.size === 0) return false;
  const after = new Map((await catalogByOid(db, [...before.keys()])).map((c) => [c.oid, c]));
  let changed = false;
  const problems: string[] = [];
  const find = (q: QualifiedTable) => s.tables.find((t) => sameTable(t.table, q));
  let targets: RelTarget | undefined;
  // Where each relationship leads (foreign keys from the catalog as it is now), looked up once.
  const relTargets = async (): Promise<RelTarget> => {
    if (targets) return targets;
    const fks = new Map((await foreignKeysOf(db, s.tables.map((t) => t.table))).map((fk) => [fkKey(fk.owner, fk.columns), fk.target]));
    targets = (on, rel) => {
      const t = find(on);
      for (const kind of ['object', 'array'] as const) {
        const r = (t?.[`${kind}_relationships`] ?? []).find((x) => x.name === rel);
        if (!r) continue;
        const cols = kind === 'object' ? fkColumns(r.using) : undefined;
        return relationshipTarget(r.using) ?? (cols ? fks.get(fkKey(on, cols)) : undefined);
      }
      return undefined;
    };
    return targets;
  };

  // Dropped tables first: their own metadata goes with them; others' relationships to them are dependents.
  const dropped = [...before.entries()].filter(([oid]) => !after.has(oid)).map(([, v]) => v.table);
  for (const t of dropped) {
    for (const d of relationshipsTargeting(s, t)) {
      if (dropped.some((x) => sameTable(x, d.on.table))) continue;
      if (!cascade) problems.push(`relationship ${tableText(d.on.table)}.${d.name} in source "${s.name}"`);
      const k = `${d.kind}_relationships` as const;
      d.on[k] = (d.on[k] ?? []).filter((r) => r.name !== d.name);
    }
  }
  if (dropped.length) {
    s.tables = s.tables.filter((t) => !dropped.some((d) => sameTable(d, t.table)));
    changed = true;
  }

  for (const [oid, { table: oldName, catalog: old }] of before) {
    const now = after.get(oid);
    if (!now) continue;
    const entry = find(oldName);
    if (!entry) continue;
    const newName = { schema: now.schema, name: now.name };
    if (!sameTable(oldName, newName)) {
      renameTable(s.tables, oldName, newName);
      changed = true;
    }
    const nowCols = new Map(now.columns.map((c) => [c.attnum, c.name]));
    const nowTypes = new Map(now.columns.map((c) => [c.attnum, c.type]));
    for (const col of old.columns) {
      const renamedTo = nowCols.get(col.attnum);
      if (renamedTo === col.name) {
        const type = nowTypes.get(col.attnum);
        if (type !== undefined && type !== col.type) typeChanged(entry, col.name, s.name);
        continue;
      }
      changed = true;
      if (renamedTo !== undefined) renameColumn(s.tables, entry, col.name, renamedTo, await relTargets());
      else problems.push(...dropColumn(s.tables, entry, col.name, cascade, s.name));
    }
  }
  if (problems.length > 0 && !cascade) throw dependencyError(problems);
  return changed;
}

const isSessionVariable = (v: unknown) => typeof v === 'string' && /^x-hasura-/i.test(v);

/** Whether a boolean expression compares `column` with a static value (not a session variable). */
function staticUse(e: unknown, column: string): boolean {
  if (!e || typeof e !== 'object') return false;
  if (Array.isArray(e)) return e.some((x) => staticUse(x, column));
  for (const [k, v] of Object.entries(e)) {
    if (['_and', '_or', '_not', '$and', '$or', '$not'].includes(k)) {
      if (staticUse(v, column)) return true;
    } else if (k === column) {
      // `col: value` shorthand, or `{op: value, …}`; `_ceq` etc. name columns, not values.
      const ops = v && typeof v === 'object' && !Array.isArray(v) ? Object.entries(v) : [['_eq', v] as const];
      if (ops.some(([op, x]) => !/^[_$]c/.test(op) && !isSessionVariable(x))) return true;
    }
  }
  return false;
}

/**
 * Schema/Diff.hs `alterColumnsInMetadata`: a column whose type changed may not have dependents
 * "on type" — permissions that compare it with, or preset it to, a static value (Permission.hs
 * `getDepReason`, SchemaCache.hs `getColExpDeps`); the change is refused with dependency-error
 * (upstream v1/run_sql/sql_alter_test_bool_col.yaml). Cascade does not apply.
 */
function typeChanged(owner: TableMetadata, column: string, source: string): void {
  const deps: string[] = [];
  for (const k of permKinds) {
    for (const p of owner[`${k}_permissions`] ?? []) {
      const perm = p.permission;
      const preset = perm.set && typeof perm.set === 'object' && column in perm.set && !isSessionVariable((perm.set as Record<string, unknown>)[column]);
      if (preset || staticUse(perm.filter, column) || staticUse(perm.check, column)) deps.push(`permission ${tableText(owner.table)}.${p.role}.${k} in source "${source}"`);
    }
  }
  if (deps.length === 0) return;
  throw badRequest('dependency-error', `cannot change type of column "${column}" in table "${tableText(owner.table)}" because of the following dependencies: ${deps.sort().join(', ')}`, '$.args');
}

function renameTable(tables: TableMetadata[], from: QualifiedTable, to: QualifiedTable): void {
  for (const t of tables) {
    if (sameTable(t.table, from)) t.table = { schema: to.schema, name: to.name };
    for (const r of [...(t.object_relationships ?? []), ...(t.array_relationships ?? [])]) {
      const target = relationshipTarget(r.using);
      if (!target || !sameTable(target, from)) continue;
      const fk = r.using.foreign_key_constraint_on as Record<string, unknown> | undefined;
      if (fk && typeof fk === 'object' && 'table' in fk) fk.table = { schema: to.schema, name: to.name };
      const manual = r.using.manual_configuration as Record<string, unknown> | undefined;
      if (manual?.remote_table) manual.remote_table = { schema: to.schema, name: to.name };
    }
  }
}

type RelTarget = (on: QualifiedTable, rel: string) => QualifiedTable | undefined;

/**
 * Renames `from` → `to` of table `owner` wherever a boolean expression evaluated at `cur` reaches
 * it: its own keys when `cur` is the owner, and through relationships and `_exists` of any other
 * table's permission (Hasura follows a column rename into every permission that depends on it,
 * e.g. upstream v1/run_sql/sql_rename_columns_article.yaml: article's filter through `author`).
 */
function renameDeep(e: unknown, cur: QualifiedTable | undefined, owner: QualifiedTable, from: string, to: string, relTarget: RelTarget): unknown {
  if (!e || typeof e !== 'object') return e;
  if (Array.isArray(e)) return e.map((x) => renameDeep(x, cur, owner, from, to, relTarget));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(e)) {
    if (['_and', '_or', '$and', '$or', '_not', '$not'].includes(k)) out[k] = renameDeep(v, cur, owner, from, to, relTarget);
    else if (k === '_exists' && v && typeof v === 'object') {
      const ex = v as { _table?: unknown; _where?: unknown };
      const t = parseTableName(ex._table);
      out[k] = { ...ex, _where: renameDeep(ex._where, t, owner, from, to, relTarget) };
    } else {
      const target = cur ? relTarget(cur, k) : undefined;
      const value = target ? renameDeep(v, target, owner, from, to, relTarget) : v;
      out[cur && sameTable(cur, owner) && k === from ? to : k] = value;
    }
  }
  return out;
}

function renameColumn(tables: TableMetadata[], owner: TableMetadata, from: string, to: string, relTarget: RelTarget): void {
  for (const k of permKinds) for (const p of owner[`${k}_permissions`] ?? []) renameColumnInPermission(p, from, to);
  for (const e of tableTriggers(owner)) renameColumnInTrigger(e, from, to);
  for (const t of tables) {
    for (const k of permKinds) {
      for (const p of t[`${k}_permissions`] ?? []) {
        if (p.permission.filter !== undefined) p.permission.filter = renameDeep(p.permission.filter, t.table, owner.table, from, to, relTarget);
        if (p.permission.check !== undefined) p.permission.check = renameDeep(p.permission.check, t.table, owner.table, from, to, relTarget);
      }
    }
  }
  for (const r of [...(owner.object_relationships ?? []), ...(owner.array_relationships ?? [])]) {
    const fk = r.using.foreign_key_constraint_on;
    if (fk === from) r.using.foreign_key_constraint_on = to;
    else if (Array.isArray(fk)) r.using.foreign_key_constraint_on = fk.map((c) => (c === from ? to : c));
    const manual = r.using.manual_configuration as { column_mapping?: Record<string, string> } | undefined;
    if (manual?.column_mapping) {
      manual.column_mapping = Object.fromEntries(Object.entries(manual.column_mapping).map(([a, b]) => [a === from ? to : a, b]));
    }
  }
  const cfg = owner.configuration;
  if (cfg?.column_config?.[from]) {
    cfg.column_config[to] = cfg.column_config[from];
    delete cfg.column_config[from];
  }
  if (cfg?.custom_column_names?.[from]) {
    cfg.custom_column_names[to] = cfg.custom_column_names[from];
    delete cfg.custom_column_names[from];
  }
  for (const t of tables) {
    for (const r of [...(t.object_relationships ?? []), ...(t.array_relationships ?? [])]) {
      const target = relationshipTarget(r.using);
      if (!target || !sameTable(target, owner.table)) continue;
      const fk = r.using.foreign_key_constraint_on as Record<string, unknown> | undefined;
      if (fk && typeof fk === 'object' && !Array.isArray(fk)) {
        if (fk.column === from) fk.column = to;
        if (Array.isArray(fk.columns)) fk.columns = fk.columns.map((c) => (c === from ? to : c));
      }
      const manual = r.using.manual_configuration as { column_mapping?: Record<string, string> } | undefined;
      if (manual?.column_mapping) {
        manual.column_mapping = Object.fromEntries(Object.entries(manual.column_mapping).map(([a, b]) => [a, b === from ? to : b]));
      }
    }
  }
}

/** Drops (cascade) or reports the objects using a dropped column. */
function dropColumn(tables: TableMetadata[], owner: TableMetadata, column: string, cascade: boolean, source: string): string[] {
  const problems: string[] = [];
  const at = `in source "${source}"`;
  for (const k of permKinds) {
    const key = `${k}_permissions` as const;
    const list = owner[key];
    if (!list) continue;
    owner[key] = list.filter((p) => {
      if (!permissionUses(p, column)) return true;
      problems.push(`permission ${tableText(owner.table)}.${p.role}.${k} ${at}`);
      return false;
    });
  }
  for (const kind of ['object', 'array'] as const) {
    const key = `${kind}_relationships` as const;
    const list = owner[key];
    if (!list) continue;
    owner[key] = list.filter((r) => {
      if (!ownColumns(r.using).includes(column)) return true;
      problems.push(`relationship ${tableText(owner.table)}.${r.name} ${at}`);
      return false;
    });
  }
  for (const t of tables) {
    if (t === owner) continue;
    for (const kind of ['object', 'array'] as const) {
      const key = `${kind}_relationships` as const;
      const list = t[key];
      if (!list) continue;
      t[key] = list.filter((r) => {
        const target = relationshipTarget(r.using);
        if (!target || !sameTable(target, owner.table) || !remoteColumns(r.using).includes(column)) return true;
        problems.push(`relationship ${tableText(t.table)}.${r.name} ${at}`);
        return false;
      });
    }
  }
  // Event triggers naming the column in a `columns` / `payload` list (EventTrigger.hs getTrigDefDeps).
  if (Array.isArray(owner.event_triggers)) {
    owner.event_triggers = tableTriggers(owner).filter((e) => {
      if (!triggerColumnDeps(e).has(column)) return true;
      problems.push(`event-trigger ${tableText(owner.table)}.${e.name} ${at}`);
      return false;
    });
  }
  if (owner.configuration?.column_config) delete owner.configuration.column_config[column];
  if (owner.configuration?.custom_column_names) delete owner.configuration.custom_column_names[column];
  return cascade ? [] : problems;
}

/**
 * What run_sql may do to the functions behind computed fields, as Hasura decides it
 * (Backends/Postgres/DDL/RunSQL.hs `runTxWithMetadataCheck`, RQL/DDL/Schema/Diff.hs
 * `getTableDiff`/`processTablesDiff`; upstream v1/computed_fields/run_sql.yaml). The functions are
 * looked up by oid before and after the SQL, inside its transaction:
 * - a function whose oid is gone, or now goes by another name (dropped, dropped and re-created,
 *   renamed), takes its computed field with it: that is a dependent object — `dependency-error`
 *   unless `cascade`, which drops the field and the permissions using it;
 * - a second function of the same name (an overload) is refused: `not-supported`;
 * - the same function altered to VOLATILE is refused: `not-supported`.
 * `CREATE OR REPLACE` of the same signature keeps the oid and is accepted.
 */
import type { Metadata, TableMetadata } from '../contract.ts';
import { parseTableName, tableText, type QualifiedTable } from '../metadata/model.ts';
import { run, sql, value, type Queryable } from '../sql/sql.ts';
import { badRequest } from '../errors.ts';
import { dependencyError } from './ops.ts';

interface Proc { oid: string; schema: string; name: string; volatility: string }

interface Entry { table: QualifiedTable; field: string; fn: QualifiedTable; procs: Proc[] }

export interface ComputedFieldFunctions { source: string; entries: Entry[] }

const sourceName = 'default';
const permKinds = ['select', 'insert', 'update', 'delete'] as const;

function fieldsOf(m: Metadata): Array<{ t: TableMetadata; field: string; fn: QualifiedTable }> {
  const s = m.sources.find((x) => x.name === sourceName);
  const out: Array<{ t: TableMetadata; field: string; fn: QualifiedTable }> = [];
  for (const t of s?.tables ?? []) {
    for (const cf of (t.computed_fields ?? []) as Array<{ name: string; definition?: { function?: unknown } }>) {
      const fn = parseTableName(cf.definition?.function);
      if (fn) out.push({ t, field: cf.name, fn });
    }
  }
  return out;
}

async function procsNamed(db: Queryable, fns: QualifiedTable[]): Promise<Proc[]> {
  if (fns.length === 0) return [];
  const { rows } = await run<Proc>(db, sql`
    SELECT p.oid::text AS oid, n.nspname AS schema, p.proname AS name, p.provolatile AS volatility
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      JOIN unnest(${value(fns.map((f) => f.schema))}::text[], ${value(fns.map((f) => f.name))}::text[]) AS w(s, n)
        ON n.nspname = w.s AND p.proname = w.n`);
  return rows;
}

async function procsByOid(db: Queryable, oids: string[]): Promise<Map<string, Proc>> {
  if (oids.length === 0) return new Map();
  const { rows } = await run<Proc>(db, sql`
    SELECT p.oid::text AS oid, n.nspname AS schema, p.proname AS name, p.provolatile AS volatility
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE p.oid = ANY(${value(oids)}::oid[])`);
  return new Map(rows.map((r) => [r.oid, r]));
}

/** Before the SQL: every computed field's function(s), by oid. */
export async function snapshotComputedFieldFunctions(db: Queryable, m: Metadata): Promise<ComputedFieldFunctions> {
  const fields = fieldsOf(m);
  const procs = await procsNamed(db, fields.map((f) => f.fn));
  return {
    source: sourceName,
    entries: fields.map(({ t, field, fn }) => ({
      table: t.table, field, fn, procs: procs.filter((p) => p.schema === fn.schema && p.name === fn.name),
    })),
  };
}

const same = (p: Proc, fn: QualifiedTable) => p.schema === fn.schema && p.name === fn.name;

/**
 * After the SQL: refuses what Hasura refuses, or (with `cascade`) drops the computed fields whose
 * function is gone from `m`. Returns whether `m` changed.
 */
export async function reconcileComputedFieldFunctions(db: Queryable, m: Metadata, before: ComputedFieldFunctions, cascade: boolean): Promise<boolean> {
  const entries = before.entries.filter((e) => e.procs.length > 0);
  if (entries.length === 0) return false;
  const now = await procsByOid(db, entries.flatMap((e) => e.procs.map((p) => p.oid)));
  const dropped = entries.filter((e) => !e.procs.some((p) => { const n = now.get(p.oid); return !!n && same(n, e.fn); }));
  if (dropped.length > 0 && !cascade) {
    throw dependencyError(dropped.map((e) => `computed field ${tableText(e.table)}.${e.field} in source "${before.source}"`));
  }
  const kept = entries.filter((e) => !dropped.includes(e));
  const named = await procsNamed(db, kept.map((e) => e.fn));
  for (const e of kept) {
    // Diff.hs `processComputedFieldDiff` — its text lacks the space after "computed field".
    if (named.filter((p) => same(p, e.fn)).length > 1) {
      throw badRequest('not-supported', `The function "${tableText(e.fn)}" associated with computed field"${e.field}" of table "${tableText(e.table)}" is being overloaded`);
    }
    const altered = e.procs.map((p) => now.get(p.oid)).find((p) => p && same(p, e.fn));
    if (altered?.volatility === 'v') {
      throw badRequest('not-supported', `The type of function "${tableText(e.fn)}" associated with computed field "${e.field}" of table "${tableText(e.table)}" is being altered to "VOLATILE"`);
    }
  }
  if (dropped.length === 0) return false;
  const s = m.sources.find((x) => x.name === before.source);
  for (const e of dropped) {
    const t = s?.tables.find((x) => x.table.schema === e.table.schema && x.table.name === e.table.name);
    if (!t) continue;
    t.computed_fields = ((t.computed_fields ?? []) as Array<{ name: string }>).filter((c) => c.name !== e.field);
    const uses = (p: { permission: Record<string, unknown> }) => Array.isArray(p.permission.computed_fields) && p.permission.computed_fields.includes(e.field);
    for (const k of permKinds) {
      const list = t[`${k}_permissions`];
      if (list?.some(uses)) t[`${k}_permissions`] = list.filter((p) => !uses(p));
    }
  }
  return true;
}

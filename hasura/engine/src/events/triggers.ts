/**
 * Row-change capture in the database, as Hasura does it (upstream Backends/Postgres/DDL/
 * EventTrigger.hs `mkTriggerFunctionQ`/`mkTrigger`, template server/src-rsr/trigger.sql.shakespeare):
 * one PL/pgSQL function `hdb_catalog."notify_hasura_<name>_<OP>"()` per trigger and operation and
 * an `AFTER <OP> ... FOR EACH ROW` trigger of the same name on the table. The function calls
 * `hdb_catalog.insert_event_log`, so the event row is written in the transaction of the change —
 * a rolled-back insert leaves no event — whoever wrote the row (this engine, real Hasura, psql).
 *
 * `syncEventTriggers` makes the database match the metadata: functions are (re)created for the
 * triggers asked for (the column lists are spelled out, so they are redone after DDL too), missing
 * SQL triggers created, and functions of triggers no longer in the metadata dropped with CASCADE
 * (which drops their SQL triggers) and their pending events archived (`dropTriggerAndArchiveEvents`).
 */
import type { Metadata } from '../contract.ts';
import { QErr } from '../errors.ts';
import { identifier, keyword, quoteIdent, run, sql, value, type Queryable, type SQL } from '../sql/sql.ts';
import { BIGNUM } from '../schema/scalars.ts';
import { allTriggers, sqlTriggerName, triggerOps, type Columns, type Op, type OpSpec } from './model.ts';

interface Column {
  name: string;
  type: string;
}

/**
 * A string literal for DDL, which takes no bind parameters (a function body is part of the
 * CREATE FUNCTION statement). Quotes doubled, standard_conforming_strings assumed (on since PG 9.1).
 */
function literal(text: string): SQL {
  if (text.includes('\0')) throw new Error('literal contains NUL');
  return keyword(`'${text.replace(/'/g, "''")}'`);
}

/** `toJSONableExp`: bignums as text under --stringify-numeric-types, geometry as GeoJSON. */
function columnExpr(rowVar: 'OLD' | 'NEW', c: Column, stringify: boolean): string {
  const ref = `${rowVar}.${quoteIdent(c.name)}`;
  // Column.hs toJSONableExp: `ST_AsGeoJSON(col, 15, 4)` — 15 decimal digits, option 4 the long CRS
  // ("urn:ogc:def:crs:EPSG::4326"), as queries give it (compile/select.ts geoJsonOut); test_events.py
  // TestEventDataFormat.test_geojson expects that `crs` in the event's data.
  if (c.type === 'geometry' || c.type === 'geography') return `ST_AsGeoJSON(${ref}, 15, 4)::json AS ${quoteIdent(c.name)}`;
  if (stringify && BIGNUM.has(c.type)) return `(${ref})::text AS ${quoteIdent(c.name)}`;
  return ref;
}

function pick(all: Column[], cols: Columns | undefined): Column[] {
  if (cols === undefined || cols === '*') return all;
  return cols.map((n) => all.find((c) => c.name === n)).filter((c): c is Column => c !== undefined);
}

/** `mkRowExp`: SELECT "e" FROM (SELECT <extractors>) AS "e". */
const rowExp = (rowVar: 'OLD' | 'NEW', cols: Column[], stringify: boolean) =>
  `(SELECT "e" FROM (SELECT ${cols.map((c) => columnExpr(rowVar, c, stringify)).join(', ')}) AS "e")`;

/** The trigger function's body: trigger.sql.shakespeare with its holes filled. */
function functionBody(name: string, table: { schema: string; name: string }, op: Op, spec: OpSpec, all: Column[], stringify: boolean): string {
  const delivery = pick(all, spec.payload ?? '*');
  const listen = pick(all, spec.columns);
  const payload = (v: 'OLD' | 'NEW') => `row_to_json(${rowExp(v, delivery, stringify)})`;
  const oldData = op === 'INSERT' ? 'NULL' : payload('OLD');
  const newData = op === 'DELETE' ? 'NULL' : payload('NEW');
  const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;
  const insert = `PERFORM hdb_catalog.insert_event_log(CAST(${lit(table.schema)} AS text), CAST(${lit(table.name)} AS text), CAST(${lit(name)} AS text), TG_OP, _data);`;
  return `
  DECLARE
    _old record;
    _new record;
    _data json;
  BEGIN
    IF TG_OP = 'UPDATE' THEN
      _old := row(${rowExp('OLD', listen, stringify)});
      _new := row(${rowExp('NEW', listen, stringify)});
    ELSE
      /* initialize _old and _new with dummy values for INSERT and UPDATE events*/
      _old := row((select 1));
      _new := row((select 1));
    END IF;
    _data := json_build_object(
      'old', ${oldData},
      'new', ${newData}
    );
    BEGIN
      IF (TG_OP <> 'UPDATE') OR (_old <> _new) THEN
        ${insert}
      END IF;
      EXCEPTION WHEN undefined_function THEN
        /* columns without an equality operator (json, point): compare binary images */
        IF (TG_OP <> 'UPDATE') OR (_old *<> _new) THEN
          ${insert}
        END IF;
    END;
    RETURN NULL;
  END;`;
}

async function tableColumns(db: Queryable, table: { schema: string; name: string }): Promise<Column[] | undefined> {
  const { rows } = await run<{ name: string; type: string }>(db, sql`
    SELECT a.attname AS name, t.typname AS type
      FROM pg_attribute a
      JOIN pg_class c ON c.oid = a.attrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_type t ON t.oid = a.atttypid
     WHERE n.nspname = ${value(table.schema)} AND c.relname = ${value(table.name)} AND c.relkind IN ('r', 'p')
       AND a.attnum > 0 AND NOT a.attisdropped
     ORDER BY a.attnum`);
  return rows.length ? rows : undefined;
}

interface Desired {
  trigger: string;
  sqlName: string;
  table: { schema: string; name: string };
  op: Op;
  spec: OpSpec;
  onReplication: boolean;
}

export interface SyncResult {
  created: string[];
  dropped: string[];
  /** Triggers whose table is absent (left for the consistency check to report). */
  skipped: string[];
  /** Triggers the database refused (no TRIGGER privilege on the table, say), with its reason. */
  failed: Array<{ trigger: string; reason: string }>;
}

export interface SyncOptions {
  stringify: boolean;
  /** Which triggers to (re)create; all by default. Others are left as they are. */
  touch?: (trigger: string) => boolean;
  /**
   * Which must succeed: a refusal (or a listed column that does not exist, create_event_trigger's
   * `assertColumnExists`) fails the sync. Others are reported in `failed` and skipped.
   */
  mustSucceed?: (trigger: string) => boolean;
  /** Running inside a transaction: a tolerated failure is rolled back to a savepoint. */
  inTransaction?: boolean;
}

/**
 * Makes the SQL triggers match `meta`: functions of triggers no longer there dropped (CASCADE takes
 * their SQL triggers) and their pending events archived; the touched triggers' functions
 * (re)created and their SQL triggers created when missing.
 */
export async function syncEventTriggers(db: Queryable, meta: Metadata, opts: SyncOptions): Promise<SyncResult> {
  const touch = opts.touch ?? (() => true);
  const must = opts.mustSucceed ?? (() => false);
  const desired: Desired[] = [];
  for (const { table, conf } of allTriggers(meta)) {
    for (const { op, spec } of triggerOps(conf)) {
      desired.push({ trigger: conf.name, sqlName: sqlTriggerName(conf.name, op), table: table.table, op, spec, onReplication: conf.trigger_on_replication === true });
    }
  }
  const { rows: existing } = await run<{ name: string }>(db, sql`
    SELECT p.proname AS name FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname = 'hdb_catalog' AND p.proname LIKE 'notify\_hasura\_%'`);
  const wanted = new Set(desired.map((d) => d.sqlName));
  const result: SyncResult = { created: [], dropped: [], skipped: [], failed: [] };

  for (const { name } of existing) {
    if (wanted.has(name)) continue;
    await run(db, sql`DROP FUNCTION IF EXISTS ${identifier('hdb_catalog', name)}() CASCADE`);
    result.dropped.push(name);
  }
  // Events of triggers gone from the metadata are archived, never delivered (runDeleteEventTriggerQuery).
  const liveNames = allTriggers(meta).map((t) => t.conf.name);
  if (result.dropped.length) {
    await run(db, sql`UPDATE hdb_catalog.event_log SET archived = 't'
      WHERE archived = 'f' AND delivered = 'f' AND NOT (trigger_name = ANY(${value(liveNames)}::text[]))`);
  }

  const columns = new Map<string, Column[] | undefined>();
  for (const d of desired) {
    if (!touch(d.trigger)) continue;
    const key = `${d.table.schema}.${d.table.name}`;
    if (!columns.has(key)) columns.set(key, await tableColumns(db, d.table));
    const all = columns.get(key);
    if (!all) {
      result.skipped.push(d.sqlName);
      continue;
    }
    if (must(d.trigger)) {
      for (const list of [d.spec.columns, d.spec.payload]) {
        if (!Array.isArray(list)) continue;
        const missing = list.find((c) => !all.some((x) => x.name === c));
        if (missing !== undefined) throw new QErr('not-exists', `column "${missing}" does not exist`, '$.args');
      }
      if (await createOne(db, d, all, opts.stringify)) result.created.push(d.sqlName);
      continue;
    }
    if (opts.inTransaction) await db.query('SAVEPOINT event_trigger');
    try {
      if (await createOne(db, d, all, opts.stringify)) result.created.push(d.sqlName);
      if (opts.inTransaction) await db.query('RELEASE SAVEPOINT event_trigger');
    } catch (err) {
      if (opts.inTransaction) await db.query('ROLLBACK TO SAVEPOINT event_trigger');
      result.failed.push({ trigger: d.trigger, reason: (err as Error).message });
    }
  }
  return result;
}

/** One operation's function and SQL trigger; true when the trigger was created. */
async function createOne(db: Queryable, d: Desired, all: Column[], stringify: boolean): Promise<boolean> {
  const body = functionBody(d.trigger, d.table, d.op, d.spec, all, stringify);
  await run(db, sql`CREATE OR REPLACE FUNCTION ${identifier('hdb_catalog', d.sqlName)}() RETURNS trigger LANGUAGE plpgsql AS ${literal(body)}`);
  const { rows } = await run<{ exists: boolean }>(db, sql`
    SELECT EXISTS (SELECT 1 FROM pg_trigger WHERE NOT tgisinternal AND tgname = ${value(d.sqlName)}
       AND tgrelid = (quote_ident(${value(d.table.schema)}) || '.' || quote_ident(${value(d.table.name)}))::regclass) AS exists`);
  let created = false;
  if (!rows[0]?.exists) {
    await run(db, sql`CREATE TRIGGER ${identifier(d.sqlName)} AFTER ${keyword(d.op)} ON ${identifier(d.table.schema, d.table.name)}
      FOR EACH ROW EXECUTE PROCEDURE ${identifier('hdb_catalog', d.sqlName)}()`);
    created = true;
  }
  // trigger_on_replication: fire on logical-replication apply too (mkTrigger's ENABLE ALWAYS).
  if (d.onReplication) await run(db, sql`ALTER TABLE ${identifier(d.table.schema, d.table.name)} ENABLE ALWAYS TRIGGER ${identifier(d.sqlName)}`);
  return created;
}

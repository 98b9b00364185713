/**
 * The admin APIs' commands (docs/research/hasura-v2.md §C.2): `POST /v1/metadata` (pg_* names), `POST /v1/query`
 * (legacy names, plus RQL data queries and run_sql) and `POST /v2/query` (run_sql, data queries).
 * A request — one command or a `bulk` — runs in one database transaction against a copy of the
 * metadata; the copy becomes the live metadata only when everything succeeded.
 */
import type pg from 'pg';
import type { Metadata, MetadataSource, Session } from '../contract.ts';
import type { Model } from '../schema/model.ts';

const ADMIN_SESSION: Session = { role: 'admin', vars: {}, isAdmin: true };
import { cloneMetadata, defaultSource, emptyMetadata, normalizeMetadata, parseTableName, type QualifiedTable } from '../metadata/model.ts';
import { QErr, badRequest, jsonKind } from '../errors.ts';
import { fkKey, metadataOps, type Args, type OpFacts } from './ops.ts';
import { foreignKeysOf } from './catalog.ts';
import { splitSqlStatements } from './split-sql.ts';
import { checkConsistency, commandObject, dropObjects, newInconsistencyError } from './consistency.ts';
import { reconcile, snapshot } from './reconcile.ts';
import { reconcileComputedFieldFunctions, snapshotComputedFieldFunctions } from './computed-field-functions.ts';
import { isPgError, mapPgError, runSqlError } from '../execute/pg-errors.ts';
import { compileCount, compileDelete, compileInsert, compileSelect, compileUpdate, rqlModel, trackedTable } from './rql.ts';
import { run, sql, value, type Compiled, type Queryable } from '../sql/sql.ts';
import type { ApplyOptions, MetadataService } from './service.ts';
import { beforeCommit, eventDbOps, needsTriggerSync } from '../events/ops.ts';
import { exportCronTriggers, keepUnexportedCronTriggers } from '../scheduled/model.ts';
import { checkAllowlistEntries } from '../allowlist/ops.ts';
import { brokenCollectionQueries } from '../allowlist/validate.ts';
import { checkNonEmptyNames } from './non-empty.ts';

export type AdminApi = 'metadata' | 'query' | 'v2query';

interface Ctx {
  api: AdminApi;
  /** Who asks: admin for everything; another role only for data queries, under its permissions. */
  session: Session;
  svc: MetadataService;
  meta: Metadata;
  client?: pg.PoolClient;
  metaTouched: boolean;
  ddl: boolean;
  allowInconsistent: boolean;
  /** Runs after the transaction committed and the new metadata is live. */
  after: Array<() => Promise<unknown>>;
  /** The RQL model built for this metadata earlier in the request (a bulk of inserts after tracking); run_sql clears it. */
  rqlCache?: { key: string; model: Model };
  /** `hasura.user` was set in this request's transaction. */
  hasuraUserSet?: boolean;
  /** The object the request's one metadata command defines (consistency.ts `commandObject`); null once a second one ran. */
  target?: string | null;
}

const success = { message: 'success' };

/** Hasura's `containsDDLKeyword` (RunSQL.hs): only then is the catalog diffed after run_sql. */
const ddlPattern = /\balter\b|\bdrop\b|\breplace\b|\bcreate function\b|\bcomment on\b/i;

const dataQueries = new Set(['insert', 'select', 'update', 'delete', 'count']);
const v2Commands = new Set(['run_sql', 'pg_run_sql', 'bulk', 'concurrent_bulk', ...dataQueries]);

async function tx(ctx: Ctx): Promise<pg.PoolClient> {
  if (!ctx.client) {
    const client = await ctx.svc.pool.connect();
    try {
      await client.query('BEGIN');
    } catch (err) {
      client.release();
      throw err;
    }
    ctx.client = client;
  }
  return ctx.client;
}

function asArgs(v: unknown): Args {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Args) : {};
}

/** A command's type, normalised: /v1/metadata's `pg_` prefix removed. */
function opName(type: string): string {
  return type.startsWith('pg_') ? type.slice(3) : type;
}

/** `replace_metadata` also takes the pre-v3 format (`{version: 1|2, tables, functions}`). */
function toV3(input: Args): Metadata {
  if (Array.isArray(input.sources)) return { ...(input as unknown as Metadata), version: 3 };
  if (Array.isArray(input.tables)) {
    const { tables, functions, version: _v, ...rest } = input;
    const source: MetadataSource = { ...defaultSource(), tables: tables as MetadataSource['tables'] };
    if (Array.isArray(functions) && functions.length) source.functions = functions;
    return { ...rest, version: 3, sources: [source] };
  }
  throw badRequest('parse-failed', 'expected metadata with "sources"', '$.args');
}

async function runCommand(ctx: Ctx, body: unknown, path: string): Promise<unknown> {
  // Aeson's own wording for a body that is not an object (upstream v1/basic/query_string_input_err.yaml).
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw badRequest('parse-failed', `parsing Object failed, expected Object, but encountered ${jsonKind(body)}`, path);
  }
  const cmd = asArgs(body);
  const type = cmd.type;
  if (typeof type !== 'string') throw badRequest('parse-failed', 'key "type" not found', path);
  // RQLQuery's `version` is 1 or 2 (upstream v1/basic/query_v2_invalid_version.yaml).
  if (cmd.version !== undefined && cmd.version !== 1 && cmd.version !== 2) {
    throw badRequest('parse-failed', `expected 1 or 2, encountered ${typeof cmd.version === 'number' ? cmd.version : jsonKind(cmd.version)}`, `${path}.version`);
  }
  if (ctx.api === 'v2query' && !v2Commands.has(type)) {
    throw badRequest('parse-failed', `unknown command "${type}" for /v2/query`, `${path}.type`);
  }
  const args = cmd.args;
  const version = typeof cmd.version === 'number' ? cmd.version : undefined;
  const name = opName(type);
  if (ctx.api === 'query') checkNonEmptyNames(type, args);

  switch (name) {
    case 'bulk':
    case 'concurrent_bulk': {
      if (!Array.isArray(args)) throw badRequest('parse-failed', 'expected Array for bulk args', `${path}.args`);
      const out: unknown[] = [];
      for (let i = 0; i < args.length; i++) out.push(await runCommand(ctx, args[i], `${path}.args[${i}]`));
      return out;
    }
    case 'bulk_keep_going': {
      if (!Array.isArray(args)) throw badRequest('parse-failed', 'expected Array for bulk args', `${path}.args`);
      const out: unknown[] = [];
      for (let i = 0; i < args.length; i++) {
        const client = await tx(ctx);
        await client.query('SAVEPOINT keep_going');
        const saved = cloneMetadata(ctx.meta);
        try {
          out.push(await runCommand(ctx, args[i], `${path}.args[${i}]`));
          await client.query('RELEASE SAVEPOINT keep_going');
        } catch (err) {
          if (!(err instanceof QErr)) throw err;
          await client.query('ROLLBACK TO SAVEPOINT keep_going');
          ctx.meta = saved;
          out.push(err.body());
        }
      }
      return out;
    }
    case 'run_sql':
      return runSql(ctx, asArgs(args), `${path}.args`);
    case 'export_metadata': {
      const m = exportCronTriggers(cloneMetadata(ctx.meta));
      return version === 2 ? { resource_version: ctx.svc.version, metadata: m } : m;
    }
    case 'replace_metadata': {
      const a = asArgs(args);
      const wrapped = version === 2 || ('metadata' in a && !('sources' in a));
      const input = wrapped ? asArgs(a.metadata) : a;
      const old = ctx.meta;
      ctx.meta = toV3(input);
      keepUnexportedCronTriggers(old, ctx.meta);
      checkAllowlistEntries(ctx.meta, wrapped ? '$.args.metadata' : '$.args');
      ctx.metaTouched = true;
      if (wrapped && a.allow_inconsistent_metadata === true) {
        ctx.allowInconsistent = true;
        const { inconsistent } = await checkConsistency(await tx(ctx), ctx.meta);
        if (inconsistent.length > 0) return { is_consistent: false, inconsistent_objects: inconsistent };
      }
      return success;
    }
    case 'clear_metadata': {
      const keep = ctx.meta.sources.map((s) => ({ name: s.name, kind: s.kind, tables: [], configuration: s.configuration }));
      ctx.meta = { ...emptyMetadata(), sources: keep.length ? keep : emptyMetadata().sources };
      ctx.metaTouched = true;
      return success;
    }
    case 'reload_metadata': {
      const result: Record<string, unknown> = { message: 'success' };
      ctx.after.push(async () => {
        const inconsistent = await ctx.svc.reload();
        result.is_consistent = inconsistent.length === 0;
        if (inconsistent.length) result.inconsistent_objects = inconsistent;
      });
      return result;
    }
    case 'get_inconsistent_metadata': {
      // Hasura reports its schema cache's `scInconsistentObjs`: what the database lacks and what
      // the engine left out (functions, computed fields, conflicting inherited permissions...).
      // Unchanged metadata and catalog: the live list; changed earlier in this request (metadata
      // or DDL in a bulk): rebuilt from them.
      let inconsistent: unknown[] = ctx.svc.inconsistent;
      if (ctx.metaTouched || ctx.ddl) {
        const client = await tx(ctx);
        const checked = await checkConsistency(client, ctx.meta);
        const names = new Set(checked.inconsistent.map((o) => o.name));
        inconsistent = [...checked.inconsistent, ...(await rqlModel(client, checked.effective)).inconsistent.filter((o) => !names.has(o.name))];
      }
      return { is_consistent: inconsistent.length === 0, inconsistent_objects: inconsistent };
    }
    case 'drop_inconsistent_metadata': {
      const client = await tx(ctx);
      const { effective } = await checkConsistency(client, ctx.meta);
      // Collection queries are judged by the engine against its admin schema (allowlist/validate.ts).
      dropObjects(effective, [...(await rqlModel(client, effective)).inconsistent, ...ctx.svc.inconsistent.filter((o) => o.type === 'query_collections')]);
      ctx.meta = effective;
      ctx.metaTouched = true;
      return success;
    }
    case 'get_catalog_state':
      return { id: '1', cli_state: {}, console_state: {} };
    case 'set_catalog_state':
      return success;
  }

  if (dataQueries.has(name)) return dataQuery(ctx, name, asArgs(args));

  // Event and scheduled trigger commands that read or write event rows (events/ops.ts).
  const eventOp = eventDbOps[name];
  if (eventOp) return eventOp({ db: await tx(ctx), meta: ctx.meta, touch: () => { ctx.metaTouched = true; } }, asArgs(args));

  const op = metadataOps[name];
  if (!op) throw badRequest('parse-failed', `unknown command "${type}"`, `${path}.type`);
  // `track_table` (and friends) also accept the bare table name as args.
  // An op may answer something other than success (add_collection_to_allowlist's notice).
  const facts = name === 'untrack_table' ? await opFacts(await tx(ctx), ctx.meta) : undefined;
  // So do track_function/untrack_function with the function's (QualifiedFunction parses a string).
  const bare = typeof args === 'string' ? (/_function$/.test(name) ? { function: args } : { table: args }) : undefined;
  const answer = op(ctx.meta, bare ?? asArgs(args), version, facts);
  ctx.target = ctx.target === undefined ? (commandObject(type, args) ?? null) : null;
  ctx.metaTouched = true;
  return answer ?? success;
}

/** The database facts an op needs (ops.ts `OpFacts`): here, where object relationships' foreign keys point. */
export async function opFacts(db: Queryable, meta: Metadata): Promise<OpFacts> {
  const fkTargets = new Map<string, QualifiedTable>();
  for (const s of meta.sources) {
    if (s.name !== 'default') continue;
    for (const fk of await foreignKeysOf(db, s.tables.map((t) => t.table))) fkTargets.set(fkKey(fk.owner, fk.columns), fk.target);
  }
  return { fkTargets };
}

async function dropMissingFunctions(client: pg.PoolClient, meta: Metadata): Promise<boolean> {
  let changed = false;
  for (const source of meta.sources) {
    const fns = (source.functions ?? []).map((f) => ({ f, ref: parseTableName((f as { function?: unknown }).function ?? f) }));
    if (fns.length === 0) continue;
    const { rows } = await run<{ s: string; n: string }>(client, sql`
      SELECT w.s, w.n FROM unnest(${value(fns.map((x) => x.ref?.schema ?? ''))}::text[], ${value(fns.map((x) => x.ref?.name ?? ''))}::text[]) AS w(s, n)
       WHERE EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace ns ON ns.oid = p.pronamespace WHERE ns.nspname = w.s AND p.proname = w.n)`);
    const present = new Set(rows.map((r) => `${r.s}.${r.n}`));
    const kept = fns.filter((x) => !x.ref || present.has(`${x.ref.schema}.${x.ref.name}`)).map((x) => x.f);
    if (kept.length !== fns.length) { source.functions = kept; changed = true; }
  }
  return changed;
}

interface SqlResult {
  fields: string[];
  rows: unknown[][];
  command: string;
}

/**
 * run_sql: the caller's SQL, as given (the one statement text the engine does not build), on the
 * simple protocol so it may hold several statements; every value comes back as PostgreSQL text.
 */
async function runUserSql(db: pg.PoolClient, text: string): Promise<SqlResult | undefined> {
  const res = (await db.query({ text, rowMode: 'array', types: { getTypeParser: () => (v: string) => v } } as pg.QueryConfig)) as
    | pg.QueryResult
    | pg.QueryResult[];
  const last = Array.isArray(res) ? res[res.length - 1] : res;
  if (!last) return undefined;
  return { fields: last.fields.map((f) => f.name), rows: last.rows as unknown[][], command: last.command };
}

async function runSql(ctx: Ctx, args: Args, path: string): Promise<unknown> {
  const text = args.sql;
  if (typeof text !== 'string') throw badRequest('parse-failed', 'key "sql" not found', path);
  const readOnly = args.read_only === true;
  ctx.rqlCache = undefined;
  const check = args.check_metadata_consistency !== false && !readOnly && ddlPattern.test(text);
  // `no_transaction: true` runs the SQL on its own connection, outside any transaction (statements
  // such as CREATE INDEX CONCURRENTLY refuse one; docs schema-api/run-sql.mdx, upstream
  // v1/run_sql/sql_no_tx.yaml). The metadata is then reconciled against what it committed.
  const noTx = args.no_transaction === true;
  const client = await tx(ctx);
  const before = check ? await snapshot(client, ctx.meta) : undefined;
  const cfBefore = check ? await snapshotComputedFieldFunctions(client, ctx.meta) : undefined;
  if (readOnly) await client.query('SET TRANSACTION READ ONLY');
  let result;
  try {
    if (noTx) {
      const own = await ctx.svc.pool.connect();
      try {
        const statements = splitSqlStatements(text);
        for (const statement of statements.length ? statements : [text]) {
          try {
            result = await runUserSql(own, statement);
          } catch (err) {
            if (isPgError(err)) throw runSqlError(err, statement, path);
            throw err;
          }
        }
      } finally {
        own.release();
      }
    } else {
      await client.query('SAVEPOINT run_sql');
      result = await runUserSql(client, text);
      await client.query('RELEASE SAVEPOINT run_sql');
    }
  } catch (err) {
    if (isPgError(err)) throw runSqlError(err, text, path);
    throw err;
  }
  if (check && before) {
    if (cfBefore && await reconcileComputedFieldFunctions(client, ctx.meta, cfBefore, args.cascade === true)) ctx.metaTouched = true;
    if (await reconcile(client, ctx.meta, before, args.cascade === true)) ctx.metaTouched = true;
    // Tracked functions the SQL dropped leave the metadata, as Hasura's run_sql purges them
    // (RQL/DDL/Schema.hs `runRunSQL` → schema diff → `purgeDependentObject` for functions).
    if (await dropMissingFunctions(client, ctx.meta)) ctx.metaTouched = true;
    ctx.ddl = true;
  }
  if (!result || result.fields.length === 0) return { result_type: 'CommandOk', result: null };
  return { result_type: 'TuplesOk', result: [result.fields, ...result.rows] };
}

async function dataQuery(ctx: Ctx, type: string, args: Args): Promise<unknown> {
  const session = ctx.session;
  const table = parseTableName(args.table);
  if (!table) throw badRequest('parse-failed', 'key "table" not found');
  const client = await tx(ctx);
  // Hasura resolves every RQL query against its schema cache: untracked tables do not exist for
  // it, relationships and permission-style `where` come from the metadata. The live model is that
  // cache unless this request changed the metadata or ran DDL before the query.
  const live = !ctx.metaTouched && !ctx.ddl ? (ctx.svc.graphql.model?.() as Model | undefined) : undefined;
  let model = live;
  if (!model) {
    const key = JSON.stringify(ctx.meta);
    if (ctx.rqlCache?.key !== key) ctx.rqlCache = { key, model: await rqlModel(client, ctx.meta) };
    model = ctx.rqlCache.model;
  }
  trackedTable(model, table);
  let built: Compiled;
  switch (type) {
    case 'insert':
      if (!Array.isArray(args.objects) || args.objects.length === 0) return { affected_rows: 0 };
      built = compileInsert(model, table, args, session);
      break;
    case 'select':
      built = compileSelect(model, table, args, true, session);
      break;
    case 'count':
      built = compileCount(model, table, args, session);
      break;
    case 'delete':
      built = compileDelete(model, table, args, session);
      break;
    default:
      built = compileUpdate(model, table, args, session);
  }
  try {
    // The admin's session as `hasura.user`, as Hasura's setHeadersTx does for every RQL query: an
    // event trigger records it as the event's session_variables (events/catalog.ts).
    // Set once per request (the setting is transaction-local). The session is the asker's: the
    // role and its session variables (Hasura's setHeadersTx).
    if (!ctx.hasuraUserSet) {
      await client.query("SELECT set_config('hasura.user', $1, true)", [JSON.stringify({ ...session.vars, 'x-hasura-role': session.role })]);
      ctx.hasuraUserSet = true;
    }
    // No savepoint around the statement: any failure (a PostgreSQL error, or a row the role's
    // insert/update `check` rejects, DML/Mutation.hs) fails the whole request, whose transaction
    // rolls back; bulk_keep_going has its own savepoint per command.
    const { rows } = await client.query<{ result: unknown; ok?: boolean }>(built.text, built.values);
    if (rows[0]?.ok === false) throw new QErr('permission-error', 'check constraint of an insert/update permission has failed', '$.args');
    return rows[0]?.result;
  } catch (err) {
    if (isPgError(err)) throw mapPgError(err, built.text);
    throw err;
  }
}

/** Runs one admin request body; the caller has checked the session is admin. */
/**
 * Whether a non-admin role may send `body` to /v1/query or /v2/query: data queries (select, count,
 * insert, update, delete) and bulks of them run under the role's permissions, as Hasura's
 * `runQuery` allows them (RQL/DML/*.hs take the UserInfo); everything else is admin only.
 */
export function roleMayRun(api: AdminApi, body: unknown): boolean {
  if (api === 'metadata' || !body || typeof body !== 'object' || Array.isArray(body)) return false;
  const { type, args } = body as Args;
  if (type === 'bulk') return Array.isArray(args) && args.every((a) => roleMayRun(api, a));
  return typeof type === 'string' && dataQueries.has(type);
}

export async function executeAdmin(svc: MetadataService, api: AdminApi, body: unknown, session: Session = ADMIN_SESSION): Promise<unknown> {
  return svc.exclusive(async () => {
    const cmd = asArgs(body);
    if (api === 'metadata') svc.checkResourceVersion(cmd.resource_version);
    const ctx: Ctx = { api, session, svc, meta: svc.current, metaTouched: false, ddl: false, allowInconsistent: false, after: [] };
    try {
      const result = await runCommand(ctx, body, '$');
      // The SQL triggers of event triggers follow the metadata in the same transaction (events/ops.ts).
      if ((ctx.metaTouched || ctx.ddl) && needsTriggerSync(svc, ctx.meta)) await beforeCommit(svc, await tx(ctx), ctx.meta, ctx.ddl);
      let checked: ApplyOptions['checked'];
      if (ctx.client) {
        if (ctx.metaTouched || ctx.ddl) {
          // New inconsistencies are refused before the SQL commits, so nothing half-applies. The
          // check is of the metadata as it will be stored; commit() reuses it (same database state
          // once committed) instead of reading the catalog again.
          const normalized = normalizeMetadata(ctx.meta);
          const result = await checkConsistency(ctx.client, normalized);
          checked = { metadata: JSON.stringify(normalized), result };
          const { inconsistent } = result;
          const known = new Set(svc.inconsistent.map((o) => o.name));
          const fresh = inconsistent.filter((o) => !known.has(o.name));
          if (fresh.length && !ctx.allowInconsistent && !ctx.ddl) {
            throw newInconsistencyError(fresh, ctx.target ?? undefined);
          }
          // SQL that breaks a collection query (a column or table a REST endpoint reads dropped)
          // is refused before it commits, as upstream's run_sql `withNewInconsistentObjsCheck`
          // refuses it (Backends/Postgres/DDL/RunSQL.hs; allowlist/validate.ts).
          if (ctx.ddl && !ctx.allowInconsistent) {
            const broken = (await brokenCollectionQueries(ctx.client, result.effective)).filter((o) => !known.has(o.name));
            if (broken.length) throw newInconsistencyError(broken);
          }
        }
        await ctx.client.query('COMMIT');
        ctx.client.release();
        ctx.client = undefined;
      }
      if (ctx.metaTouched || ctx.ddl) {
        await svc.commit(ctx.meta, { forceReload: ctx.ddl, allowInconsistent: ctx.allowInconsistent || ctx.ddl, ...(ctx.target ? { target: ctx.target } : {}), ...(checked ? { checked } : {}) });
      }
      for (const f of ctx.after) await f();
      return result;
    } finally {
      if (ctx.client) {
        await ctx.client.query('ROLLBACK').catch(() => undefined);
        ctx.client.release();
      }
    }
  });
}

/**
 * The metadata API's event and scheduled trigger commands (docs/docs/api-reference/metadata-api/
 * {event-triggers,scheduled-triggers}.mdx; upstream RQL/DDL/EventTrigger.hs,
 * RQL/DDL/ScheduledTrigger.hs). Pure metadata edits are `metadataOps` (spread into admin/ops.ts);
 * the ones that read or write event rows are `eventDbOps`, run by admin/commands.ts inside the
 * request's transaction. `beforeCommit` brings the SQL triggers in line with the new metadata in
 * that same transaction, so a refused change leaves no trigger behind.
 */
import type { Metadata, TableMetadata } from '../contract.ts';
import type { MetadataService } from '../admin/service.ts';
import { alreadyExists, badRequest, notExists } from '../errors.ts';
import { isPgError, mapPgError } from '../execute/pg-errors.ts';
import { findSource, findTable, tableText } from '../metadata/model.ts';
import { run, sql, value, type Queryable } from '../sql/sql.ts';
import { allTriggers, findTrigger, orderTrigger, parseCreateEventTrigger, parseHeaders, tableTriggers } from './model.ts';
import { syncEventTriggers } from './triggers.ts';
import { ensureEventCatalogIn } from './catalog.ts';
import { cronTriggers, parseCreateCronTrigger, parseSTRetryConf } from '../scheduled/model.ts';
import { scheduledSql } from '../scheduled/processor.ts';
import { testWebhookTransform } from '../transforms/command.ts';
import { deleteOldLogs } from './cleanup.ts';

type Args = Record<string, unknown>;
const success = { message: 'success' };

// ── event triggers: metadata edits ─────────────────────────────────────────────────────────────

function createEventTrigger(m: Metadata, args: Args): void {
  const q = parseCreateEventTrigger(args);
  const source = findSource(m, q.source);
  if (!source) throw notExists(`source with name "${q.source}" does not exist`);
  const table = findTable(source, q.table);
  if (!table) throw notExists(`table "${tableText(q.table)}" does not exist in source: ${source.name}`);
  const existing = findTrigger(m, q.conf.name, source.name);
  if (q.replace) {
    if (!existing) throw notExists(`event trigger "${q.conf.name}" does not exist`);
    if (existing.table !== table) throw badRequest('not-supported', 'cannot replace table or schema for trigger');
    table.event_triggers = tableTriggers(table).map((t) => (t.name === q.conf.name ? orderTrigger(q.conf) : t));
    return;
  }
  if (existing) throw alreadyExists(`Event trigger with name "${q.conf.name}" already exists`);
  table.event_triggers = [...tableTriggers(table), orderTrigger(q.conf)];
}

function deleteEventTrigger(m: Metadata, args: Args): void {
  const name = args.name;
  if (typeof name !== 'string') throw badRequest('parse-failed', 'key "name" not found');
  const found = findTrigger(m, name, typeof args.source === 'string' ? args.source : 'default');
  if (!found) throw notExists(`event trigger "${name}" does not exist`);
  const t: TableMetadata = found.table;
  const rest = tableTriggers(t).filter((x) => x.name !== name);
  if (rest.length) t.event_triggers = rest;
  else delete t.event_triggers;
}

/** By their /v1/query names (/v1/metadata adds `pg_`). */
export const eventMetadataOps: Record<string, (m: Metadata, args: Args) => unknown> = {
  create_event_trigger: createEventTrigger,
  delete_event_trigger: deleteEventTrigger,
};

// ── operations on event rows ───────────────────────────────────────────────────────────────────

export interface EventOpContext {
  db: Queryable;
  meta: Metadata;
  /** The metadata was edited (it is saved and the SQL triggers synced with it). */
  touch(): void;
}

export type EventDbOp = (ctx: EventOpContext, args: Args) => Promise<unknown>;

/** checkEvent + markForDelivery (redeliverEventTx). */
const redeliverEvent: EventDbOp = async ({ db }, args) => {
  if (typeof args.event_id !== 'string') throw badRequest('parse-failed', 'key "event_id" not found');
  const { rows } = await run<{ locked: boolean }>(db, sql`
    SELECT l.locked IS NOT NULL AND l.locked >= (NOW() - interval '30 minute') AS locked
      FROM hdb_catalog.event_log l WHERE l.id = ${value(args.event_id)}`);
  const row = rows[0];
  if (!row) throw notExists('event not found');
  if (row.locked) throw badRequest('busy', 'event is already being processed');
  await run(db, sql`UPDATE hdb_catalog.event_log SET delivered = 'f', error = 'f', tries = 0, next_retry_at = NULL WHERE id = ${value(args.event_id)}`);
  return success;
};

/** runInvokeEventTrigger: a MANUAL event with `{old: null, new: payload}`, the admin's session recorded. */
const invokeEventTrigger: EventDbOp = async ({ db, meta }, args) => {
  if (typeof args.name !== 'string') throw badRequest('parse-failed', 'key "name" not found');
  if (!('payload' in args)) throw badRequest('parse-failed', 'key "payload" not found');
  const found = findTrigger(meta, args.name, typeof args.source === 'string' ? args.source : 'default');
  if (!found) throw notExists(`event trigger "${args.name}" does not exist`);
  if (found.conf.definition?.enable_manual !== true) throw badRequest('not-supported', 'manual mode is not enabled for event trigger');
  await run(db, sql`SELECT set_config('hasura.user', ${value(JSON.stringify({ 'x-hasura-role': 'admin' }))}, true)`);
  const { rows } = await run<{ id: string }>(db, sql`
    SELECT hdb_catalog.insert_event_log(${value(found.table.table.schema)}, ${value(found.table.table.name)}, ${value(args.name)}, 'MANUAL',
      ${value(JSON.stringify({ old: null, new: args.payload }))}::json) AS id`);
  return { event_id: rows[0]?.id };
};

// ── reading event logs (metadata-api/event-triggers.mdx: pg_get_event_logs, pg_get_event_invocation_logs, pg_get_event_by_id) ──

const EVENT_COLUMNS = sql`id, schema_name, table_name, trigger_name, payload, delivered, error, tries, created_at, locked, next_retry_at, archived`;

function limitOffset(args: Args): { limit: number; offset: number } {
  const limit = args.limit === undefined ? 100 : args.limit;
  const offset = args.offset === undefined ? 0 : args.offset;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 0) throw badRequest('parse-failed', 'expected a non-negative integer', '$.args.limit');
  if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0) throw badRequest('parse-failed', 'expected a non-negative integer', '$.args.offset');
  return { limit, offset };
}

function knownTrigger(meta: Metadata, args: Args): string {
  if (typeof args.name !== 'string') throw badRequest('parse-failed', 'key "name" not found');
  if (!findTrigger(meta, args.name, typeof args.source === 'string' ? args.source : 'default')) throw notExists(`event trigger "${args.name}" does not exist`);
  return args.name;
}

/** status: pending (not yet delivered or failed), processed (delivered or failed), all; archived never. */
const getEventLogs: EventDbOp = async ({ db, meta }, args) => {
  const name = knownTrigger(meta, args);
  const { limit, offset } = limitOffset(args);
  const status = args.status ?? 'all';
  if (status !== 'pending' && status !== 'processed' && status !== 'all') throw badRequest('parse-failed', 'expected "pending", "processed" or "all"', '$.args.status');
  const filter = status === 'pending' ? sql`AND NOT delivered AND NOT error` : status === 'processed' ? sql`AND (delivered OR error)` : sql``;
  const { rows } = await run<{ out: unknown[] }>(db, sql`
    SELECT coalesce(json_agg(row_to_json(q.*)), '[]') AS out FROM (
      SELECT ${EVENT_COLUMNS} FROM hdb_catalog.event_log
       WHERE trigger_name = ${value(name)} AND NOT archived ${filter}
       ORDER BY created_at DESC LIMIT ${value(limit)} OFFSET ${value(offset)}) q`);
  return rows[0]?.out ?? [];
};

const getEventInvocationLogs: EventDbOp = async ({ db, meta }, args) => {
  const name = knownTrigger(meta, args);
  const { limit, offset } = limitOffset(args);
  const { rows } = await run<{ out: unknown[] }>(db, sql`
    SELECT coalesce(json_agg(row_to_json(q.*)), '[]') AS out FROM (
      SELECT id, trigger_name, event_id, status, request, response, created_at FROM hdb_catalog.event_invocation_logs
       WHERE trigger_name = ${value(name)} ORDER BY created_at DESC LIMIT ${value(limit)} OFFSET ${value(offset)}) q`);
  return rows[0]?.out ?? [];
};

const getEventById: EventDbOp = async ({ db }, args) => {
  if (typeof args.event_id !== 'string') throw badRequest('parse-failed', 'key "event_id" not found');
  const limit = args.invocation_log_limit ?? 100;
  const offset = args.invocation_log_offset ?? 0;
  const lo = limitOffset({ limit, offset });
  const { rows } = await run<{ event: unknown; invocations: unknown[] }>(db, sql`
    SELECT (SELECT row_to_json(e.*) FROM (SELECT ${EVENT_COLUMNS} FROM hdb_catalog.event_log WHERE id = ${value(args.event_id)}) e) AS event,
           (SELECT coalesce(json_agg(row_to_json(i.*)), '[]') FROM (
              SELECT id, trigger_name, event_id, status, request, response, created_at FROM hdb_catalog.event_invocation_logs
               WHERE event_id = ${value(args.event_id)} ORDER BY created_at DESC LIMIT ${value(lo.limit)} OFFSET ${value(lo.offset)}) i) AS invocations`);
  const row = rows[0];
  if (!row?.event) throw notExists(`event with id "${args.event_id}" does not exist`);
  return { event: row.event, invocations: row.invocations };
};

// ── scheduled triggers ─────────────────────────────────────────────────────────────────────────

const createCronTrigger: EventDbOp = async ({ db, meta, touch }, args) => {
  const { conf, replace } = parseCreateCronTrigger(args);
  const list = cronTriggers(meta);
  const exists = list.some((c) => c.name === conf.name);
  if (exists && !replace) throw alreadyExists(`cron trigger with name: ${conf.name} already exists`);
  meta.cron_triggers = exists ? list.map((c) => (c.name === conf.name ? conf : c)) : [...list, conf];
  // A replaced schedule drops the events generated for the old one; the generator makes new ones.
  if (exists) await run(db, scheduledSql.dropFuture([conf.name]));
  touch();
  return success;
};

const deleteCronTrigger: EventDbOp = async ({ db, meta, touch }, args) => {
  const name = args.name;
  if (typeof name !== 'string') throw badRequest('parse-failed', 'key "name" not found');
  const list = cronTriggers(meta);
  if (!list.some((c) => c.name === name)) throw notExists(`cron trigger with name: ${name} does not exist`);
  const rest = list.filter((c) => c.name !== name);
  if (rest.length) meta.cron_triggers = rest;
  else delete meta.cron_triggers;
  await run(db, scheduledSql.dropFuture([name]));
  touch();
  return success;
};

function parseTime(v: unknown, path: string): Date {
  const d = typeof v === 'string' ? new Date(v) : undefined;
  if (!d || Number.isNaN(d.getTime())) throw badRequest('parse-failed', 'could not parse timestamp', path);
  return d;
}

const createScheduledEvent: EventDbOp = async ({ db }, args) => {
  if (typeof args.webhook !== 'string') throw badRequest('parse-failed', 'key "webhook" not found');
  const at = parseTime(args.schedule_at, '$.args.schedule_at');
  const retry = parseSTRetryConf(args.retry_conf);
  const headers = parseHeaders(args.headers) ?? [];
  const { rows } = await run<{ id: string }>(db, sql`
    INSERT INTO hdb_catalog.hdb_scheduled_events (webhook_conf, scheduled_time, retry_conf, payload, header_conf, comment)
    VALUES (${value(JSON.stringify(args.webhook))}::json, ${value(at)}::timestamptz, ${value(JSON.stringify(retry))}::json,
            ${value(JSON.stringify(args.payload ?? null))}::json, ${value(JSON.stringify(headers))}::json, ${value(typeof args.comment === 'string' ? args.comment : null)})
    RETURNING id`);
  return { message: 'success', event_id: rows[0]?.id };
};

function scheduledType(v: unknown): 'cron' | 'one_off' {
  if (v === 'cron' || v === 'one_off') return v;
  throw badRequest('parse-failed', 'expected "cron" or "one_off"', '$.args.type');
}

const deleteScheduledEvent: EventDbOp = async ({ db }, args) => {
  const type = scheduledType(args.type);
  if (typeof args.event_id !== 'string') throw badRequest('parse-failed', 'key "event_id" not found');
  const { rowCount } = await run(db, type === 'cron'
    ? sql`DELETE FROM hdb_catalog.hdb_cron_events WHERE id = ${value(args.event_id)}`
    : sql`DELETE FROM hdb_catalog.hdb_scheduled_events WHERE id = ${value(args.event_id)}`);
  if (!rowCount) throw notExists(`event_id ${args.event_id} does not exist`);
  return success;
};

function pagination(args: Args): { limit: number | null; offset: number } {
  const p = (args.pagination ?? {}) as Args;
  const limit = typeof p.limit === 'number' && p.limit >= 0 ? Math.floor(p.limit) : null;
  const offset = typeof p.offset === 'number' && p.offset >= 0 ? Math.floor(p.offset) : 0;
  return { limit, offset };
}

/** get_scheduled_events: newest first, optionally filtered by trigger and status. */
const getScheduledEvents: EventDbOp = async ({ db }, args) => {
  const type = scheduledType(args.type);
  const { limit, offset } = pagination(args);
  const statuses = Array.isArray(args.status) ? args.status.filter((s): s is string => typeof s === 'string') : null;
  const trigger = typeof args.trigger_name === 'string' ? args.trigger_name : null;
  if (type === 'cron' && trigger === null) throw badRequest('parse-failed', 'key "trigger_name" not found');
  const where = sql`(${value(statuses)}::text[] IS NULL OR t.status = ANY(${value(statuses)}::text[]))
    ${type === 'cron' ? sql`AND t.trigger_name = ${value(trigger)}` : sql``}`;
  const from = type === 'cron' ? sql`hdb_catalog.hdb_cron_events t` : sql`hdb_catalog.hdb_scheduled_events t`;
  const { rows } = await run<{ events: unknown[] }>(db, sql`
    SELECT coalesce(json_agg(row_to_json(q.*)), '[]') AS events FROM (
      SELECT t.* FROM ${from} WHERE ${where} ORDER BY t.scheduled_time DESC LIMIT ${value(limit)} OFFSET ${value(offset)}) q`);
  const out: Record<string, unknown> = { events: rows[0]?.events ?? [] };
  if (args.get_rows_count === true) {
    const c = await run<{ n: number }>(db, sql`SELECT count(*)::int AS n FROM ${from} WHERE ${where}`);
    out.count = c.rows[0]?.n ?? 0;
  }
  return out;
};

/** get_scheduled_event_invocations: by event_id, or by cron trigger_name. */
const getScheduledEventInvocations: EventDbOp = async ({ db }, args) => {
  const type = scheduledType(args.type);
  const { limit, offset } = pagination(args);
  const eventId = typeof args.event_id === 'string' ? args.event_id : null;
  const trigger = typeof args.trigger_name === 'string' ? args.trigger_name : null;
  const stmt = type === 'cron'
    ? sql`SELECT i.* FROM hdb_catalog.hdb_cron_event_invocation_logs i JOIN hdb_catalog.hdb_cron_events e ON e.id = i.event_id
           WHERE (${value(eventId)}::text IS NULL OR i.event_id = ${value(eventId)}) AND (${value(trigger)}::text IS NULL OR e.trigger_name = ${value(trigger)})`
    : sql`SELECT i.* FROM hdb_catalog.hdb_scheduled_event_invocation_logs i WHERE (${value(eventId)}::text IS NULL OR i.event_id = ${value(eventId)})`;
  const { rows } = await run<{ invocations: unknown[] }>(db, sql`
    SELECT coalesce(json_agg(row_to_json(q.*)), '[]') AS invocations FROM (${stmt} ORDER BY i.created_at DESC LIMIT ${value(limit)} OFFSET ${value(offset)}) q`);
  return { invocations: rows[0]?.invocations ?? [] };
};

/** get_cron_triggers: every cron trigger with its definition. */
const getCronTriggers: EventDbOp = async ({ meta }) => ({ cron_triggers: cronTriggers(meta) });

// ── log cleanup (metadata-api/event-triggers.mdx: cleanup_event_trigger_logs, pause/resume_event_trigger_cleanups) ──

const positiveInt = (v: unknown, dflt: number, path: string): number => {
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw badRequest('parse-failed', 'expected a positive integer', path);
  return v;
};

/**
 * cleanup_event_trigger_logs (TriggerLogCleanupConfig): deletes the trigger's delivered or failed
 * events older than clear_older_than hours now, batch by batch, with their invocation logs when
 * clean_invocation_logs; answers the counts (DeletedEventLogStats).
 */
const cleanupEventTriggerLogs: EventDbOp = async ({ db, meta }, args) => {
  if (typeof args.event_trigger_name !== 'string') throw badRequest('parse-failed', 'key "event_trigger_name" not found');
  if (args.clear_older_than === undefined) throw badRequest('parse-failed', 'key "clear_older_than" not found');
  const source = typeof args.source === 'string' ? args.source : 'default';
  if (!findTrigger(meta, args.event_trigger_name, source)) throw notExists(`event trigger "${args.event_trigger_name}" does not exist`);
  const { rows } = await run<{ now: Date }>(db, sql`SELECT now() AS now`);
  const res = await deleteOldLogs(db, args.event_trigger_name, {
    clear_older_than: positiveInt(args.clear_older_than, 0, '$.args.clear_older_than'),
    batch_size: positiveInt(args.batch_size, 10_000, '$.args.batch_size'),
    timeout: positiveInt(args.timeout, 60, '$.args.timeout'),
    clean_invocation_logs: args.clean_invocation_logs === true,
  }, rows[0]?.now ?? new Date());
  return { deleted_event_logs: res.deletedEvents, deleted_event_invocation_logs: res.deletedInvocations };
};

/**
 * TriggerLogCleanupToggleConfig: `event_triggers` is `{sources: "*" | [source…]}` (every trigger
 * with a cleanup_config there) or `[{source_name, event_triggers: [name…]}]` (each must exist and
 * have one: `cleanup config does not exist for <name>`).
 */
function toggleCleanups(paused: boolean): EventDbOp {
  return async ({ meta, touch }, args) => {
    const spec = args.event_triggers;
    const set = (conf: { cleanup_config?: unknown }) => {
      conf.cleanup_config = { ...(conf.cleanup_config as Record<string, unknown>), paused };
    };
    const hasConfig = (conf: { cleanup_config?: unknown }) => typeof conf.cleanup_config === 'object' && conf.cleanup_config !== null;
    if (spec && typeof spec === 'object' && !Array.isArray(spec)) {
      const sources = (spec as Args).sources;
      let names: string[];
      if (sources === '*') names = meta.sources.map((s) => s.name);
      else if (Array.isArray(sources) && sources.length > 0 && sources.every((x) => typeof x === 'string')) names = sources as string[];
      else throw badRequest('parse-failed', sources === undefined ? 'key "sources" not found' : Array.isArray(sources) ? 'source name list should have atleast one value' : 'source can be * or a list of source names', '$.args.event_triggers');
      for (const name of names) {
        const source = findSource(meta, name);
        if (!source) throw notExists(`source with name ${name} does not exists`);
        for (const t of allTriggers(meta).filter((x) => x.source === source && hasConfig(x.conf))) set(t.conf);
      }
    } else if (Array.isArray(spec) && spec.length > 0) {
      for (const q of spec as Args[]) {
        const sourceName = typeof q?.source_name === 'string' ? q.source_name : 'default';
        if (!findSource(meta, sourceName)) throw notExists(`source with name ${sourceName} does not exists`);
        const triggers = Array.isArray(q?.event_triggers) ? q.event_triggers : [];
        for (const name of triggers) {
          const found = typeof name === 'string' ? findTrigger(meta, name, sourceName) : undefined;
          if (!found) throw notExists(`event trigger "${String(name)}" does not exist`);
          if (!hasConfig(found.conf)) throw notExists(`cleanup config does not exist for ${found.conf.name}`);
          set(found.conf);
        }
      }
    } else {
      throw badRequest('parse-failed', Array.isArray(spec) ? 'qualifier list should have atleast one value' : 'The event trigger cleanup argument should either be "*", list of sources or list of event trigger qualifiers', '$.args.event_triggers');
    }
    touch();
    return success;
  };
}

/** By their /v1/metadata names without `pg_` (the scheduled ones have none). */
export const eventDbOps: Record<string, EventDbOp> = {
  redeliver_event: redeliverEvent,
  get_event_logs: getEventLogs,
  get_event_invocation_logs: getEventInvocationLogs,
  get_event_by_id: getEventById,
  invoke_event_trigger: invokeEventTrigger,
  create_cron_trigger: createCronTrigger,
  delete_cron_trigger: deleteCronTrigger,
  create_scheduled_event: createScheduledEvent,
  delete_scheduled_event: deleteScheduledEvent,
  get_scheduled_events: getScheduledEvents,
  get_cron_triggers: getCronTriggers,
  get_scheduled_event_invocations: getScheduledEventInvocations,
  cleanup_event_trigger_logs: cleanupEventTriggerLogs,
  pause_event_trigger_cleanups: toggleCleanups(true),
  resume_event_trigger_cleanups: toggleCleanups(false),
  test_webhook_transform: async (_ctx, args) => testWebhookTransform(args),
};

// ── the SQL triggers follow the metadata ───────────────────────────────────────────────────────

export interface EventSettings {
  stringify: boolean;
  /** The hdb_catalog event tables exist (start.ts created or found them). */
  catalog: boolean;
}

interface Bound extends EventSettings {
  /** Event or cron triggers were in the last metadata synced: removing them is work too. */
  synced: boolean;
}

const settings = new WeakMap<MetadataService, Bound>();
const hasAny = (meta: Metadata) => allTriggers(meta).length > 0 || cronTriggers(meta).length > 0;

/** app.ts binds the settings to its MetadataService; commands.ts passes the service back. */
export function bindEventSettings(owner: MetadataService, s: EventSettings, meta: Metadata): void {
  settings.set(owner, { ...s, synced: hasAny(meta) });
}

/** Whether `beforeCommit` has work: triggers in the new metadata, or triggers synced before. */
export function needsTriggerSync(owner: MetadataService, meta: Metadata): boolean {
  return hasAny(meta) || (settings.get(owner)?.synced ?? false);
}

/**
 * Called by executeAdmin in the request's transaction, before COMMIT, when the metadata or the
 * schema changed: the SQL triggers are made to match (a bad column is refused, rolling back all),
 * and the future events of cron triggers no longer in the metadata (replace_metadata, clear_metadata)
 * are dropped, as delete_cron_trigger drops them.
 */
export async function beforeCommit(owner: MetadataService, db: Queryable, meta: Metadata, ddl = false): Promise<void> {
  const s = { ...(settings.get(owner) ?? { stringify: true, catalog: true, synced: false }) };
  try {
    // The catalog may be missing (dropped, or not creatable at startup): the first trigger makes it.
    if (hasAny(meta)) {
      await ensureEventCatalogIn(db);
      s.catalog = true;
    }
    // The triggers this request creates or changes must take (Hasura fails the request otherwise);
    // after DDL every trigger's function is redone (its column list may have changed), tolerating
    // a refusal for those the request did not touch, so one table the engine's role may not put a
    // trigger on does not block every later metadata change.
    const key = (t: { table: { table: unknown }; conf: unknown }) => JSON.stringify([t.table.table, t.conf]);
    const before = new Map(allTriggers(owner.current).map((t) => [t.conf.name, key(t)]));
    const changed = new Set(allTriggers(meta).filter((t) => before.get(t.conf.name) !== key(t)).map((t) => t.conf.name));
    await syncEventTriggers(db, meta, { stringify: s.stringify, touch: (n) => ddl || changed.has(n), mustSucceed: (n) => changed.has(n), inTransaction: true });
    if (s.catalog) {
      await run(db, sql`DELETE FROM hdb_catalog.hdb_cron_events
        WHERE status = 'scheduled' AND tries = 0 AND NOT (trigger_name = ANY(${value(cronTriggers(meta).map((c) => c.name))}::text[]))`);
    }
  } catch (err) {
    // A refusal from PostgreSQL (no TRIGGER privilege on the table, say) is Hasura's postgres-error.
    throw isPgError(err) ? mapPgError(err) : err;
  }
  settings.set(owner, { ...s, synced: hasAny(meta) });
}


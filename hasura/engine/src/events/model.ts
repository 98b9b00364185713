/**
 * Event triggers as Hasura's metadata spells them (docs/docs/api-reference/metadata-api/
 * event-triggers.mdx; upstream RQL/DDL/EventTrigger.hs `CreateEventTriggerQuery` FromJSON and
 * RQL/Types/EventTrigger.hs `EventTriggerConf`): the `event_triggers` entries of a table, the
 * create_event_trigger arguments and the refusals their parser makes, with the same messages.
 */
import type { Metadata, MetadataSource, TableMetadata } from '../contract.ts';
import { badRequest } from '../errors.ts';
import { parseTableName, type QualifiedTable } from '../metadata/model.ts';
import { CronExpressionParser } from 'cron-parser';
import { parseRequestTransform, parseResponseTransform, validateTransforms } from '../transforms/transform.ts';

function checkCron(schedule: string, path: string): void {
  try {
    if (schedule.trim().split(/\s+/).length !== 5) throw new Error('five fields expected');
    CronExpressionParser.parse(schedule, { tz: 'UTC' });
  } catch (err) {
    throw badRequest('parse-failed', `invalid cron expression: ${(err as Error).message}`, path);
  }
}

export type Columns = '*' | string[];
export interface OpSpec {
  columns: Columns;
  payload?: Columns;
}
export type Op = 'INSERT' | 'UPDATE' | 'DELETE';
export const OPS: readonly Op[] = ['INSERT', 'UPDATE', 'DELETE'];

export interface HeaderConf {
  name: string;
  value?: string;
  value_from_env?: string;
}

export interface RetryConf {
  num_retries: number;
  interval_sec: number;
  timeout_sec: number;
}

/** One `event_triggers` entry of a table (the export format). */
export interface EventTriggerConf {
  name: string;
  definition: { enable_manual: boolean; insert?: OpSpec; update?: OpSpec; delete?: OpSpec };
  retry_conf: RetryConf;
  webhook?: string;
  webhook_from_env?: string;
  headers?: HeaderConf[];
  request_transform?: unknown;
  response_transform?: unknown;
  cleanup_config?: unknown;
  trigger_on_replication?: boolean;
}

/** RQL/Types/EventTrigger.hs `defaultRetryConf` / `defaultTimeoutSeconds`. */
export const DEFAULT_RETRY: RetryConf = { num_retries: 0, interval_sec: 10, timeout_sec: 60 };
/** `maxTriggerNameLength`: the name goes into `notify_hasura_<name>_<OP>`, within NAMEDATALEN. */
export const MAX_TRIGGER_NAME = 42;
const legalName = /^[A-Za-z0-9_-]+$/;

const parseFailed = (message: string, path = '$.args') => badRequest('parse-failed', message, path);

function parseColumns(v: unknown, path: string): Columns {
  if (v === '*') return '*';
  if (Array.isArray(v) && v.every((c) => typeof c === 'string')) return v as string[];
  throw parseFailed('expected "*" or an array of column names', path);
}

function parseOpSpec(v: unknown, path: string): OpSpec | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw parseFailed('expected an object with "columns"', path);
  const o = v as Record<string, unknown>;
  if (!('columns' in o)) throw parseFailed('key "columns" not found', path);
  const spec: OpSpec = { columns: parseColumns(o.columns, `${path}.columns`) };
  if (o.payload !== undefined && o.payload !== null) spec.payload = parseColumns(o.payload, `${path}.payload`);
  // checkEmptyCols: an empty list would subscribe to nothing / deliver nothing.
  if (Array.isArray(spec.columns) && spec.columns.length === 0) throw parseFailed('found empty column specification');
  if (Array.isArray(spec.payload) && spec.payload.length === 0) throw parseFailed('found empty payload specification');
  return spec;
}

function nonNegativeInt(v: unknown, dflt: number, path: string): number {
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw parseFailed('expected a non-negative integer', path);
  return v;
}

export function parseRetryConf(v: unknown, path = '$.args.retry_conf'): RetryConf {
  if (v === undefined || v === null) return { ...DEFAULT_RETRY };
  if (typeof v !== 'object' || Array.isArray(v)) throw parseFailed('expected an object', path);
  const o = v as Record<string, unknown>;
  return {
    num_retries: nonNegativeInt(o.num_retries, DEFAULT_RETRY.num_retries, `${path}.num_retries`),
    interval_sec: nonNegativeInt(o.interval_sec, DEFAULT_RETRY.interval_sec, `${path}.interval_sec`),
    timeout_sec: nonNegativeInt(o.timeout_sec, DEFAULT_RETRY.timeout_sec, `${path}.timeout_sec`),
  };
}

export function parseHeaders(v: unknown, path = '$.args.headers'): HeaderConf[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw parseFailed('expected an array of headers', path);
  return v.map((h, i) => {
    const at = `${path}[${i}]`;
    if (!h || typeof h !== 'object' || typeof (h as HeaderConf).name !== 'string') throw parseFailed('key "name" not found', at);
    const { name, value, value_from_env } = h as Record<string, unknown>;
    if (typeof value === 'string' && value_from_env === undefined) return { name: name as string, value };
    if (typeof value_from_env === 'string' && value === undefined) return { name: name as string, value_from_env };
    // HeaderConf FromJSON: exactly one of the two.
    throw parseFailed('expecting only one of value or value_from_env keys', at);
  });
}

/** AutoTriggerLogCleanupConfig FromJSON: schedule and clear_older_than required. */
function checkCleanupConfig(v: unknown): void {
  const path = '$.args.cleanup_config';
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw parseFailed('expected an object', path);
  const o = v as Record<string, unknown>;
  if (typeof o.schedule !== 'string') throw parseFailed('key "schedule" not found', path);
  if (typeof o.clear_older_than !== 'number' || !Number.isInteger(o.clear_older_than) || o.clear_older_than <= 0) {
    throw parseFailed('key "clear_older_than" not found or not a positive integer (hours)', path);
  }
  for (const k of ['batch_size', 'timeout'] as const) {
    if (o[k] !== undefined && (typeof o[k] !== 'number' || !Number.isInteger(o[k]) || (o[k] as number) <= 0)) throw parseFailed('expected a positive integer', `${path}.${k}`);
  }
  checkCron(o.schedule, `${path}.schedule`);
}

/**
 * The request/response transforms parse and their templates compile (validateTransforms, run by
 * Hasura on create_event_trigger, create_cron_trigger and create_action before anything is stored).
 */
export function checkTransforms(args: Record<string, unknown>): void {
  const has = (k: string) => args[k] !== undefined && args[k] !== null;
  const request = has('request_transform') ? parseRequestTransform(args.request_transform) : undefined;
  const response = has('response_transform') ? parseResponseTransform(args.response_transform) : undefined;
  validateTransforms(request, response);
}

export interface CreateEventTrigger {
  source: string;
  table: QualifiedTable;
  replace: boolean;
  conf: EventTriggerConf;
}

/** `CreateEventTriggerQuery` FromJSON, refusals and messages included. */
export function parseCreateEventTrigger(args: Record<string, unknown>): CreateEventTrigger {
  const name = args.name;
  if (typeof name !== 'string') throw parseFailed('key "name" not found');
  const table = parseTableName(args.table);
  if (!table) throw parseFailed('key "table" not found');
  if (!legalName.test(name)) throw parseFailed('only alphanumeric and underscore and hyphens allowed for name');
  if (name.length > MAX_TRIGGER_NAME) throw parseFailed(`event trigger name can be at most ${MAX_TRIGGER_NAME} characters`);
  const insert = parseOpSpec(args.insert, '$.args.insert');
  const update = parseOpSpec(args.update, '$.args.update');
  const del = parseOpSpec(args.delete, '$.args.delete');
  const enableManual = args.enable_manual === true;
  if (!insert && !update && !del && !enableManual) throw parseFailed('atleast one amongst insert/update/delete/enable_manual spec must be provided');
  const webhook = args.webhook;
  const fromEnv = args.webhook_from_env;
  const hasHook = webhook !== undefined && webhook !== null;
  const hasEnv = fromEnv !== undefined && fromEnv !== null;
  if (hasHook && hasEnv) throw parseFailed('only one of webhook or webhook_from_env should be given');
  if (!hasHook && !hasEnv) throw parseFailed('must provide webhook or webhook_from_env');
  if (hasHook && typeof webhook !== 'string') throw parseFailed('expected a String', '$.args.webhook');
  if (hasEnv && typeof fromEnv !== 'string') throw parseFailed('expected a String', '$.args.webhook_from_env');

  const definition: EventTriggerConf['definition'] = { enable_manual: enableManual };
  if (insert) definition.insert = insert;
  if (update) definition.update = update;
  if (del) definition.delete = del;
  const conf: EventTriggerConf = { name, definition, retry_conf: parseRetryConf(args.retry_conf) };
  if (hasHook) conf.webhook = webhook as string;
  if (hasEnv) conf.webhook_from_env = fromEnv as string;
  const headers = parseHeaders(args.headers);
  if (headers) conf.headers = headers;
  if (args.cleanup_config !== undefined && args.cleanup_config !== null) checkCleanupConfig(args.cleanup_config);
  checkTransforms(args);
  for (const k of ['request_transform', 'response_transform', 'cleanup_config'] as const) {
    if (args[k] !== undefined && args[k] !== null) conf[k] = args[k];
  }
  if (typeof args.trigger_on_replication === 'boolean') conf.trigger_on_replication = args.trigger_on_replication;
  return { source: typeof args.source === 'string' ? args.source : 'default', table, replace: args.replace === true, conf };
}

/** The triggers of a table entry (the metadata may come from files: loosely typed). */
export function tableTriggers(t: TableMetadata): EventTriggerConf[] {
  const list = t.event_triggers;
  return Array.isArray(list) ? (list as EventTriggerConf[]) : [];
}

export interface LocatedTrigger {
  source: MetadataSource;
  table: TableMetadata;
  conf: EventTriggerConf;
}

/** Every event trigger of the metadata, with its table. */
export function allTriggers(m: Metadata): LocatedTrigger[] {
  const out: LocatedTrigger[] = [];
  for (const source of m.sources) for (const table of source.tables) for (const conf of tableTriggers(table)) out.push({ source, table, conf });
  return out;
}

export function findTrigger(m: Metadata, name: string, sourceName = 'default'): LocatedTrigger | undefined {
  return allTriggers(m).find((t) => t.conf.name === name && t.source.name === sourceName);
}

/** The SQL operations a trigger listens to. */
export function triggerOps(conf: EventTriggerConf): Array<{ op: Op; spec: OpSpec }> {
  const d = conf.definition ?? { enable_manual: false };
  const out: Array<{ op: Op; spec: OpSpec }> = [];
  if (d.insert) out.push({ op: 'INSERT', spec: d.insert });
  if (d.update) out.push({ op: 'UPDATE', spec: d.update });
  if (d.delete) out.push({ op: 'DELETE', spec: d.delete });
  return out;
}

/** `notify_hasura_<name>_<OP>` (Postgres/DDL/EventTrigger.hs `pgTriggerName`): function and trigger share it. */
export const sqlTriggerName = (name: string, op: Op | 'MANUAL') => `notify_hasura_${name}_${op}`;

/** Hasura's export order of an event trigger's keys. */
export function orderTrigger(conf: EventTriggerConf): EventTriggerConf {
  const keys = ['name', 'definition', 'retry_conf', 'webhook', 'webhook_from_env', 'headers', 'request_transform', 'response_transform', 'cleanup_config', 'trigger_on_replication'];
  const out: Record<string, unknown> = {};
  for (const k of [...keys, ...Object.keys(conf).filter((k) => !keys.includes(k))]) {
    const v = (conf as unknown as Record<string, unknown>)[k];
    if (v !== undefined) out[k] = v;
  }
  return out as unknown as EventTriggerConf;
}

/**
 * The columns a trigger depends on (RQL/DDL/EventTrigger.hs `getTrigDefDeps`): those an explicit
 * `columns` or `payload` list of an operation names; `'*'` depends on none. Dropping one is a
 * dependency-error unless cascaded, which drops the trigger (test_events.py TestEventSelCols /
 * TestEventSelPayload `_dep` tests).
 */
export function triggerColumnDeps(conf: EventTriggerConf): Set<string> {
  const out = new Set<string>();
  for (const { spec } of triggerOps(conf)) {
    for (const cols of [spec.columns, spec.payload]) if (Array.isArray(cols)) for (const c of cols) out.add(c);
  }
  return out;
}

/** A renamed column, renamed in the trigger's lists too (Schema/Rename.hs `updateColInEventTriggerDef`). */
export function renameColumnInTrigger(conf: EventTriggerConf, from: string, to: string): void {
  for (const { spec } of triggerOps(conf)) {
    if (Array.isArray(spec.columns)) spec.columns = spec.columns.map((c) => (c === from ? to : c));
    if (Array.isArray(spec.payload)) spec.payload = spec.payload.map((c) => (c === from ? to : c));
  }
}

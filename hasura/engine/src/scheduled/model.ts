/**
 * Cron triggers and one-off scheduled events as Hasura's metadata API spells them
 * (docs/docs/api-reference/metadata-api/scheduled-triggers.mdx; upstream RQL/Types/
 * ScheduledTrigger.hs `CronTriggerMetadata`, `CreateScheduledEvent`, `STRetryConf`).
 * Schedules are parsed by cron-parser (five fields, UTC, as Hasura's `croniter` reading).
 */
import { CronExpressionParser } from 'cron-parser';
import type { Metadata } from '../contract.ts';
import { badRequest } from '../errors.ts';
import { checkTransforms, parseHeaders, type HeaderConf } from '../events/model.ts';

export interface STRetryConf {
  num_retries: number;
  retry_interval_seconds: number;
  timeout_seconds: number;
  tolerance_seconds: number;
}

/** `defaultSTRetryConf`: no retries, 10 s apart, 60 s timeout, 6 h tolerance. */
export const DEFAULT_ST_RETRY: STRetryConf = { num_retries: 0, retry_interval_seconds: 10, timeout_seconds: 60, tolerance_seconds: 21600 };

export interface CronTrigger {
  name: string;
  webhook: string;
  schedule: string;
  include_in_metadata: boolean;
  payload?: unknown;
  retry_conf?: STRetryConf;
  headers?: HeaderConf[];
  comment?: string;
  request_transform?: unknown;
  response_transform?: unknown;
}

const parseFailed = (message: string, path = '$.args') => badRequest('parse-failed', message, path);

export function parseSTRetryConf(v: unknown, path = '$.args.retry_conf'): STRetryConf {
  if (v === undefined || v === null) return { ...DEFAULT_ST_RETRY };
  if (typeof v !== 'object' || Array.isArray(v)) throw parseFailed('expected an object', path);
  const o = v as Record<string, unknown>;
  const out = { ...DEFAULT_ST_RETRY };
  for (const k of Object.keys(DEFAULT_ST_RETRY) as Array<keyof STRetryConf>) {
    const x = o[k];
    if (x === undefined || x === null) continue;
    if (typeof x !== 'number' || !Number.isFinite(x) || x < 0) throw parseFailed('expected a non-negative number', `${path}.${k}`);
    // Upstream refines these (NonNegative / Positive); timeout_seconds must be above zero.
    if (k === 'timeout_seconds' && x === 0) throw parseFailed('timeout_seconds must be positive', `${path}.${k}`);
    out[k] = x;
  }
  return out;
}

/** Validates a five-field cron schedule; Hasura refuses anything croniter cannot read. */
export function checkSchedule(schedule: unknown, path = '$.args.schedule'): string {
  if (typeof schedule !== 'string') throw parseFailed('key "schedule" not found', path);
  if (schedule.trim().split(/\s+/).length !== 5) throw parseFailed(`invalid cron expression: "${schedule}" (five fields expected)`, path);
  try {
    CronExpressionParser.parse(schedule, { tz: 'UTC' });
  } catch (err) {
    throw parseFailed(`invalid cron expression: ${(err as Error).message}`, path);
  }
  return schedule;
}

/** The next `count` times of `schedule` strictly after `from` (UTC). */
export function nextTimes(schedule: string, from: Date, count: number): Date[] {
  const it = CronExpressionParser.parse(schedule, { tz: 'UTC', currentDate: from });
  const out: Date[] = [];
  for (let i = 0; i < count; i++) out.push(it.next().toDate());
  return out;
}

export function parseCreateCronTrigger(args: Record<string, unknown>): { conf: CronTrigger; replace: boolean } {
  if (typeof args.name !== 'string' || args.name === '') throw parseFailed('key "name" not found');
  if (typeof args.webhook !== 'string') throw parseFailed('key "webhook" not found');
  if (typeof args.include_in_metadata !== 'boolean') throw parseFailed('key "include_in_metadata" not found');
  const conf: CronTrigger = {
    name: args.name,
    webhook: args.webhook,
    schedule: checkSchedule(args.schedule),
    include_in_metadata: args.include_in_metadata,
  };
  if (args.payload !== undefined) conf.payload = args.payload;
  conf.retry_conf = parseSTRetryConf(args.retry_conf);
  conf.headers = parseHeaders(args.headers) ?? [];
  if (typeof args.comment === 'string') conf.comment = args.comment;
  checkTransforms(args);
  if (args.request_transform !== undefined) conf.request_transform = args.request_transform;
  if (args.response_transform !== undefined) conf.response_transform = args.response_transform;
  return { conf, replace: args.replace === true };
}

export function cronTriggers(m: Metadata): CronTrigger[] {
  return Array.isArray(m.cron_triggers) ? (m.cron_triggers as CronTrigger[]) : [];
}

/**
 * export_metadata's cron_triggers (upstream Metadata.hs `cronTriggersToOrdJSON`): only those with
 * include_in_metadata, each without its retry_conf when that is the default, without headers when
 * there are none. Mutates the (cloned) metadata given.
 */
export function exportCronTriggers(m: Metadata): Metadata {
  const kept = cronTriggers(m)
    .filter((c) => c.include_in_metadata !== false)
    .map((c) => {
      const out: CronTrigger = { ...c };
      const retry = { ...DEFAULT_ST_RETRY, ...c.retry_conf };
      if ((Object.keys(DEFAULT_ST_RETRY) as Array<keyof STRetryConf>).every((k) => retry[k] === DEFAULT_ST_RETRY[k])) delete out.retry_conf;
      if (!out.headers?.length) delete out.headers;
      return out;
    });
  if (kept.length) m.cron_triggers = kept;
  else delete m.cron_triggers;
  return m;
}

/**
 * replace_metadata keeps the cron triggers created with include_in_metadata false, which an
 * export leaves out, unless the new metadata defines one of the same name (runReplaceMetadataV2).
 */
export function keepUnexportedCronTriggers(old: Metadata, next: Metadata): void {
  const names = new Set(cronTriggers(next).map((c) => c.name));
  const hidden = cronTriggers(old).filter((c) => c.include_in_metadata === false && !names.has(c.name));
  if (hidden.length) next.cron_triggers = [...cronTriggers(next), ...hidden];
}

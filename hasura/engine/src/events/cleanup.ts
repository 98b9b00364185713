/**
 * Automatic cleanup of old event logs, per trigger, as Hasura's `cleanup_config` does it
 * (docs/docs/event-triggers/clean-up/auto-cleanup.mdx; upstream Backends/Postgres/DDL/
 * EventTrigger.hs `addCleanupSchedules`, `getCleanupEventsForDeletionTx`,
 * `deleteEventTriggerLogsTx`):
 *
 *   cleanup_config: { schedule: <cron>, clear_older_than: <hours>, batch_size: 10000,
 *                     timeout: 60, clean_invocation_logs: false, paused: false }
 *
 * - Up to 5 upcoming runs per trigger are kept in `hdb_catalog.hdb_event_log_cleanups`
 *   (UNIQUE (trigger_name, scheduled_at): replicas adding the same run add it once).
 * - A due run is taken by exactly one replica (`status 'scheduled' → 'completed'` in one UPDATE);
 *   older due runs of the same trigger are marked `dead`, as upstream does.
 * - It deletes, batch by batch until none are left or `timeout` seconds passed, the trigger's
 *   delivered or failed events older than clear_older_than hours (never a locked one), and their
 *   invocation logs when clean_invocation_logs; the counts are written on the run's row.
 * Times in the table are UTC (`now() at time zone 'utc'` upstream).
 */
import type pg from 'pg';
import { run, sql, value, type Queryable } from '../sql/sql.ts';
import { nextTimes } from '../scheduled/model.ts';
import type { EventTriggerConf } from './model.ts';

export interface CleanupConfig {
  schedule: string;
  clear_older_than: number;
  batch_size: number;
  timeout: number;
  clean_invocation_logs: boolean;
  paused: boolean;
}

/** AutoTriggerLogCleanupConfig's defaults. */
export function cleanupConfig(conf: EventTriggerConf): CleanupConfig | undefined {
  const c = conf.cleanup_config as Partial<CleanupConfig> | undefined;
  if (!c || typeof c !== 'object' || typeof c.schedule !== 'string' || typeof c.clear_older_than !== 'number') return undefined;
  return {
    schedule: c.schedule,
    clear_older_than: c.clear_older_than,
    batch_size: typeof c.batch_size === 'number' && c.batch_size > 0 ? c.batch_size : 10_000,
    timeout: typeof c.timeout === 'number' && c.timeout > 0 ? c.timeout : 60,
    clean_invocation_logs: c.clean_invocation_logs === true,
    paused: c.paused === true,
  };
}

const AHEAD = 5;

export interface CleanupResult {
  trigger: string;
  deletedEvents: number;
  deletedInvocations: number;
}

/** One cleaner round: schedule ahead, then run what is due. */
export async function runCleanups(pool: pg.Pool, triggers: EventTriggerConf[], now: Date): Promise<CleanupResult[]> {
  const configured = triggers.map((t) => ({ name: t.name, c: cleanupConfig(t) })).filter((x): x is { name: string; c: CleanupConfig } => !!x.c && !x.c.paused);
  if (configured.length === 0) return [];
  const names = configured.map((x) => x.name);
  const { rows: last } = await run<{ trigger_name: string; n: number; last_ms: number | null }>(pool, sql`
    SELECT t.trigger_name, count(l.id)::int AS n, (extract(epoch FROM max(l.scheduled_at) AT TIME ZONE 'UTC') * 1000)::float8 AS last_ms
      FROM unnest(${value(names)}::text[]) AS t(trigger_name)
      LEFT JOIN hdb_catalog.hdb_event_log_cleanups l ON l.trigger_name = t.trigger_name AND l.status = 'scheduled'
     GROUP BY t.trigger_name`);
  const addNames: string[] = [];
  const addTimes: Date[] = [];
  for (const r of last) {
    if (r.n >= AHEAD) continue;
    const c = configured.find((x) => x.name === r.trigger_name)!.c;
    for (const at of nextTimes(c.schedule, new Date(r.last_ms ?? now.getTime()), AHEAD - r.n)) {
      addNames.push(r.trigger_name);
      addTimes.push(at);
    }
  }
  if (addNames.length) {
    await run(pool, sql`INSERT INTO hdb_catalog.hdb_event_log_cleanups (trigger_name, scheduled_at, status)
      SELECT n, t AT TIME ZONE 'UTC', 'scheduled' FROM unnest(${value(addNames)}::text[], ${value(addTimes)}::timestamptz[]) AS x(n, t)
      ON CONFLICT (trigger_name, scheduled_at) DO NOTHING`);
  }
  // The latest due run per trigger is taken (by one replica); earlier due ones are dead.
  const nowUtc = sql`(${value(now)}::timestamptz AT TIME ZONE 'UTC')`;
  await run(pool, sql`
    UPDATE hdb_catalog.hdb_event_log_cleanups l SET status = 'dead'
      FROM (SELECT trigger_name, max(scheduled_at) AS latest FROM hdb_catalog.hdb_event_log_cleanups
             WHERE status = 'scheduled' AND scheduled_at < ${nowUtc} GROUP BY trigger_name) g
     WHERE l.trigger_name = g.trigger_name AND l.status = 'scheduled' AND l.scheduled_at < g.latest`);
  const { rows: due } = await run<{ id: string; trigger_name: string }>(pool, sql`
    UPDATE hdb_catalog.hdb_event_log_cleanups SET status = 'completed'
     WHERE id IN (SELECT id FROM hdb_catalog.hdb_event_log_cleanups
                   WHERE status = 'scheduled' AND scheduled_at < ${nowUtc} AND trigger_name = ANY(${value(names)}::text[])
                   FOR UPDATE SKIP LOCKED)
    RETURNING id, trigger_name`);
  const out: CleanupResult[] = [];
  for (const d of due) {
    const c = configured.find((x) => x.name === d.trigger_name)!.c;
    const res = await deleteOldLogs(pool, d.trigger_name, c, now);
    await run(pool, sql`UPDATE hdb_catalog.hdb_event_log_cleanups
      SET deleted_event_logs = ${value(res.deletedEvents)}, deleted_event_invocation_logs = ${value(res.deletedInvocations)} WHERE id = ${value(d.id)}`);
    out.push(res);
  }
  return out;
}

/**
 * Deletes a trigger's processed events older than clear_older_than hours, batch by batch
 * (deleteEventTriggerLogsTx); also what cleanup_event_trigger_logs runs on demand.
 */
export async function deleteOldLogs(pool: Queryable, trigger: string, c: Omit<CleanupConfig, 'schedule' | 'paused'>, now: Date): Promise<CleanupResult> {
  const deadline = Date.now() + c.timeout * 1000;
  const result: CleanupResult = { trigger, deletedEvents: 0, deletedInvocations: 0 };
  for (;;) {
    const { rows } = await run<{ events: number; invocations: number }>(pool, sql`
      WITH picked AS (
        SELECT id FROM hdb_catalog.event_log
         WHERE (delivered OR error) AND trigger_name = ${value(trigger)} AND locked IS NULL
           AND created_at < ${value(now)}::timestamptz - make_interval(hours => ${value(c.clear_older_than)})
         LIMIT ${value(c.batch_size)}
         FOR UPDATE SKIP LOCKED),
      inv AS (
        DELETE FROM hdb_catalog.event_invocation_logs WHERE ${value(c.clean_invocation_logs)} AND event_id IN (SELECT id FROM picked) RETURNING 1),
      ev AS (
        DELETE FROM hdb_catalog.event_log WHERE id IN (SELECT id FROM picked) RETURNING 1)
      SELECT (SELECT count(*) FROM ev)::int AS events, (SELECT count(*) FROM inv)::int AS invocations`);
    const r = rows[0] ?? { events: 0, invocations: 0 };
    result.deletedEvents += r.events;
    result.deletedInvocations += r.invocations;
    if (r.events < c.batch_size || Date.now() > deadline) return result;
  }
}

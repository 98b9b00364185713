import type { Pool } from '@linkport/common';
import type { EventStore } from '../store.ts';
import type { Job } from './scheduler.ts';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const BATCH = 5_000;

export interface JobSettings {
  refreshTokenGraceDays: number;
  auditRetentionDays: number;
  uploadSessionGraceDays: number;
  webhookLogRetentionDays: number;
  /** How often link.clicked windows close (EVENTS_CLICK_BATCH_MS); the scheduler tick bounds it below. */
  clickWindowMs?: number;
  onDrift?: (drift: number) => void;
}

/** Deletes in bounded batches until a batch comes back short: no long lock, and a rerun is a no-op. */
async function drain(step: () => Promise<number>): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await step();
    total += n;
    if (n < BATCH) return total;
  }
}

export function platformJobs(pool: Pool, store: EventStore, s: JobSettings): Job[] {
  const fn = (name: string, olderThan: Date) => async () => {
    const { rows } = await pool.query<{ n: number }>(`SELECT webhooks.${name}($1, $2) AS n`, [olderThan, BATCH]);
    return rows[0]?.n ?? 0;
  };
  return [
    {
      // link.clicked / link.limit_reached from the click counters' watermarks (store.pollClicks):
      // one message per link per window, told once (the watermark moves with the message).
      name: 'link_clicked',
      everyMs: s.clickWindowMs ?? 60_000,
      run: async (now) => {
        let links = 0;
        for (;;) {
          const n = await store.pollClicks(now, 1000);
          links += n;
          if (n < 1000) return { links };
        }
      },
    },
    {
      name: 'refresh_tokens_purge',
      everyMs: HOUR,
      // Kept a grace period past expiry: reuse detection (core) still recognises a recently expired token.
      run: async (now) => ({ deleted: await drain(fn('purge_expired_refresh_tokens', new Date(now.getTime() - s.refreshTokenGraceDays * DAY))) }),
    },
    {
      name: 'upload_sessions_purge',
      everyMs: HOUR,
      run: async (now) => ({ deleted: await drain(fn('purge_upload_sessions', new Date(now.getTime() - s.uploadSessionGraceDays * DAY))) }),
    },
    {
      name: 'audit_events_purge',
      everyMs: DAY,
      run: async (now) => ({ deleted: await drain(fn('purge_audit_events', new Date(now.getTime() - s.auditRetentionDays * DAY))) }),
    },
    {
      name: 'rollup_reconcile',
      everyMs: DAY,
      // Yesterday (UTC), complete by now: the daily 'total' rollups against the raw non-bot clicks.
      run: async (now) => {
        const day = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - 1));
        const next = new Date(day.getTime() + DAY);
        const { rows } = await pool.query<{ rollup: string; raw: string }>(
          `SELECT (SELECT coalesce(sum(clicks), 0) FROM links.daily_stats WHERE day = $1::date AND dimension = 'total')::text AS rollup,
                  (SELECT count(*) FROM links.clicks WHERE clicked_at >= $1 AND clicked_at < $2 AND NOT is_bot)::text AS raw`,
          [day, next],
        );
        const rollup = Number(rows[0]?.rollup ?? 0);
        const raw = Number(rows[0]?.raw ?? 0);
        s.onDrift?.(rollup - raw);
        return { day: day.toISOString().slice(0, 10), rollup, raw, drift: rollup - raw };
      },
    },
    {
      name: 'stale_delivery_recovery',
      everyMs: 60_000,
      run: async (now) => ({ recovered: await store.recoverStale(now) }),
    },
    {
      name: 'webhook_log_purge',
      everyMs: DAY,
      // Finished messages past retention, with their deliveries, attempts and dead letters (cascade).
      run: async (now) => {
        const before = new Date(now.getTime() - s.webhookLogRetentionDays * DAY);
        const deleted = await drain(async () => {
          const r = await pool.query(
            `DELETE FROM webhooks.messages WHERE id IN (
               SELECT m.id FROM webhooks.messages m WHERE m.created_at < $1
                  AND NOT EXISTS (SELECT 1 FROM webhooks.deliveries d WHERE d.message_id = m.id AND d.status IN ('pending', 'delivering'))
                LIMIT $2)`,
            [before, BATCH],
          );
          return r.rowCount ?? 0;
        });
        return { deleted };
      },
    },
  ];
}

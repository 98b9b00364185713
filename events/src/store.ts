import { randomUUID } from 'node:crypto';
import type { Pool, PoolClient } from '@linkport/common';
import { linkFields, type ClickEvent, type PreviewJob, type UserEvent } from './hasura/map.ts';

/**
 * Every SQL statement of the events process (docs/style.md §4), parameterised. Times come from the
 * injected clock as parameters, never from now(), so tests move time by hours without waiting.
 */

export interface ClaimedDelivery {
  id: string;
  attempts: number;
  endpoint_id: string;
  owner_id: string;
  event_type: string;
  url: string;
  secret: string;
  previous_secret: string | null;
  message_id: string;
  body: string;
}

export interface AttemptRecord {
  startedAt: Date;
  durationMs: number;
  status?: number;
  error?: string;
  body?: string;
}

export const newMessageId = (): string => `msg_${randomUUID().replaceAll('-', '')}`;

async function tx<T>(pool: Pool, fn: (c: PoolClient) => Promise<T>): Promise<T> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    const out = await fn(c);
    await c.query('COMMIT');
    return out;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    c.release();
  }
}

/** The message body users receive (Standard Webhooks' recommended shape: type, timestamp, data). */
function messageBody(type: string, at: Date, data: Record<string, unknown>): Record<string, unknown> {
  return { type, timestamp: at.toISOString(), data };
}

// One statement per message: stored only when an enabled endpoint of the owner subscribes to the
// type, once per source key (a redelivered Hasura event inserts nothing), with one delivery per
// subscribed endpoint.
const INGEST = `
WITH eps AS (
  SELECT id FROM webhooks.endpoints
   WHERE owner_id = $2 AND enabled AND (event_types = '{}' OR $3 = ANY (event_types))),
msg AS (
  INSERT INTO webhooks.messages (id, owner_id, event_type, payload, source_key, created_at)
  SELECT $1, $2, $3, $4, $5, $6 WHERE EXISTS (SELECT 1 FROM eps)
  ON CONFLICT (source_key) DO NOTHING
  RETURNING id)
INSERT INTO webhooks.deliveries (message_id, endpoint_id, owner_id, event_type, next_attempt_at, created_at, updated_at)
SELECT msg.id, eps.id, $2, $3, $6, $6, $6 FROM msg, eps`;

async function ingestOne(c: PoolClient, e: UserEvent, now: Date): Promise<number> {
  const r = await c.query(INGEST, [newMessageId(), e.ownerId, e.type, JSON.stringify(messageBody(e.type, now, e.data)), e.sourceKey, now]);
  return r.rowCount ?? 0;
}

// A click joins its link's open batch, only for owners with an endpoint that wants link.clicked.
const ADD_CLICK = `
INSERT INTO webhooks.click_batches (link_id, owner_id, code, clicks, first_at, last_at)
SELECT l.id, l.owner_id, l.code, $3, $2, $2 FROM links.links l
 WHERE l.id = $1 AND EXISTS (
   SELECT 1 FROM webhooks.endpoints e
    WHERE e.owner_id = l.owner_id AND e.enabled AND (e.event_types = '{}' OR 'link.clicked' = ANY (e.event_types)))
ON CONFLICT (link_id) DO UPDATE
  SET clicks = webhooks.click_batches.clicks + EXCLUDED.clicks,
      first_at = LEAST(webhooks.click_batches.first_at, EXCLUDED.first_at),
      last_at = GREATEST(webhooks.click_batches.last_at, EXCLUDED.last_at)`;

export class EventStore {
  constructor(private readonly pool: Pool) {}

  /** Stores the events of one Hasura delivery in one transaction; returns deliveries created. */
  async ingest(events: UserEvent[], clicks: ClickEvent[], now: Date, previews: PreviewJob[] = []): Promise<number> {
    if (events.length === 0 && clicks.length === 0 && previews.length === 0) return 0;
    return tx(this.pool, async (c) => {
      let deliveries = 0;
      for (const e of events) deliveries += await ingestOne(c, e, now);
      for (const k of clicks) await c.query(ADD_CLICK, [k.linkId, k.clickedAt, k.count]);
      // A newer destination replaces a pending job (and its attempt budget); a link deleted since
      // the event inserts nothing.
      for (const p of previews) {
        await c.query(
          `INSERT INTO webhooks.preview_jobs (link_id, destination, next_attempt_at)
           SELECT l.id, $2, $3 FROM links.links l WHERE l.id = $1
           ON CONFLICT (link_id) DO UPDATE SET destination = EXCLUDED.destination, attempts = 0,
             next_attempt_at = EXCLUDED.next_attempt_at, locked_until = NULL, last_error = NULL`,
          [p.linkId, p.destination, now],
        );
      }
      return deliveries;
    });
  }

  /** Claims due preview jobs with a lease (a crashed fetch is taken again after it). */
  async claimPreviews(now: Date, limit: number, leaseMs: number): Promise<Array<{ link_id: string; destination: string; attempts: number }>> {
    const { rows } = await this.pool.query<{ link_id: string; destination: string; attempts: number }>(
      `WITH due AS (
         SELECT link_id FROM webhooks.preview_jobs
          WHERE next_attempt_at <= $1 AND (locked_until IS NULL OR locked_until < $1)
          ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED)
       UPDATE webhooks.preview_jobs j SET locked_until = $3, attempts = j.attempts + 1
         FROM due WHERE j.link_id = due.link_id
       RETURNING j.link_id, j.destination, j.attempts`,
      [now, limit, new Date(now.getTime() + leaseMs)],
    );
    return rows;
  }

  /**
   * The link's owner when it still points at `destination` and has no image: the one case a
   * preview image is worth fetching and storing (checked before, so no asset is made for nothing).
   */
  async previewImageOwner(linkId: string, destination: string): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ owner_id: string }>(
      `SELECT owner_id FROM links.links WHERE id = $1 AND destination = $2 AND image_asset_id IS NULL`,
      [linkId, destination],
    );
    return rows[0]?.owner_id;
  }

  /**
   * Fills what the owner left empty — only while the link still points where the page was fetched
   * from — and ends the job (not a newer one for another destination). Returns the link updated or
   * not. An image asset is set only where there is none (links.check_image_asset, migration
   * 1763700000400, checks it is a ready asset of the link's owner).
   */
  async finishPreview(linkId: string, destination: string, found: { title?: string; description?: string; imageAssetId?: string }): Promise<boolean> {
    return tx(this.pool, async (c) => {
      const r = await c.query(
        `UPDATE links.links
            SET title = CASE WHEN COALESCE(title, '') = '' AND $3::text IS NOT NULL THEN $3 ELSE title END,
                description = CASE WHEN COALESCE(description, '') = '' AND $4::text IS NOT NULL THEN $4 ELSE description END,
                image_asset_id = CASE WHEN image_asset_id IS NULL AND $5::uuid IS NOT NULL THEN $5::uuid ELSE image_asset_id END
          WHERE id = $1 AND destination = $2
            AND ((COALESCE(title, '') = '' AND $3::text IS NOT NULL) OR (COALESCE(description, '') = '' AND $4::text IS NOT NULL)
                 OR (image_asset_id IS NULL AND $5::uuid IS NOT NULL))`,
        [linkId, destination, found.title ?? null, found.description ?? null, found.imageAssetId ?? null],
      );
      await c.query(`DELETE FROM webhooks.preview_jobs WHERE link_id = $1 AND destination = $2`, [linkId, destination]);
      return (r.rowCount ?? 0) > 0;
    });
  }

  /** A failed fetch: retried later, or given up after `maxAttempts` (the link keeps what it has). */
  async failPreview(linkId: string, destination: string, error: string, retryAt: Date | undefined): Promise<void> {
    if (!retryAt) {
      await this.pool.query(`DELETE FROM webhooks.preview_jobs WHERE link_id = $1 AND destination = $2`, [linkId, destination]);
      return;
    }
    await this.pool.query(
      `UPDATE webhooks.preview_jobs SET locked_until = NULL, next_attempt_at = $3, last_error = $4 WHERE link_id = $1 AND destination = $2`,
      [linkId, destination, retryAt, error.slice(0, 500)],
    );
  }

  /** Closes click batches older than the window into link.clicked messages; returns messages made. */
  async flushClickBatches(now: Date, windowMs: number, limit = 500): Promise<number> {
    return tx(this.pool, async (c) => {
      const { rows } = await c.query<{ link_id: string; owner_id: string; code: string; clicks: string; first_at: Date; last_at: Date }>(
        `DELETE FROM webhooks.click_batches WHERE link_id IN (
           SELECT link_id FROM webhooks.click_batches WHERE first_at <= $1 ORDER BY first_at LIMIT $2 FOR UPDATE SKIP LOCKED)
         RETURNING link_id, owner_id, code, clicks, first_at, last_at`,
        [new Date(now.getTime() - windowMs), limit],
      );
      for (const b of rows) {
        await ingestOne(
          c,
          {
            type: 'link.clicked',
            ownerId: b.owner_id,
            sourceKey: `clicks:${b.link_id}:${b.first_at.toISOString()}`,
            data: { link: { id: b.link_id, code: b.code }, clicks: Number(b.clicks), from: b.first_at.toISOString(), to: b.last_at.toISOString() },
          },
          now,
        );
      }
      return rows.length;
    });
  }

  /**
   * link.clicked and link.limit_reached from the click counters (migration
   * 1764900001710_events_link_clicked_poll): for links of owners subscribed to either, whose
   * click_count passed their watermark, one message per link for the window (reported, click_count]
   * and the watermark moved — in one transaction, the move conditional on the watermark read, so a
   * window is told once even by two runs at once. click_count is exact (the click worker counts a
   * stream entry once), hence no double count on a worker replay; a message's retries keep its id.
   * Returns the links told about.
   */
  async pollClicks(now: Date, limit = 1000): Promise<number> {
    return tx(this.pool, async (c) => {
      const { rows } = await c.query<{ link: Record<string, unknown>; reported: string; reported_at: Date | null }>(
        `WITH subs AS (
           SELECT DISTINCT owner_id FROM webhooks.endpoints WHERE webhooks.subscribes_to_clicks(enabled, event_types)
         ), due AS (
           SELECT l.id, l.click_count, l.last_clicked_at, coalesce(w.reported, 0) AS reported, w.reported_at
             FROM links.links l JOIN subs ON subs.owner_id = l.owner_id
             LEFT JOIN webhooks.click_watermarks w ON w.link_id = l.id
            WHERE l.click_count > coalesce(w.reported, 0)
            ORDER BY l.id LIMIT $1
         ), moved AS (
           INSERT INTO webhooks.click_watermarks AS w (link_id, reported, reported_at)
           SELECT id, click_count, last_clicked_at FROM due ORDER BY id
           ON CONFLICT (link_id) DO UPDATE SET reported = EXCLUDED.reported, reported_at = EXCLUDED.reported_at
             WHERE w.reported = (SELECT d.reported FROM due d WHERE d.id = EXCLUDED.link_id)
           RETURNING link_id
         )
         SELECT to_jsonb(l) - 'password' AS link, due.reported::text AS reported, due.reported_at
           FROM due JOIN moved ON moved.link_id = due.id JOIN links.links l ON l.id = due.id`,
        [limit],
      );
      for (const r of rows) {
        const link = r.link;
        const id = String(link.id);
        const ownerId = String(link.owner_id);
        const before = Number(r.reported);
        const after = Number(link.click_count);
        await ingestOne(
          c,
          {
            type: 'link.clicked',
            ownerId,
            sourceKey: `clicked:${id}:${before}`,
            data: { link: { id, code: link.code }, clicks: after - before, from: r.reported_at ? new Date(r.reported_at).toISOString() : null, to: link.last_clicked_at ?? null },
          },
          now,
        );
        const max = typeof link.max_clicks === 'number' ? link.max_clicks : undefined;
        if (max !== undefined && before < max && after >= max) {
          await ingestOne(
            c,
            { type: 'link.limit_reached', ownerId, sourceKey: `limit:${id}:${before}`, data: { link: linkFields(link), max_clicks: max, click_count: after } },
            now,
          );
        }
      }
      return rows.length;
    });
  }

  /**
   * Claims due deliveries: pending ones whose time has come and `delivering` ones whose lease ran
   * out (their process died mid-delivery). FOR UPDATE SKIP LOCKED: two replicas claiming at once
   * each get different rows, and the lease keeps them apart afterwards.
   */
  async claim(now: Date, limit: number, leaseMs: number, worker: string): Promise<ClaimedDelivery[]> {
    const { rows } = await this.pool.query<ClaimedDelivery>(
      `WITH due AS (
         SELECT d.id FROM webhooks.deliveries d JOIN webhooks.endpoints e ON e.id = d.endpoint_id
          WHERE e.enabled AND ((d.status = 'pending' AND d.next_attempt_at <= $1) OR (d.status = 'delivering' AND d.locked_until < $1))
          ORDER BY d.next_attempt_at LIMIT $2 FOR UPDATE OF d SKIP LOCKED)
       UPDATE webhooks.deliveries d
          SET status = 'delivering', attempts = d.attempts + 1, locked_until = $3, locked_by = $4
         FROM due, webhooks.endpoints e, webhooks.messages m
        WHERE d.id = due.id AND e.id = d.endpoint_id AND m.id = d.message_id
       RETURNING d.id, d.attempts, d.endpoint_id, d.owner_id, d.event_type, e.url, e.secret,
                 CASE WHEN e.previous_secret_expires_at > $1 THEN e.previous_secret END AS previous_secret,
                 m.id AS message_id, m.payload::text AS body`,
      [now, limit, new Date(now.getTime() + leaseMs), worker],
    );
    return rows;
  }

  /** Records a successful attempt; false when the lease was lost meanwhile (another worker owns it). */
  async succeeded(d: ClaimedDelivery, worker: string, a: AttemptRecord, now: Date): Promise<boolean> {
    return tx(this.pool, async (c) => {
      const r = await c.query(
        `UPDATE webhooks.deliveries SET status = 'succeeded', delivered_at = $4, locked_until = NULL, last_response_code = $5,
                last_error = NULL, last_duration_ms = $6
          WHERE id = $1 AND locked_by = $2 AND attempts = $3 AND status = 'delivering'`,
        [d.id, worker, d.attempts, now, a.status ?? null, a.durationMs],
      );
      await insertAttempt(c, d, a);
      await c.query(
        `UPDATE webhooks.endpoints SET consecutive_failures = 0, failing_since = NULL
          WHERE id = $1 AND (consecutive_failures <> 0 OR failing_since IS NOT NULL)`,
        [d.endpoint_id],
      );
      return (r.rowCount ?? 0) > 0;
    });
  }

  /**
   * Records a failed attempt: back to pending at `nextAt`, or dead (and dead-lettered) when the
   * attempts are spent; counts the failure on the endpoint and disables it after sustained failure,
   * telling the owner in webhooks.notifications. Returns what happened.
   */
  async failed(
    d: ClaimedDelivery,
    worker: string,
    a: AttemptRecord,
    now: Date,
    opts: { nextAt: Date; maxAttempts: number; disableAfterMs: number; disableMinFailures: number },
  ): Promise<{ dead: boolean; disabled: boolean; owned: boolean }> {
    return tx(this.pool, async (c) => {
      const dead = d.attempts >= opts.maxAttempts;
      const error = a.error ?? 'error';
      const r = await c.query(
        `UPDATE webhooks.deliveries SET status = $4, next_attempt_at = $5, locked_until = NULL, last_response_code = $6,
                last_error = $7, last_duration_ms = $8
          WHERE id = $1 AND locked_by = $2 AND attempts = $3 AND status = 'delivering'`,
        [d.id, worker, d.attempts, dead ? 'dead' : 'pending', opts.nextAt, a.status ?? null, error, a.durationMs],
      );
      const owned = (r.rowCount ?? 0) > 0;
      await insertAttempt(c, d, a);
      if (owned && dead) {
        await c.query(
          `INSERT INTO webhooks.dead_letters (delivery_id, endpoint_id, owner_id, message_id, event_type, attempts, last_error, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (delivery_id) DO UPDATE SET attempts = EXCLUDED.attempts, last_error = EXCLUDED.last_error, created_at = EXCLUDED.created_at`,
          [d.id, d.endpoint_id, d.owner_id, d.message_id, d.event_type, d.attempts, error, now],
        );
      }
      const { rows } = await c.query<{ enabled: boolean; consecutive_failures: number; failing_since: Date }>(
        `UPDATE webhooks.endpoints SET consecutive_failures = consecutive_failures + 1, failing_since = COALESCE(failing_since, $2)
          WHERE id = $1 RETURNING enabled, consecutive_failures, failing_since`,
        [d.endpoint_id, now],
      );
      const ep = rows[0];
      let disabled = false;
      if (ep?.enabled && ep.consecutive_failures >= opts.disableMinFailures && now.getTime() - ep.failing_since.getTime() >= opts.disableAfterMs) {
        const reason = `disabled after ${ep.consecutive_failures} consecutive failed deliveries since ${ep.failing_since.toISOString()} (last: ${error})`;
        const u = await c.query(`UPDATE webhooks.endpoints SET enabled = false, disabled_reason = $2 WHERE id = $1 AND enabled`, [d.endpoint_id, reason]);
        if ((u.rowCount ?? 0) > 0) {
          disabled = true;
          await c.query(
            `INSERT INTO webhooks.notifications (owner_id, endpoint_id, kind, message, created_at) VALUES ($1, $2, 'endpoint_disabled', $3, $4)`,
            [d.owner_id, d.endpoint_id, `Webhook endpoint ${d.url} was ${reason}. Fix it and enable it again.`, now],
          );
        }
      }
      return { dead: owned && dead, disabled, owned };
    });
  }

  /** Deliveries whose lease ran out go back to pending now (a killed process's claims). */
  async recoverStale(now: Date): Promise<number> {
    const r = await this.pool.query(
      `UPDATE webhooks.deliveries SET status = 'pending', next_attempt_at = $1, locked_until = NULL
        WHERE status = 'delivering' AND locked_until < $1`,
      [now],
    );
    return r.rowCount ?? 0;
  }

  /** Pending deliveries already due (a gauge: the backlog). */
  async dueCount(now: Date): Promise<number> {
    const { rows } = await this.pool.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM webhooks.deliveries WHERE status = 'pending' AND next_attempt_at <= $1`,
      [now],
    );
    return Number(rows[0]?.n ?? 0);
  }
}

async function insertAttempt(c: PoolClient, d: ClaimedDelivery, a: AttemptRecord): Promise<void> {
  await c.query(
    `INSERT INTO webhooks.attempts (delivery_id, endpoint_id, owner_id, attempt, started_at, duration_ms, response_code, error, response_body)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [d.id, d.endpoint_id, d.owner_id, d.attempts, a.startedAt, a.durationMs, a.status ?? null, a.error ?? null, a.body ?? null],
  );
}

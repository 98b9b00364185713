import type { Pool, PoolClient } from '@linkport/common';
import type { Visibility } from './policy.ts';

export type AssetStatus = 'pending' | 'ready' | 'failed' | 'quarantined' | 'expiring' | 'deleting' | 'deleted';

export interface AssetRow {
  id: string;
  owner_id: string;
  bucket: string;
  object_key: string;
  filename: string;
  content_type: string;
  size: number;
  visibility: Visibility;
  status: AssetStatus;
  checksum: string | null;
  etag: string | null;
  upload_expires_at: Date;
  completed_at: Date | null;
  /** When the stored object last matched what complete verified (integrity.ts). */
  verified_at: Date | null;
  /** What storage held when a ready asset was found changed (status `quarantined`). */
  quarantine: unknown;
  created_at: Date;
  /** `created_at` as Postgres text: keeps microseconds for an exact keyset cursor. */
  created_at_text: string;
  upload_id: string | null;
  part_size: number | null;
  part_count: number | null;
}

type Db = Pool | PoolClient;

const columns = `a.id, a.owner_id, a.bucket, a.object_key, a.filename, a.content_type, a.size::float8 AS size,
  a.visibility, a.status, a.checksum, a.etag, a.upload_expires_at, a.completed_at, a.verified_at, a.quarantine, a.created_at,
  a.created_at::text AS created_at_text, s.upload_id, s.part_size::float8 AS part_size, s.part_count`;
const from = 'media.assets a LEFT JOIN media.upload_sessions s ON s.asset_id = a.id';

/** Every asset query of the service, parameterised (docs/style.md §4). Sizes fit a double (< 2^53). */
export const assetsRepository = {
  /** Bytes counted against the quota: uploads in flight and stored files. */
  async usedBytes(db: Db, ownerId: string): Promise<number> {
    const { rows } = await db.query<{ used: number }>(
      "SELECT coalesce(sum(size), 0)::float8 AS used FROM media.assets WHERE owner_id = $1 AND status IN ('pending', 'ready')",
      [ownerId],
    );
    return rows[0]?.used ?? 0;
  },

  /**
   * Creates the asset (and, for multipart, its session) only if the owner's pending + ready bytes
   * plus this one stay within `quota`; undefined when they would not. One statement: the lock, the
   * sum and the inserts run in media.create_asset_within_quota (see the media migration for why it
   * is race-free).
   */
  async createWithinQuota(
    db: Db,
    a: {
      id: string;
      ownerId: string;
      bucket: string;
      key: string;
      filename: string;
      contentType: string;
      size: number;
      visibility: Visibility;
      checksum: string | null;
      pendingSeconds: number;
      quota: number;
      session?: { uploadId: string; partSize: number; partCount: number };
    },
  ): Promise<AssetRow | undefined> {
    const { rows } = await db.query<AssetRow>(
      `SELECT ${columns}
       FROM media.create_asset_within_quota($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) a
       LEFT JOIN media.upload_sessions s ON false`,
      [
        a.id,
        a.ownerId,
        a.bucket,
        a.key,
        a.filename,
        a.contentType,
        a.size,
        a.visibility,
        a.checksum,
        a.pendingSeconds,
        a.quota,
        a.session?.uploadId ?? null,
        a.session?.partSize ?? null,
        a.session?.partCount ?? null,
      ],
    );
    const row = rows[0];
    if (row && a.session) Object.assign(row, { upload_id: a.session.uploadId, part_size: a.session.partSize, part_count: a.session.partCount });
    return row;
  },

  async find(db: Db, id: string): Promise<AssetRow | undefined> {
    const { rows } = await db.query<AssetRow>(`SELECT ${columns} FROM ${from} WHERE a.id = $1`, [id]);
    return rows[0];
  },

  async list(
    db: Db,
    q: { ownerId: string; limit: number; status?: AssetStatus; type?: string; after?: { createdAt: string; id: string } },
  ): Promise<AssetRow[]> {
    const where = ['a.owner_id = $1', "a.status NOT IN ('deleted', 'deleting', 'expiring')"];
    const values: unknown[] = [q.ownerId];
    if (q.status) {
      values.push(q.status);
      where.push(`a.status = $${values.length}`);
    }
    if (q.type) {
      // `image` matches every image/*; `image/png` matches exactly.
      values.push(q.type.includes('/') ? q.type : `${q.type}/%`);
      where.push(q.type.includes('/') ? `a.content_type = $${values.length}` : `a.content_type LIKE $${values.length}`);
    }
    if (q.after) {
      values.push(q.after.createdAt, q.after.id);
      where.push(`(a.created_at, a.id) < ($${values.length - 1}::timestamptz, $${values.length}::uuid)`);
    }
    values.push(q.limit);
    const { rows } = await db.query<AssetRow>(
      `SELECT ${columns} FROM ${from} WHERE ${where.join(' AND ')} ORDER BY a.created_at DESC, a.id DESC LIMIT $${values.length}`,
      values,
    );
    return rows;
  },

  /**
   * Compare-and-set of the status: returns false when the row was not in `from` (another request or
   * the expiry job got there first). `requireUnexpired` uses clock_timestamp() so it excludes exactly
   * what the expiry job claims (`upload_expires_at < clock_timestamp()`).
   */
  async transition(
    db: Db,
    id: string,
    from: AssetStatus[],
    to: AssetStatus,
    extra: { etag?: string | null; requireUnexpired?: boolean } = {},
  ): Promise<boolean> {
    const { rowCount } = await db.query(
      `UPDATE media.assets SET status = $3,
         etag = CASE WHEN $4::boolean THEN $5 ELSE etag END,
         completed_at = CASE WHEN $3 = 'ready' THEN now() ELSE completed_at END,
         verified_at = CASE WHEN $3 = 'ready' THEN now() ELSE verified_at END,
         deleted_at = CASE WHEN $3 = 'deleted' THEN now() ELSE deleted_at END
       WHERE id = $1 AND status = ANY($2::text[]) AND (NOT $6::boolean OR upload_expires_at > clock_timestamp())`,
      [id, from, to, extra.etag !== undefined, extra.etag ?? null, extra.requireUnexpired ?? false],
    );
    return rowCount === 1;
  },

  /** The object still matched: pushes the asset to the back of the verifier's queue. */
  async markVerified(db: Db, id: string): Promise<void> {
    await db.query("UPDATE media.assets SET verified_at = now() WHERE id = $1 AND status = 'ready'", [id]);
  },

  /** ready → quarantined with what storage held; false when the row was no longer ready. */
  async quarantine(db: Db, id: string, detail: unknown): Promise<boolean> {
    const { rowCount } = await db.query("UPDATE media.assets SET status = 'quarantined', quarantine = $2::jsonb WHERE id = $1 AND status = 'ready'", [
      id,
      JSON.stringify(detail),
    ]);
    return rowCount === 1;
  },

  /** Ready assets not verified for `staleSeconds`, never-verified and stalest first. */
  async dueForVerification(db: Db, staleSeconds: number, limit: number): Promise<AssetRow[]> {
    const { rows } = await db.query<AssetRow>(
      `SELECT ${columns} FROM ${from}
       WHERE a.status = 'ready' AND (a.verified_at IS NULL OR a.verified_at < now() - make_interval(secs => $1))
       ORDER BY a.verified_at NULLS FIRST, a.id LIMIT $2`,
      [staleSeconds, limit],
    );
    return rows;
  },

  async deleteSession(db: Db, assetId: string): Promise<void> {
    await db.query('DELETE FROM media.upload_sessions WHERE asset_id = $1', [assetId]);
  },

  /** Claims stale pending uploads for removal (pending → expiring), at most `limit`. */
  async claimExpired(db: Db, limit: number): Promise<AssetRow[]> {
    const { rows } = await db.query<{ id: string }>(
      `UPDATE media.assets SET status = 'expiring'
       WHERE id IN (SELECT id FROM media.assets WHERE status = 'pending' AND upload_expires_at < clock_timestamp()
                    ORDER BY upload_expires_at LIMIT $1 FOR UPDATE SKIP LOCKED)
       RETURNING id`,
      [limit],
    );
    return assetsRepository.findMany(db, rows.map((r) => r.id));
  },

  /**
   * Rows whose storage cleanup was claimed but not finished (a crash or a storage error): retried
   * once they have been untouched for `graceSeconds`, so an in-flight request is not raced.
   */
  async unfinishedCleanups(db: Db, graceSeconds: number, limit: number): Promise<AssetRow[]> {
    const { rows } = await db.query<AssetRow>(
      `SELECT ${columns} FROM ${from} WHERE a.status IN ('expiring', 'deleting') AND a.updated_at < now() - make_interval(secs => $1)
       ORDER BY a.updated_at LIMIT $2`,
      [graceSeconds, limit],
    );
    return rows;
  },

  async findMany(db: Db, ids: string[]): Promise<AssetRow[]> {
    if (ids.length === 0) return [];
    const { rows } = await db.query<AssetRow>(`SELECT ${columns} FROM ${from} WHERE a.id = ANY($1::uuid[])`, [ids]);
    return rows;
  },

  async remove(db: Db, id: string): Promise<void> {
    await db.query('DELETE FROM media.assets WHERE id = $1', [id]);
  },

  /** Drops tombstones and failed rows (their objects are already gone) older than the TTL. */
  async purgeTombstones(db: Db, ttlSeconds: number): Promise<number> {
    const { rowCount } = await db.query(
      "DELETE FROM media.assets WHERE status IN ('deleted', 'failed') AND updated_at < now() - make_interval(secs => $1)",
      [ttlSeconds],
    );
    return rowCount ?? 0;
  },
};

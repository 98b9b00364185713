import type { Pool, PoolClient } from '@linkport/common';

type Db = Pool | PoolClient;

export interface RefreshTokenRow {
  id: string;
  user_id: string;
  family_id: string;
  expires_at: Date;
  used_at: Date | null;
  revoked_at: Date | null;
}

export async function insertRefreshToken(
  db: Db,
  t: { userId: string; familyId: string; hash: Buffer; parentId: string | null; expiresAt: Date; userAgent: string | null; ip: string | null },
): Promise<void> {
  await db.query(
    `INSERT INTO core.refresh_tokens (user_id, family_id, token_hash, parent_id, expires_at, user_agent, ip)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [t.userId, t.familyId, t.hash, t.parentId, t.expiresAt, t.userAgent?.slice(0, 500) ?? null, t.ip],
  );
}

/** Locks the row: two concurrent refreshes with one token serialise, and the second is a reuse. */
export async function findForUpdate(db: PoolClient, hash: Buffer): Promise<RefreshTokenRow | undefined> {
  const { rows } = await db.query<RefreshTokenRow>(
    'SELECT id, user_id, family_id, expires_at, used_at, revoked_at FROM core.refresh_tokens WHERE token_hash = $1 FOR UPDATE',
    [hash],
  );
  return rows[0];
}

export async function findByHash(db: Db, hash: Buffer): Promise<RefreshTokenRow | undefined> {
  const { rows } = await db.query<RefreshTokenRow>(
    'SELECT id, user_id, family_id, expires_at, used_at, revoked_at FROM core.refresh_tokens WHERE token_hash = $1',
    [hash],
  );
  return rows[0];
}

export async function markUsed(db: Db, id: string, at: Date): Promise<void> {
  await db.query('UPDATE core.refresh_tokens SET used_at = $2 WHERE id = $1', [id, at]);
}

/**
 * Revocations are announced on the PostgreSQL channel `linkport_revocations` (JSON
 * `{kind: 'session', sid} | {kind: 'user_sessions', user_id} | {kind: 'api_key', id, user_id}`), in
 * the statement that revokes, so a listener hears of it exactly when it commits. The GraphQL
 * engine listens and closes the WebSockets those credentials opened (hasura/engine
 * src/subscriptions/revocation.ts); HTTP verifiers keep checking PostgreSQL through their caches.
 */
export const REVOCATION_CHANNEL = 'linkport_revocations';

export async function revokeFamily(db: Db, familyId: string, at: Date): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `WITH r AS (UPDATE core.refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL RETURNING 1)
     SELECT count(*)::int AS n, pg_notify('${REVOCATION_CHANNEL}', json_build_object('kind', 'session', 'sid', $1::text)::text) FROM r`,
    [familyId, at],
  );
  return rows[0]?.n ?? 0;
}

export async function revokeAllForUser(db: Db, userId: string, at: Date): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `WITH r AS (UPDATE core.refresh_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL RETURNING 1)
     SELECT count(*)::int AS n, pg_notify('${REVOCATION_CHANNEL}', json_build_object('kind', 'user_sessions', 'user_id', $1::text)::text) FROM r`,
    [userId, at],
  );
  return rows[0]?.n ?? 0;
}

/**
 * Whether a session (refresh-token family, the access token's `sid`) has been revoked: logout,
 * logout-all, a password change and refresh-token reuse all set revoked_at on every live row of the
 * family, so one revoked row means the whole session is gone. Uses refresh_tokens_family_idx.
 */
export async function isFamilyRevoked(db: Db, familyId: string): Promise<boolean> {
  const { rows } = await db.query<{ revoked: boolean }>(
    'SELECT EXISTS (SELECT 1 FROM core.refresh_tokens WHERE family_id = $1 AND revoked_at IS NOT NULL) AS revoked',
    [familyId],
  );
  return rows[0]?.revoked === true;
}

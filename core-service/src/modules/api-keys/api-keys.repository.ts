import type { Pool } from '@linkport/common';

export interface ApiKeyRow {
  id: string;
  user_id: string;
  name: string;
  prefix: string;
  scopes: string[];
  expires_at: Date | null;
  last_used_at: Date | null;
  revoked_at: Date | null;
  created_at: Date;
}

const cols = 'id, user_id, name, prefix, scopes, expires_at, last_used_at, revoked_at, created_at';

export async function insertApiKey(
  db: Pool,
  k: { userId: string; name: string; prefix: string; hash: Buffer; scopes: string[]; expiresAt: Date | null },
): Promise<ApiKeyRow> {
  const { rows } = await db.query<ApiKeyRow>(
    `INSERT INTO core.api_keys (user_id, name, prefix, key_hash, scopes, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${cols}`,
    [k.userId, k.name, k.prefix, k.hash, k.scopes, k.expiresAt],
  );
  return rows[0]!;
}

export async function listForUser(db: Pool, userId: string): Promise<ApiKeyRow[]> {
  const { rows } = await db.query<ApiKeyRow>(
    `SELECT ${cols} FROM core.api_keys WHERE user_id = $1 AND revoked_at IS NULL ORDER BY created_at DESC, id`,
    [userId],
  );
  return rows;
}

/** Revokes only the owner's live key; returns its hash so the in-process cache can drop it. */
export async function revoke(db: Pool, userId: string, id: string, at: Date): Promise<{ hash: Buffer; name: string } | undefined> {
  // Announced on linkport_revocations with the revoke (auth.repository.ts REVOCATION_CHANNEL).
  const { rows } = await db.query<{ key_hash: Buffer; name: string }>(
    `WITH r AS (UPDATE core.api_keys SET revoked_at = $3
      WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL RETURNING key_hash, name)
     SELECT key_hash, name, pg_notify('linkport_revocations', json_build_object('kind', 'api_key', 'id', $1::text, 'user_id', $2::text)::text) FROM r`,
    [id, userId, at],
  );
  const r = rows[0];
  return r && { hash: r.key_hash, name: r.name };
}

export interface ApiKeyAuthRow {
  id: string;
  user_id: string;
  scopes: string[];
  expires_at: Date | null;
  revoked_at: Date | null;
}

export async function findByHash(db: Pool, hash: Buffer): Promise<ApiKeyAuthRow | undefined> {
  const { rows } = await db.query<ApiKeyAuthRow>(
    'SELECT id, user_id, scopes, expires_at, revoked_at FROM core.api_keys WHERE key_hash = $1',
    [hash],
  );
  return rows[0];
}

/** The key a minted JWT names (its `api_key_id`), for the revocation check of verifiers. */
export async function findAuthById(db: Pool, id: string): Promise<ApiKeyAuthRow | undefined> {
  const { rows } = await db.query<ApiKeyAuthRow>('SELECT id, user_id, scopes, expires_at, revoked_at FROM core.api_keys WHERE id = $1', [id]);
  return rows[0];
}

/** Conditional, so concurrent instances write at most about once per `minGapMs` per key. */
export async function touchLastUsed(db: Pool, id: string, at: Date, minGapMs: number): Promise<void> {
  await db.query(
    `UPDATE core.api_keys SET last_used_at = $2
      WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2::timestamptz - make_interval(secs => $3))`,
    [id, at, minGapMs / 1000],
  );
}

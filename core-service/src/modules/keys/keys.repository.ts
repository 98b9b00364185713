import type { Pool, PoolClient } from '@linkport/common';

export interface SigningKeyRow {
  kid: string;
  alg: string;
  public_jwk: Record<string, unknown>;
  private_jwk: Record<string, unknown>;
  created_at: Date;
  retired_at: Date | null;
  verify_until: Date | null;
}

/** Keys still worth holding: current ones and retired ones whose tokens may not have expired. */
export async function listLiveKeys(db: Pool | PoolClient, now: Date): Promise<SigningKeyRow[]> {
  const { rows } = await db.query<SigningKeyRow>(
    `SELECT kid, alg, public_jwk, private_jwk, created_at, retired_at, verify_until
       FROM core.signing_keys
      WHERE verify_until IS NULL OR verify_until > $1
      ORDER BY created_at DESC, kid`,
    [now],
  );
  return rows;
}

/** Keys that may sign (not retired). */
export async function countCurrentKeys(db: PoolClient): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM core.signing_keys WHERE retired_at IS NULL');
  return rows[0]?.n ?? 0;
}

export async function insertKey(
  db: PoolClient,
  k: { kid: string; alg: string; publicJwk: object; privateJwk: object; createdAt: Date },
): Promise<void> {
  await db.query(
    'INSERT INTO core.signing_keys (kid, alg, public_jwk, private_jwk, created_at) VALUES ($1, $2, $3, $4, $5)',
    [k.kid, k.alg, JSON.stringify(k.publicJwk), JSON.stringify(k.privateJwk), k.createdAt],
  );
}

/** Retires every current key but `keep`; each keeps verifying until `verifyUntil`. */
export async function retireOthers(db: PoolClient, keep: string, at: Date, verifyUntil: Date): Promise<string[]> {
  const { rows } = await db.query<{ kid: string }>(
    `UPDATE core.signing_keys SET retired_at = $2, verify_until = $3
      WHERE retired_at IS NULL AND kid <> $1 RETURNING kid`,
    [keep, at, verifyUntil],
  );
  return rows.map((r) => r.kid);
}

/** Drops keys no token can still need. */
export async function deleteDeadKeys(db: PoolClient, now: Date): Promise<void> {
  await db.query('DELETE FROM core.signing_keys WHERE verify_until IS NOT NULL AND verify_until <= $1', [now]);
}

/** Serialises key creation across instances (first start, rotation) for this transaction. */
export async function lockKeys(db: PoolClient): Promise<void> {
  await db.query("SELECT pg_advisory_xact_lock(hashtext('core.signing_keys'))");
}

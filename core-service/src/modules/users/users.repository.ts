import { ConflictError, PgCode, pgErrorCode, ValidationError, type Pool, type PoolClient } from '@linkport/common';

type Db = Pool | PoolClient;

export interface User {
  id: string;
  email: string;
  display_name: string | null;
  role: 'user' | 'admin';
  created_at: Date;
  updated_at: Date;
}
export interface UserWithHash extends User {
  password_hash: string;
}

const cols = 'id, email, display_name, role, created_at, updated_at';

function mapWriteError(err: unknown): never {
  const code = pgErrorCode(err);
  if (code === PgCode.uniqueViolation) throw new ConflictError('An account with this email already exists', 'EMAIL_TAKEN');
  // The service normalises first; a CHECK failing here means input no canonical form satisfies.
  if (code === PgCode.checkViolation) throw new ValidationError('Invalid email or display name', undefined, 'INVALID_PROFILE');
  throw err;
}

export async function insertUser(db: Db, u: { email: string; displayName: string | null; passwordHash: string }): Promise<User> {
  try {
    const { rows } = await db.query<User>(
      `INSERT INTO core.users (email, display_name, password_hash) VALUES ($1, $2, $3) RETURNING ${cols}`,
      [u.email, u.displayName, u.passwordHash],
    );
    return rows[0]!;
  } catch (err) {
    return mapWriteError(err);
  }
}

export async function findByEmail(db: Db, email: string): Promise<UserWithHash | undefined> {
  const { rows } = await db.query<UserWithHash>(`SELECT ${cols}, password_hash FROM core.users WHERE email = $1`, [email]);
  return rows[0];
}

export async function findById(db: Db, id: string): Promise<UserWithHash | undefined> {
  const { rows } = await db.query<UserWithHash>(`SELECT ${cols}, password_hash FROM core.users WHERE id = $1`, [id]);
  return rows[0];
}

export async function roleOf(db: Db, id: string): Promise<User['role'] | undefined> {
  const { rows } = await db.query<{ role: User['role'] }>('SELECT role FROM core.users WHERE id = $1', [id]);
  return rows[0]?.role;
}

export async function updateProfile(db: Db, id: string, patch: { email?: string; displayName?: string | null }): Promise<User | undefined> {
  try {
    const { rows } = await db.query<User>(
      `UPDATE core.users
          SET email = COALESCE($2, email),
              display_name = CASE WHEN $3::boolean THEN $4 ELSE display_name END
        WHERE id = $1 RETURNING ${cols}`,
      [id, patch.email ?? null, patch.displayName !== undefined, patch.displayName ?? null],
    );
    return rows[0];
  } catch (err) {
    return mapWriteError(err);
  }
}

export async function updatePasswordHash(db: Db, id: string, hash: string): Promise<void> {
  await db.query('UPDATE core.users SET password_hash = $2 WHERE id = $1', [id, hash]);
}

/** Refresh tokens and API keys go with the row (ON DELETE CASCADE), links and media too. */
export async function deleteUser(db: Db, id: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM core.users WHERE id = $1', [id]);
  return (rowCount ?? 0) > 0;
}

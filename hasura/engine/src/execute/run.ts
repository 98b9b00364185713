import type pg from 'pg';
import { compile, type SQL } from '../sql/sql.ts';
import { mapPgError } from './pg-errors.ts';

/** Runs one compiled statement; returns its single JSON `data` cell. Errors map to Hasura's. */
export async function runJson(pool: pg.Pool, stmt: SQL, admin: boolean): Promise<Record<string, unknown>> {
  const { text, values } = compile(stmt);
  try {
    const res = await pool.query<{ data: Record<string, unknown> }>({ text, values });
    return res.rows[0]?.data ?? {};
  } catch (e) {
    throw mapPgError(e, admin, text);
  }
}

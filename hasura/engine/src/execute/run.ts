import { createHash } from 'node:crypto';
import pg from 'pg';
import { compile, type SQL } from '../sql/sql.ts';
import { mapPgError } from './pg-errors.ts';

/**
 * Statement shapes seen more than once become named prepared statements (Hasura's
 * `use_prepared_statements`): values are always parameters, so one shape = one text. Bounded so a
 * client minting endless shapes cannot grow every connection's statement cache without limit.
 */
const MAX_PREPARED = 2000;
const seen = new Map<string, number>();

function statementName(text: string): string | undefined {
  if (text.length > 100_000) return undefined;
  const h = createHash('sha1').update(text).digest('base64url').slice(0, 22);
  const n = seen.get(h) ?? 0;
  if (n >= 1) return `lp_${h}`;
  if (seen.size < MAX_PREPARED) seen.set(h, n + 1);
  return undefined;
}

/**
 * `SET LOCAL statement_timeout` as a parameterised call (SET itself takes no parameters):
 * PostgreSQL cancels the statement when it runs longer, so a timed-out query stops using the
 * database too, not only the client's wait.
 */
const SET_TIMEOUT = "SELECT set_config('statement_timeout', $1, true)";

/** pg's parser for json and jsonb (OIDs 114, 3802) is the identity: the cell's text as PostgreSQL sent it. */
const JSON_OIDS = new Set([114, 3802]);
const asText = (v: string): string => v;
/**
 * Per query (pg's `types` query option), never installed globally: every other statement keeps
 * its parsed JSON. Other types keep pg's parsers.
 */
const JSON_AS_TEXT = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    JSON_OIDS.has(oid) ? asText : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
};

/**
 * Runs one compiled statement; returns its single `data` cell as PostgreSQL's JSON text, unparsed
 * (execute/passthrough.ts); undefined when the statement gave no row.
 */
export async function runJsonText(pool: pg.Pool, stmt: SQL, timeoutMs?: number): Promise<string | undefined> {
  if (timeoutMs !== undefined) {
    return inTransaction(pool, async (exec) => (await exec(stmt, '$', true)).data as string | undefined, timeoutMs);
  }
  const { text, values } = compile(stmt);
  const name = statementName(text);
  try {
    const res = await pool.query<{ data: string | null }>(name ? { text, values, name, types: JSON_AS_TEXT } : { text, values, types: JSON_AS_TEXT });
    return res.rows[0]?.data ?? undefined;
  } catch (e) {
    throw mapPgError(e, text);
  }
}

/**
 * Runs one compiled statement; returns its single JSON `data` cell. Errors map to Hasura's.
 * `timeoutMs`: a time limit other than the one the pool's connections carry (api_limits
 * time_limit for the role); it costs a transaction around the statement, so only when asked.
 */
export async function runJson(pool: pg.Pool, stmt: SQL, timeoutMs?: number): Promise<Record<string, unknown>> {
  if (timeoutMs !== undefined) {
    return inTransaction(pool, async (exec) => ((await exec(stmt, '$')).data ?? {}) as Record<string, unknown>, timeoutMs);
  }
  const { text, values } = compile(stmt);
  const name = statementName(text);
  try {
    const res = await pool.query<{ data: Record<string, unknown> }>(name ? { text, values, name } : { text, values });
    return res.rows[0]?.data ?? {};
  } catch (e) {
    throw mapPgError(e, text);
  }
}

/**
 * Runs `fn` in one transaction (all mutation root fields of a request, docs/research/hasura-v2.md §D): any error
 * rolls every statement back. `exec` runs one statement whose row is `{data, ok}`; with `jsonText`,
 * `data` is the cell's JSON text (runJsonText).
 */
export async function inTransaction<T>(
  pool: pg.Pool,
  fn: (exec: (stmt: SQL, errPath: string, jsonText?: boolean) => Promise<{ data: unknown; ok: boolean }>) => Promise<T>,
  timeoutMs?: number,
): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (e) {
    throw mapPgError(e);
  }
  let broken = false;
  try {
    try {
      await client.query('BEGIN');
      if (timeoutMs !== undefined) await client.query(SET_TIMEOUT, [String(timeoutMs)]);
    } catch (e) {
      throw mapPgError(e);
    }
    const exec = async (stmt: SQL, errPath: string, jsonText?: boolean): Promise<{ data: unknown; ok: boolean }> => {
      const { text, values } = compile(stmt);
      try {
        const name = statementName(text);
        const types = jsonText ? JSON_AS_TEXT : undefined;
        const res = await client.query<{ data: unknown; ok: boolean }>(name ? { text, values, name, types } : { text, values, types });
        const row = res.rows[0];
        if (jsonText) return { data: row?.data ?? undefined, ok: row?.ok !== false };
        return { data: row?.data ?? null, ok: row?.ok !== false };
      } catch (e) {
        const qe = mapPgError(e, text);
        throw errPath === '$' ? qe : qe.at(errPath);
      }
    };
    const out = await fn(exec);
    await client.query('COMMIT');
    return out;
  } catch (e) {
    try { await client.query('ROLLBACK'); } catch { broken = true; }
    throw e;
  } finally {
    client.release(broken);
  }
}

import { QueryError } from '../validation/errors.ts';

interface PgError { code?: string; message?: string; constraint?: string; detail?: string; hint?: string; severity?: string }

/**
 * The database is unreachable or the connection died: a refused/reset socket (Node's `E…` codes,
 * no server `severity`), node-postgres's own connection messages, SQLSTATE class 08 (connection
 * exception) or 57P01-57P03 (admin shutdown, crash shutdown, cannot connect now).
 */
export function isConnectionError(e: unknown): boolean {
  const pe = (e ?? {}) as PgError;
  const code = typeof pe.code === 'string' ? pe.code : '';
  if (pe.severity === undefined && /^E[A-Z]+$/.test(code)) return true;
  if (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03') return true;
  const msg = typeof pe.message === 'string' ? pe.message : '';
  return pe.severity === undefined && /Connection terminated|timeout exceeded when trying to connect|not queryable|Connection ended|ECONNREFUSED|ECONNRESET/.test(msg);
}

/**
 * Hasura's answer when PostgreSQL cannot be reached (PGConnErr → `postgres-error`,
 * "connection error", the driver's text as `internal` for admin only).
 */
export function connectionError(e: unknown, admin: boolean): QueryError {
  const msg = (e as { message?: unknown } | null)?.message;
  return new QueryError('postgres-error', 'connection error', '$', admin ? String(msg ?? e) : undefined);
}

/** Code of a statement cancelled by its time limit (statement_timeout → SQLSTATE 57014). */
export const TIMEOUT_CODE = 'timeout';

/**
 * PostgreSQL error → Hasura error (Backends/Postgres/Execute/Types.hs `mkTxErrorHandler`;
 * research §B.4). Raw SQL text never reaches a non-admin: `internal` is attached for admin only.
 */
export function mapPgError(e: unknown, admin: boolean, statement?: string): QueryError {
  const pe = (e ?? {}) as PgError;
  const code = pe.code ?? '';
  const msg = pe.message ?? 'database query error';
  const internal = admin ? { error: { message: msg, status_code: code, description: pe.detail ?? null, hint: pe.hint ?? null }, statement } : undefined;
  const mk = (c: string, m: string, path = '$') => new QueryError(c, m, path, internal);
  if (isConnectionError(e)) return connectionError(e, admin);
  // query_canceled: statement_timeout fired and PostgreSQL cancelled the statement itself. Hasura
  // CE has no operation time limit; its cloud docs say the upstream query is cancelled, and we say so.
  if (code === '57014') return mk(TIMEOUT_CODE, 'the operation exceeded its time limit and was cancelled');
  switch (code) {
    case '23505': return mk('constraint-violation', `Uniqueness violation. ${msg}`);
    case '23502': return mk('constraint-violation', `Not-NULL violation. ${msg}`);
    case '23503': return mk('constraint-violation', `Foreign key violation. ${msg}`);
    case '23514': return mk('permission-error', `Check constraint violation. ${msg}`);
    case '23001': return mk('constraint-violation', `Can not delete or update due to data being referred. ${msg}`);
    case '23P01': return mk('constraint-violation', `Exclusion violation. ${msg}`);
    case '40001': return mk('concurrent-update', 'serialization failure due to concurrent update');
    case '42P10': return mk('constraint-error', msg);
    case '22025': return mk('bad-request', msg);
  }
  if (code.startsWith('22')) return mk('data-exception', msg);
  if (code === 'P0001') return mk('unexpected', msg);
  return mk('unexpected', 'database query error');
}

import { QueryError } from '../validation/errors.ts';

interface PgError { code?: string; message?: string; constraint?: string; detail?: string; hint?: string }

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

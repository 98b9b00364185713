/**
 * Postgres errors → Hasura errors, as `mkTxErrorHandler` maps them
 * (server/src-lib/Hasura/Backends/Postgres/Execute/Types.hs; research §B.4).
 */
import { ApiError } from './errors.ts';

interface PgError {
  code?: string;
  message: string;
  detail?: string;
  hint?: string;
}

export function isPgError(err: unknown): err is PgError {
  return typeof err === 'object' && err !== null && typeof (err as PgError).code === 'string' && 'severity' in err;
}

const classes: Record<string, [code: string, prefix: string]> = {
  '23505': ['constraint-violation', 'Uniqueness violation. '],
  '23503': ['constraint-violation', 'Foreign key violation. '],
  '23502': ['constraint-violation', 'Not-NULL violation. '],
  '23514': ['permission-error', 'Check constraint violation. '],
  '23001': ['constraint-violation', 'Can not delete or update due to data being referred. '],
  '23P01': ['constraint-violation', 'Exclusion violation. '],
  '40001': ['concurrent-update', ''],
};

/** For RQL data queries: constraint classes, data exceptions, else `unexpected`. */
export function mapPgError(err: PgError, path = '$'): ApiError {
  const code = err.code ?? '';
  const cls = classes[code];
  if (cls) {
    const message = code === '40001' ? 'serialization failure due to concurrent update' : `${cls[1]}${err.message}`;
    return new ApiError(400, cls[0], message, path);
  }
  if (code.startsWith('22')) return new ApiError(400, 'data-exception', err.message, path);
  if (code === '42P10') return new ApiError(400, 'constraint-error', err.message, path);
  return new ApiError(400, 'unexpected', 'database query error', path, pgInternal(err));
}

/** run_sql's failure: `postgres-error` "query execution failed" with the PG error as internal. */
export function runSqlError(err: PgError, sql: string): ApiError {
  return new ApiError(400, 'postgres-error', 'query execution failed', '$', {
    arguments: [],
    error: {
      description: err.detail ?? null,
      exec_status: 'FatalError',
      hint: err.hint ?? null,
      message: err.message,
      status_code: err.code,
    },
    prepared: false,
    statement: sql,
  });
}

function pgInternal(err: PgError): unknown {
  return { error: { message: err.message, status_code: err.code, description: err.detail ?? null, hint: err.hint ?? null } };
}

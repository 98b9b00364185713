import { QErr } from '../errors.ts';

/**
 * PostgreSQL errors → Hasura's QErr, for every statement the engine runs on a caller's behalf
 * (GraphQL, /v1/query data queries, run_sql). Hasura has one map for all of them,
 * `mkTxErrorHandler` (server/src-lib/Hasura/Backends/Postgres/Execute/Types.hs; docs/research/hasura-v2.md §B.4).
 */
interface PgError { code?: string; message?: string; constraint?: string; detail?: string; hint?: string; severity?: string }

/** An error PostgreSQL itself raised (it has a SQLSTATE and a severity), not a driver or socket error. */
export function isPgError(err: unknown): err is PgError & { code: string } {
  return typeof err === 'object' && err !== null && typeof (err as PgError).code === 'string' && 'severity' in err;
}

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
 * "connection error", the driver's text as `internal`, which only the admin sees). 503: the
 * caller did nothing wrong and may retry.
 */
export function connectionError(e: unknown): QErr {
  const msg = (e as { message?: unknown } | null)?.message;
  return new QErr('postgres-error', 'connection error', '$', String(msg ?? e), 503);
}

/** Code of a statement cancelled by its time limit (statement_timeout → SQLSTATE 57014). */
export const TIMEOUT_CODE = 'timeout';

/** Hasura's `PGTxErr` JSON (the `internal` of `unexpected` and of run_sql's `postgres-error`). */
function txErr(pe: PgError, statement: string | undefined, prepared: boolean): Record<string, unknown> {
  return {
    arguments: [],
    error: {
      description: pe.detail ?? null,
      exec_status: 'FatalError',
      hint: pe.hint ?? null,
      message: pe.message ?? '',
      status_code: pe.code ?? '',
    },
    prepared,
    statement: statement ?? null,
  };
}

const constraintPrefix: Record<string, [code: string, prefix: string]> = {
  '23505': ['constraint-violation', 'Uniqueness violation. '],
  '23502': ['constraint-violation', 'Not-NULL violation. '],
  '23503': ['constraint-violation', 'Foreign key violation. '],
  '23514': ['permission-error', 'Check constraint violation. '],
  '23001': ['constraint-violation', 'Can not delete or update due to data being referred. '],
  '23P01': ['constraint-violation', 'Exclusion violation. '],
};

/**
 * `mkTxErrorHandler`: the errors Hasura expects (integrity constraints, data exceptions, a missing
 * ON CONFLICT constraint, serialization failures) carry no `internal`; anything else is
 * `unexpected` "database query error" with the statement and PostgreSQL's error as `internal`
 * (shown to the admin only, by the encoders in errors.ts). Every answer is 400 — PostgreSQL
 * refused the statement the caller asked for — where Hasura's `unexpected` is a 500; a 500 here
 * means the engine failed (STYLE: a client error is never a 500).
 */
export function mapPgError(e: unknown, statement?: string): QErr {
  if (isConnectionError(e)) return connectionError(e);
  const pe = (e ?? {}) as PgError;
  const code = pe.code ?? '';
  const msg = pe.message ?? 'database query error';
  const mk = (c: string, m: string, internal?: unknown) => new QErr(c, m, '$', internal, 400);
  const cls = constraintPrefix[code];
  if (cls) return mk(cls[0], `${cls[1]}${msg}`);
  switch (code) {
    // query_canceled: statement_timeout fired and PostgreSQL cancelled the statement itself. Hasura
    // CE has no operation time limit; its cloud docs say the upstream query is cancelled, and we say so.
    case '57014': return mk(TIMEOUT_CODE, 'the operation exceeded its time limit and was cancelled');
    case '40001': return mk('concurrent-update', 'serialization failure due to concurrent update');
    case '42P10': return mk('constraint-error', msg);
    // invalid_escape_sequence is `BadRequest` (mkTxErrorHandler's PGInvalidEscapeSequence case).
    case '22025': return mk('bad-request', msg);
  }
  if (code.startsWith('22')) return mk('data-exception', msg);
  // A RAISE EXCEPTION in a tracked function or trigger: its text is the function author's message.
  if (code === 'P0001') return mk('unexpected', msg, txErr(pe, statement, true));
  return mk('unexpected', 'database query error', txErr(pe, statement, true));
}

/**
 * run_sql's failure: `postgres-error` "query execution failed" with the `PGTxErr` as internal
 * (RunSQL.hs), at the command's `args` (upstream v1/run_sql/sql_select_query_read_only.yaml).
 */
export function runSqlError(err: PgError, sql: string, path = '$.args'): QErr {
  return new QErr('postgres-error', 'query execution failed', path, txErr(err, sql, false), 400);
}

/**
 * The engine's PostgreSQL pools, made to survive the database going away (issue 11):
 *
 * - node-postgres emits `'error'` on a client whose connection dies. The pool listens only while
 *   the client is idle (pg-pool removes its idle listener on checkout), so a client checked out
 *   between two statements of a transaction — or the socket reset while a query runs — emits an
 *   `'error'` nobody hears, and Node ends the process. Every client gets its own listener at
 *   creation; the failed query still rejects, and pg-pool's release drops a client that is no
 *   longer queryable, so the pool refills with fresh connections once PostgreSQL is back.
 * - `statement_timeout` travels in the startup packet, so the server cancels a statement that runs
 *   past the limit without an extra round trip per query.
 * - Acquiring waits at most `connectionTimeoutMillis`: during an outage a request fails fast with
 *   a clean error instead of queueing forever.
 */
import pg from 'pg';

export interface EnginePoolOptions {
  max: number;
  applicationName: string;
  /** 0 = no limit. */
  statementTimeoutMs?: number;
  onClientError?: (err: Error) => void;
}

export function createEnginePool(connectionString: string, opts: EnginePoolOptions): pg.Pool {
  const config: pg.PoolConfig = {
    connectionString,
    max: opts.max,
    application_name: opts.applicationName,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 5_000,
  };
  if (opts.statementTimeoutMs) config.statement_timeout = opts.statementTimeoutMs;
  const pool = new pg.Pool(config);
  const report = (err: Error) => opts.onClientError?.(err);
  pool.on('error', report);
  pool.on('connect', (client) => {
    client.on('error', report);
  });
  return pool;
}

/** `SELECT 1` within `ms`: false when the database is unreachable or too slow to answer. */
export async function databaseReachable(pool: pg.Pool, ms = 2_000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([pool.query('SELECT 1').then(() => true as const), deadline]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

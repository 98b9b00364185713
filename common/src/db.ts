import pg from 'pg';
import type { Logger } from './logger.ts';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

// Postgres bigint (int8) and numeric come back as strings by default; services that need numbers
// convert explicitly where the range is known to be safe.

/**
 * Up/down state of one dependency (a pool, a Redis connection), fed by the events and results its
 * users see. It logs each transition once — an outage is one warning and one recovery line, not
 * one line per failed query or reconnect attempt — and lets readiness and metrics read the state
 * without a round trip.
 */
export class DependencyHealth {
  private isUp = true;
  private changed = Date.now();
  private last: string | undefined;
  private failures = 0;

  constructor(
    readonly name: string,
    private readonly log?: Logger,
  ) {}

  get up(): boolean {
    return this.isUp;
  }

  /** Epoch ms of the last transition. */
  get since(): number {
    return this.changed;
  }

  get lastError(): string | undefined {
    return this.last;
  }

  /** Failures seen since the process started (outage size, for metrics and tests). */
  get failureCount(): number {
    return this.failures;
  }

  ok(): void {
    if (this.isUp) return;
    this.log?.info({ dependency: this.name, downMs: Date.now() - this.changed }, `${this.name} reachable again`);
    this.isUp = true;
    this.changed = Date.now();
  }

  fail(err: unknown): void {
    this.failures++;
    this.last = errorMessage(err);
    if (!this.isUp) return;
    this.log?.warn({ dependency: this.name, err: this.last }, `${this.name} unavailable; retrying in the background`);
    this.isUp = false;
    this.changed = Date.now();
  }
}

const healthOf = new WeakMap<pg.Pool, DependencyHealth>();

export interface PoolOptions {
  max?: number;
  applicationName?: string;
  /** Transitions (lost / back) are logged here; errors are never thrown at the process. */
  log?: Logger;
  connectionTimeoutMillis?: number;
}

/**
 * A pg.Pool that no connection failure can turn into a process crash. node-postgres emits 'error'
 * on a client whose connection dies ("Connection terminated unexpectedly", ECONNRESET, 57P01 when
 * the server shuts down); the pool listens only while a client is idle (pg-pool removes its idle
 * listener on checkout), so a checked-out client that loses its server emits 'error' to nobody and
 * Node throws it (issue 11: a 5-second PostgreSQL stop killed the click worker this way). Every
 * client therefore gets a permanent listener when the pool creates it; the query in flight still
 * rejects, and pg-pool discards the dead client on release (`!client._queryable`). The pool itself
 * reconnects lazily: each new checkout opens a new connection, so recovery needs nothing but time.
 */
export function createPool(connectionString: string, opts: PoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max: opts.max ?? 10,
    application_name: opts.applicationName,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: opts.connectionTimeoutMillis ?? 5_000,
    // TCP keepalive: a server that vanished without a FIN (network partition) is noticed by the
    // kernel instead of leaving a client waiting forever on an idle socket.
    keepAlive: true,
  });
  const health = new DependencyHealth(opts.applicationName ? `postgres (${opts.applicationName})` : 'postgres', opts.log);
  healthOf.set(pool, health);
  const onClientError = (err: Error) => health.fail(err);
  pool.on('connect', (client) => {
    health.ok();
    client.on('error', onClientError);
  });
  // Idle clients' errors arrive here too (pg-pool re-emits them); the pool has already dropped them.
  pool.on('error', onClientError);
  return pool;
}

/** The pool's health as seen by its clients (created by createPool; a fresh state otherwise). */
export function poolHealth(pool: pg.Pool): DependencyHealth {
  let h = healthOf.get(pool);
  if (!h) {
    h = new DependencyHealth('postgres');
    healthOf.set(pool, h);
  }
  return h;
}

/**
 * Readiness probe: one `SELECT 1` within `timeoutMs`. Its result also feeds poolHealth, so a
 * recovery is noticed by the next probe even when no request has used the pool yet.
 */
export async function pingPool(pool: pg.Pool, timeoutMs = 1_000): Promise<void> {
  const health = poolHealth(pool);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      pool.query('SELECT 1'),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    health.ok();
  } catch (err) {
    health.fail(err);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs `fn` in one transaction on one client; rolls back on any throw. A client whose connection
 * broke (its 'error' event, or a failed ROLLBACK) is released with the error so the pool destroys
 * it instead of handing a dead connection to the next caller.
 */
export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (err: Error) => {
    broken = err;
  };
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    if (!broken) {
      await client.query('ROLLBACK').catch((e: unknown) => {
        broken = e instanceof Error ? e : new Error(String(e));
      });
    }
    throw err;
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}

/** Postgres SQLSTATEs we map to domain errors. */
export const PgCode = {
  uniqueViolation: '23505',
  foreignKeyViolation: '23503',
  checkViolation: '23514',
  notNullViolation: '23502',
  invalidTextRepresentation: '22P02',
  raiseException: 'P0001',
} as const;

export function pgErrorCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

/**
 * True for failures of the connection rather than of the statement: Node's socket errors
 * (ECONNREFUSED, ECONNRESET, ETIMEDOUT…), node-postgres's own "Connection terminated" / "timeout
 * exceeded when trying to connect" (no code at all), and SQLSTATE classes 08 (connection
 * exception), 53 (insufficient resources, e.g. too many connections) and 57 (operator
 * intervention: admin shutdown 57P01, crash 57P02, cannot connect now 57P03) — PostgreSQL's
 * Appendix A. Callers answer these with 503 + Retry-After rather than 500.
 */
export function isConnectionError(err: unknown): boolean {
  const code = pgErrorCode(err);
  if (code === undefined) {
    const msg = errorMessage(err);
    return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended/i.test(msg);
  }
  if (/^E[A-Z]+$/.test(code)) return true;
  return /^(08|53|57)/.test(code);
}

function errorMessage(err: unknown): string {
  if (err instanceof Error) {
    const code = pgErrorCode(err);
    // AggregateError (both ::1 and 127.0.0.1 refused) has an empty message.
    return (code ? `${code} ` : '') + (err.message || err.name);
  }
  return String(err);
}

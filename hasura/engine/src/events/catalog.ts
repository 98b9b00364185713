/**
 * The event tables in `hdb_catalog`, laid out as Hasura v2 lays them out, created by the engine at
 * startup when absent (Hasura's `initSource` / `initialise.sql` do the same):
 *
 * - source catalog (upstream server/src-rsr/init_pg_source.sql): `hdb_source_catalog_version`,
 *   `event_log`, `event_invocation_logs`, `hdb_event_log_cleanups`, `gen_hasura_uuid()` and
 *   `insert_event_log(...)`, the function every per-trigger function calls;
 * - metadata catalog (server/src-rsr/initialise.sql): `hdb_cron_events`,
 *   `hdb_cron_event_invocation_logs`, `hdb_scheduled_events`, `hdb_scheduled_event_invocation_logs`.
 *
 * Same columns, types, defaults and the `event_log_fetch_events` index the fetch query's ORDER BY
 * is written for, so real Hasura pointed at a database the engine initialised (or the reverse)
 * finds what it expects. Several engine replicas may start together: the creation runs under a
 * transaction-scoped advisory lock, and only the missing pieces are created.
 */
import type pg from 'pg';
import { run, sql, type Queryable, type SQL } from '../sql/sql.ts';

/** Constant DDL (no input in it): upstream init_pg_source.sql, statement by statement. */
const sourceDdl: SQL[] = [
  // Hasura's own uuid function, so the column default survives pgcrypto being dropped (issue 4217).
  sql`CREATE OR REPLACE FUNCTION hdb_catalog.gen_hasura_uuid() RETURNS uuid AS 'select gen_random_uuid()' LANGUAGE SQL`,
  // The source catalog's version, read by Hasura's initSource: at 4 (upstream
  // latestSourceCatalogVersion, after pg_source_migrations/3_to_4.sql) real Hasura pointed at this
  // database finds its catalog current and leaves it as it is.
  sql`CREATE TABLE IF NOT EXISTS hdb_catalog.hdb_source_catalog_version (version TEXT NOT NULL, upgraded_on TIMESTAMPTZ NOT NULL)`,
  sql`CREATE UNIQUE INDEX IF NOT EXISTS hdb_source_catalog_version_one_row ON hdb_catalog.hdb_source_catalog_version ((version IS NOT NULL))`,
  sql`INSERT INTO hdb_catalog.hdb_source_catalog_version (version, upgraded_on) VALUES ('4', NOW())
      ON CONFLICT ((version IS NOT NULL)) DO NOTHING`,
  sql`CREATE TABLE IF NOT EXISTS hdb_catalog.event_log (
    id TEXT DEFAULT hdb_catalog.gen_hasura_uuid() PRIMARY KEY,
    schema_name TEXT NOT NULL,
    table_name TEXT NOT NULL,
    trigger_name TEXT NOT NULL,
    payload JSONB NOT NULL,
    delivered BOOLEAN NOT NULL DEFAULT FALSE,
    error BOOLEAN NOT NULL DEFAULT FALSE,
    tries INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP DEFAULT NOW(),
    locked TIMESTAMPTZ,
    next_retry_at TIMESTAMP,
    archived BOOLEAN NOT NULL DEFAULT FALSE
  )`,
  sql`CREATE INDEX IF NOT EXISTS event_log_trigger_name_idx ON hdb_catalog.event_log (trigger_name)`,
  sql`CREATE INDEX IF NOT EXISTS event_log_fetch_events ON hdb_catalog.event_log (locked NULLS FIRST, next_retry_at NULLS FIRST, created_at)
    WHERE delivered = 'f' AND error = 'f' AND archived = 'f'`,
  sql`CREATE TABLE IF NOT EXISTS hdb_catalog.event_invocation_logs (
    id TEXT DEFAULT hdb_catalog.gen_hasura_uuid() PRIMARY KEY,
    trigger_name TEXT,
    event_id TEXT,
    status INTEGER,
    request JSON,
    response JSON,
    created_at TIMESTAMP DEFAULT NOW()
  )`,
  sql`CREATE INDEX IF NOT EXISTS event_invocation_logs_event_id_idx ON hdb_catalog.event_invocation_logs (event_id)`,
  // Session variables come from `hasura.user`, which Hasura (and this engine) set for the
  // transaction of a mutation; any other writer leaves it unset and the event carries null.
  sql`CREATE OR REPLACE FUNCTION hdb_catalog.insert_event_log(schema_name text, table_name text, trigger_name text, op text, row_data json)
  RETURNS text AS $$
  DECLARE
    id text;
    payload json;
    session_variables json;
    trace_context json;
  BEGIN
    id := gen_random_uuid();
    session_variables := NULLIF(current_setting('hasura.user', 't'), '');
    trace_context := NULLIF(current_setting('hasura.tracecontext', 't'), '');
    payload := json_build_object('op', op, 'data', row_data, 'session_variables', session_variables, 'trace_context', trace_context);
    INSERT INTO hdb_catalog.event_log (id, schema_name, table_name, trigger_name, payload)
    VALUES (id, schema_name, table_name, trigger_name, payload);
    RETURN id;
  END;
  $$ LANGUAGE plpgsql`,
  sql`CREATE TABLE IF NOT EXISTS hdb_catalog.hdb_event_log_cleanups (
    id TEXT DEFAULT hdb_catalog.gen_hasura_uuid() PRIMARY KEY,
    trigger_name TEXT NOT NULL,
    scheduled_at TIMESTAMP NOT NULL,
    deleted_event_logs INTEGER,
    deleted_event_invocation_logs INTEGER,
    status TEXT NOT NULL,
    CHECK (status IN ('scheduled', 'paused', 'completed', 'dead')),
    UNIQUE (trigger_name, scheduled_at)
  )`,
];

/** Upstream initialise.sql: the scheduled-trigger tables (kept in the metadata database). */
const scheduledDdl: SQL[] = [
  sql`CREATE TABLE IF NOT EXISTS hdb_catalog.hdb_cron_events (
    id TEXT DEFAULT hdb_catalog.gen_hasura_uuid() PRIMARY KEY,
    trigger_name TEXT NOT NULL,
    scheduled_time TIMESTAMPTZ NOT NULL,
    status TEXT NOT NULL DEFAULT 'scheduled',
    tries INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ DEFAULT NOW(),
    next_retry_at TIMESTAMPTZ,
    CONSTRAINT valid_status CHECK (status IN ('scheduled','locked','delivered','error','dead'))
  )`,
  sql`CREATE INDEX IF NOT EXISTS hdb_cron_event_status ON hdb_catalog.hdb_cron_events (status)`,
  sql`CREATE UNIQUE INDEX IF NOT EXISTS hdb_cron_events_unique_scheduled ON hdb_catalog.hdb_cron_events (trigger_name, scheduled_time) WHERE status = 'scheduled'`,
  sql`CREATE TABLE IF NOT EXISTS hdb_catalog.hdb_cron_event_invocation_logs (
    id TEXT DEFAULT hdb_catalog.gen_hasura_uuid() PRIMARY KEY,
    event_id TEXT,
    status INTEGER,
    request JSON,
    response JSON,
    created_at TIMESTAMPTZ DEFAULT NOW(),
    FOREIGN KEY (event_id) REFERENCES hdb_catalog.hdb_cron_events (id) ON UPDATE CASCADE ON DELETE CASCADE
  )`,
  sql`CREATE INDEX IF NOT EXISTS hdb_cron_event_invocation_event_id ON hdb_catalog.hdb_cron_event_invocation_logs (event_id)`,
  sql`CREATE TABLE IF NOT EXISTS hdb_catalog.hdb_scheduled_events (
    id TEXT DEFAULT hdb_catalog.gen_hasura_uuid() PRIMARY KEY,
    webhook_conf JSON NOT NULL,
    scheduled_time TIMESTAMPTZ NOT NULL,
    retry_conf JSON,
    payload JSON,
    header_conf JSON,
    status TEXT NOT NULL DEFAULT 'scheduled',
    tries INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ DEFAULT NOW(),
    next_retry_at TIMESTAMPTZ,
    comment TEXT,
    CONSTRAINT valid_status CHECK (status IN ('scheduled','locked','delivered','error','dead'))
  )`,
  sql`CREATE INDEX IF NOT EXISTS hdb_scheduled_event_status ON hdb_catalog.hdb_scheduled_events (status)`,
  sql`CREATE TABLE IF NOT EXISTS hdb_catalog.hdb_scheduled_event_invocation_logs (
    id TEXT DEFAULT hdb_catalog.gen_hasura_uuid() PRIMARY KEY,
    event_id TEXT,
    status INTEGER,
    request JSON,
    response JSON,
    created_at TIMESTAMPTZ DEFAULT NOW(),
    FOREIGN KEY (event_id) REFERENCES hdb_catalog.hdb_scheduled_events (id) ON DELETE CASCADE ON UPDATE CASCADE
  )`,
];

const present = sql`SELECT to_regclass('hdb_catalog.event_log') IS NOT NULL
    AND to_regclass('hdb_catalog.hdb_source_catalog_version') IS NOT NULL
    AND to_regclass('hdb_catalog.event_invocation_logs') IS NOT NULL
    AND to_regclass('hdb_catalog.hdb_event_log_cleanups') IS NOT NULL
    AND to_regclass('hdb_catalog.hdb_cron_events') IS NOT NULL
    AND to_regclass('hdb_catalog.hdb_cron_event_invocation_logs') IS NOT NULL
    AND to_regclass('hdb_catalog.hdb_scheduled_events') IS NOT NULL
    AND to_regclass('hdb_catalog.hdb_scheduled_event_invocation_logs') IS NOT NULL
    AND to_regprocedure('hdb_catalog.insert_event_log(text,text,text,text,json)') IS NOT NULL AS ok`;

/** Creates whatever of the event catalog is missing; a no-op (one query) when it is all there. */
export async function ensureEventCatalog(pool: pg.Pool): Promise<void> {
  const { rows } = await run<{ ok: boolean }>(pool, present);
  if (rows[0]?.ok) return;
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await createIn(client);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** The same inside the caller's transaction (an admin request creating the first trigger). */
export async function ensureEventCatalogIn(db: Queryable): Promise<void> {
  const { rows } = await run<{ ok: boolean }>(db, present);
  if (!rows[0]?.ok) await createIn(db);
}

async function createIn(db: Queryable): Promise<void> {
  // One creator at a time across replicas (IF NOT EXISTS alone races on the catalog rows).
  await run(db, sql`SELECT pg_advisory_xact_lock(hashtext('hasura-engine:event-catalog'))`);
  // CREATE SCHEMA checks the database privilege even when the schema exists, and the engine's role
  // (links_admin) may create in hdb_catalog but not in the database: only create it when absent.
  const { rows } = await run<{ ok: boolean }>(db, sql`SELECT to_regnamespace('hdb_catalog') IS NOT NULL AS ok`);
  if (!rows[0]?.ok) await run(db, sql`CREATE SCHEMA hdb_catalog`);
  for (const stmt of [...sourceDdl, ...scheduledDdl]) await run(db, stmt);
}

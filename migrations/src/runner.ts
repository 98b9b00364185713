import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';

/**
 * Applies `migrations/default/<version>_<name>/{up,down}.sql` — the Hasura CLI layout, so Hasura's
 * cli-migrations-v3 image applies the very same files in production — and records state in
 * `hdb_catalog.schema_migrations (version bigint, dirty boolean)`, the table Hasura's CLI keeps.
 *
 * Each version runs in its own transaction, under a session advisory lock so two runners never
 * interleave. The row is written `dirty = true` before the SQL and flipped to false in the same
 * transaction: a failure rolls both back, and a row left dirty means a file committed part of its
 * own work and then failed — a state only a person can judge, so every command stops on it.
 */

export const defaultMigrationsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'default');

/** pg_advisory_lock key: fixed so every runner (and every replica) contends for the same lock. */
const LOCK_KEY = 7_163_001;

export interface Migration {
  version: bigint;
  name: string;
  dir: string;
}

export interface MigrationStatus {
  version: bigint;
  name: string | undefined;
  state: 'applied' | 'pending' | 'dirty' | 'unknown';
}

export class MigrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MigrationError';
  }
}

export function listMigrations(dir = defaultMigrationsDir): Migration[] {
  if (!fs.existsSync(dir)) throw new MigrationError(`migrations directory not found: ${dir}`);
  const out: Migration[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const m = /^(\d+)_(.+)$/.exec(entry.name);
    if (!entry.isDirectory() || !m?.[1] || !m[2]) continue;
    out.push({ version: BigInt(m[1]), name: m[2], dir: path.join(dir, entry.name) });
  }
  return out.sort((a, b) => (a.version < b.version ? -1 : a.version > b.version ? 1 : 0));
}

function readSql(m: Migration, kind: 'up' | 'down'): string {
  const file = path.join(m.dir, `${kind}.sql`);
  if (!fs.existsSync(file)) throw new MigrationError(`${m.version}_${m.name}: ${kind}.sql is missing`);
  return fs.readFileSync(file, 'utf8');
}

async function ensureCatalog(client: pg.ClientBase): Promise<void> {
  await client.query('CREATE SCHEMA IF NOT EXISTS hdb_catalog');
  await client.query(
    'CREATE TABLE IF NOT EXISTS hdb_catalog.schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL)',
  );
  // Our own addition beside Hasura's table (which it leaves alone): the sha256 of each applied
  // up.sql, so a file edited after it was applied is refused instead of silently never running.
  await client.query(
    'CREATE TABLE IF NOT EXISTS hdb_catalog.linkport_migration_checksums (version bigint NOT NULL PRIMARY KEY, up_sha256 text NOT NULL)',
  );
}

function checksum(sql: string): string {
  return createHash('sha256').update(sql).digest('hex');
}

async function checkChecksums(client: pg.ClientBase, migrations: Migration[], state: Map<bigint, boolean>): Promise<void> {
  const { rows } = await client.query<{ version: string; up_sha256: string }>(
    'SELECT version::text AS version, up_sha256 FROM hdb_catalog.linkport_migration_checksums',
  );
  const recordedSums = new Map(rows.map((r) => [BigInt(r.version), r.up_sha256]));
  for (const m of migrations) {
    const sum = recordedSums.get(m.version);
    if (!state.has(m.version) || sum === undefined) continue;
    if (sum !== checksum(readSql(m, 'up'))) {
      throw new MigrationError(
        `migration ${m.version}_${m.name} was changed after it was applied to this database. Applied migrations are ` +
          `immutable: put the change in a new migration. (A disposable local database can be reset instead: stop ` +
          `npm start and delete .data/.)`,
      );
    }
  }
}

async function recorded(client: pg.ClientBase): Promise<Map<bigint, boolean>> {
  const { rows } = await client.query<{ version: string; dirty: boolean }>(
    'SELECT version::text AS version, dirty FROM hdb_catalog.schema_migrations ORDER BY version',
  );
  return new Map(rows.map((r) => [BigInt(r.version), r.dirty]));
}

async function withLock<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
    try {
      await ensureCatalog(client);
      return await fn(client);
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => {});
    }
  } finally {
    client.release();
  }
}

function checkState(state: Map<bigint, boolean>, migrations: Migration[]): void {
  const known = new Set(migrations.map((m) => m.version));
  for (const [version, dirty] of state) {
    if (dirty) {
      throw new MigrationError(
        `migration ${version} is dirty: it failed after committing part of its work. Inspect the database, ` +
          `then fix it by hand and run: DELETE FROM hdb_catalog.schema_migrations WHERE version = ${version} ` +
          `(to retry it) or UPDATE hdb_catalog.schema_migrations SET dirty = false WHERE version = ${version} (if it is complete).`,
      );
    }
    if (!known.has(version)) {
      throw new MigrationError(
        `the database has migration ${version} applied, which is not in this checkout: it was migrated by a newer ` +
          `version of Linkport. Update the checkout (or roll back with that version) before migrating.`,
      );
    }
  }
}

export interface MigrateResult {
  applied: Migration[];
}

export async function migrate(pool: pg.Pool, opts: { dir?: string; log?: (line: string) => void } = {}): Promise<MigrateResult> {
  const migrations = listMigrations(opts.dir);
  return withLock(pool, async (client) => {
    const state = await recorded(client);
    checkState(state, migrations);
    await checkChecksums(client, migrations, state);
    const applied: Migration[] = [];
    for (const m of migrations) {
      if (state.has(m.version)) continue;
      const sql = readSql(m, 'up');
      await client.query('BEGIN');
      try {
        await client.query('INSERT INTO hdb_catalog.schema_migrations (version, dirty) VALUES ($1, true)', [m.version.toString()]);
        await client.query(sql);
        await client.query('UPDATE hdb_catalog.schema_migrations SET dirty = false WHERE version = $1', [m.version.toString()]);
        await client.query(
          'INSERT INTO hdb_catalog.linkport_migration_checksums (version, up_sha256) VALUES ($1, $2) ON CONFLICT (version) DO UPDATE SET up_sha256 = EXCLUDED.up_sha256',
          [m.version.toString(), checksum(sql)],
        );
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw new MigrationError(`${m.version}_${m.name} failed: ${err instanceof Error ? err.message : String(err)}`);
      }
      opts.log?.(`applied ${m.version}_${m.name}`);
      applied.push(m);
    }
    return { applied };
  });
}

export async function rollback(pool: pg.Pool, steps = 1, opts: { dir?: string; log?: (line: string) => void } = {}): Promise<Migration[]> {
  if (!Number.isInteger(steps) || steps < 1) throw new MigrationError(`rollback needs a positive number of steps, got ${steps}`);
  const migrations = listMigrations(opts.dir);
  return withLock(pool, async (client) => {
    const state = await recorded(client);
    checkState(state, migrations);
    const targets = migrations.filter((m) => state.has(m.version)).reverse().slice(0, steps);
    for (const m of targets) {
      const sql = readSql(m, 'down');
      await client.query('BEGIN');
      try {
        await client.query(sql);
        await client.query('DELETE FROM hdb_catalog.schema_migrations WHERE version = $1', [m.version.toString()]);
        await client.query('DELETE FROM hdb_catalog.linkport_migration_checksums WHERE version = $1', [m.version.toString()]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw new MigrationError(`rolling back ${m.version}_${m.name} failed: ${err instanceof Error ? err.message : String(err)}`);
      }
      opts.log?.(`rolled back ${m.version}_${m.name}`);
    }
    return targets;
  });
}

export async function status(pool: pg.Pool, opts: { dir?: string } = {}): Promise<MigrationStatus[]> {
  const migrations = listMigrations(opts.dir);
  return withLock(pool, async (client) => {
    const state = await recorded(client);
    const rows: MigrationStatus[] = migrations.map((m) => ({
      version: m.version,
      name: m.name,
      state: state.has(m.version) ? (state.get(m.version) ? 'dirty' : 'applied') : 'pending',
    }));
    for (const [version, dirty] of state) {
      if (!migrations.some((m) => m.version === version)) rows.push({ version, name: undefined, state: dirty ? 'dirty' : 'unknown' });
    }
    return rows.sort((a, b) => (a.version < b.version ? -1 : 1));
  });
}

/** The per-service login roles the migrations create. */
export const serviceRoles = ['core_service', 'media_service', 'redirect_service', 'links_admin'] as const;
export type ServiceRole = (typeof serviceRoles)[number];

/**
 * Sets the service roles' passwords from config. Kept out of the SQL files because those are plain
 * SQL shared with Hasura's migration image; ALTER ROLE takes no bind parameters, so the literal is
 * escaped by the driver.
 */
export async function setRolePasswords(pool: pg.Pool, passwords: Partial<Record<ServiceRole, string>>): Promise<void> {
  const client = await pool.connect();
  try {
    for (const role of serviceRoles) {
      const pw = passwords[role];
      if (!pw) continue;
      await client.query(`ALTER ROLE ${client.escapeIdentifier(role)} WITH LOGIN PASSWORD ${client.escapeLiteral(pw)}`);
    }
  } finally {
    client.release();
  }
}

/** Replaces user/password (and optionally database) in a postgres URL: the per-service URLs. */
export function roleUrl(adminUrl: string, role: string, password: string, database?: string): string {
  const u = new URL(adminUrl);
  u.username = encodeURIComponent(role);
  u.password = encodeURIComponent(password);
  if (database) u.pathname = `/${database}`;
  return u.toString();
}

import { randomBytes } from 'node:crypto';
import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres, type RunningPostgres } from '../embedded/postgres.ts';
import { roleUrl, migrate, setRolePasswords, serviceRoles, type ServiceRole } from '@linkport/migrations';

/** Passwords the service roles get in every test cluster. */
export const testRolePasswords: Record<ServiceRole, string> = Object.fromEntries(
  serviceRoles.map((r) => [r, `${r}_test`]),
) as Record<ServiceRole, string>;

const TEMPLATE = 'linkport_template';
let clusterPromise: Promise<{ adminUrl: string; stop?: () => Promise<void> }> | undefined;

/**
 * The test cluster: the one `npm test` started (LINKPORT_TEST_PG_URL), or — when a test file runs
 * alone — a throwaway embedded PostgreSQL 16 for this process.
 */
export async function testCluster(): Promise<{ adminUrl: string }> {
  clusterPromise ??= (async () => {
    const given = process.env.LINKPORT_TEST_PG_URL;
    if (given) return { adminUrl: given };
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'linkport-pg-'));
    fs.chmodSync(dir, 0o755);
    const running: RunningPostgres = await startEmbeddedPostgres({ dataDir: path.join(dir, 'data'), persistent: false });
    running.killOnExit();
    process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    return { adminUrl: running.url, stop: running.stop };
  })();
  return clusterPromise;
}

async function adminQuery(adminUrl: string, sql: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    return await c.query(sql, values);
  } finally {
    await c.end();
  }
}

function withDb(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

/** Creates (once per cluster, under an advisory lock) the migrated template databases are cloned from. */
export async function ensureTemplate(adminUrl: string): Promise<void> {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    await c.query('SELECT pg_advisory_lock(4242)');
    const exists = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [TEMPLATE]);
    if (exists.rowCount === 0) {
      await c.query(`CREATE DATABASE ${TEMPLATE}`);
      const pool = new pg.Pool({ connectionString: withDb(adminUrl, TEMPLATE), max: 1 });
      try {
        await migrate(pool);
        await setRolePasswords(pool, testRolePasswords);
      } finally {
        await pool.end();
      }
    }
    await c.query('SELECT pg_advisory_unlock(4242)');
  } finally {
    await c.end();
  }
}

export interface TestDatabase {
  name: string;
  /** Superuser URL of this database. */
  adminUrl: string;
  /** URL logging in as one of the service roles. */
  roleUrl(role: ServiceRole): string;
  drop(): Promise<void>;
}

/**
 * A fresh database for one test file: a clone of the migrated template (fast), or empty with
 * `{ migrated: false }` for migration tests. Register `t.after(() => db.drop())`.
 */
export async function createTestDatabase(opts: { migrated?: boolean } = {}): Promise<TestDatabase> {
  const { adminUrl } = await testCluster();
  const migrated = opts.migrated ?? true;
  if (migrated) await ensureTemplate(adminUrl);
  const name = `t_${randomBytes(6).toString('hex')}`;
  await adminQuery(adminUrl, migrated ? `CREATE DATABASE ${name} TEMPLATE ${TEMPLATE}` : `CREATE DATABASE ${name}`);
  if (!migrated) await setRolePasswordsIfRolesExist(adminUrl);
  const dbUrl = withDb(adminUrl, name);
  return {
    name,
    adminUrl: dbUrl,
    roleUrl: (role) => roleUrl(dbUrl, role, testRolePasswords[role]),
    drop: () => dropWhenIdle(adminUrl, name),
  };
}

/**
 * Drops a test database once nobody is connected, in the background. Why not `DROP … WITH (FORCE)`
 * at once: node:test runs `t.after` hooks in the order they were registered, so the common
 * `t.after(() => db.drop())` registered before a pool's `t.after(() => pool.end())` dropped the
 * database first, and the forced termination reached the pool's idle client as an 'error' event
 * ("terminating connection due to administrator command") that failed the test — seen in CI in
 * migrations and web tests. Waiting here would not help (the pool's hook runs only after this one
 * resolves), so the drop resolves at once and waits for the connections to go (up to 5 s, then it
 * forces). The cluster is a throwaway one: a drop cut short by the process' exit only leaves a
 * database behind in it.
 */
function dropWhenIdle(adminUrl: string, name: string): Promise<void> {
  void (async () => {
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline) {
      const { rows } = await adminQuery(adminUrl, 'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1', [name]);
      if ((rows[0] as { n: number } | undefined)?.n === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  })().catch(() => undefined);
  return Promise.resolve();
}

async function setRolePasswordsIfRolesExist(adminUrl: string): Promise<void> {
  const { rows } = await adminQuery(adminUrl, 'SELECT rolname FROM pg_roles WHERE rolname = ANY($1)', [[...serviceRoles]]);
  if (rows.length === 0) return;
  // ALTER ROLE from two test processes at once fails ("tuple concurrently updated"): roles are
  // cluster-wide, so serialise on the same lock as the template.
  const pool = new pg.Pool({ connectionString: adminUrl, max: 2 });
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock(4242)');
    await setRolePasswords(pool, testRolePasswords).finally(() => client.query('SELECT pg_advisory_unlock(4242)'));
  } finally {
    client.release();
    await pool.end();
  }
}

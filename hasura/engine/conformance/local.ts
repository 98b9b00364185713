/**
 * The engine under test when no `--url` is given: our engine, in process, on a fresh throwaway
 * database (superuser: the suite's setups create schemas, types and extensions), with the flags
 * the expected outputs assume (`--stringify-numeric-types`).
 */
import type { AddressInfo } from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres, systemPgBinaries } from '@linkport/devstack';
import { createTestDatabase, testCluster, type TestDatabase } from '@linkport/devstack/testing';
import { buildApp } from '../src/app.ts';
import { loadEngineConfig } from '../src/config.ts';

export interface LocalEngine {
  url: string;
  missingExtensions: string[];
  /** Environment gaps the setups must be adapted to (see runner `sqlRewrites`). */
  sqlRewrites: Array<[RegExp, string]>;
  notes: string[];
  stop(): Promise<void>;
}

export interface LocalEngineOptions {
  adminSecret?: string;
  /**
   * Run on a throwaway cluster of the system's PostgreSQL 15 with PostGIS (Debian's
   * `postgresql-15-postgis-3`, which `.ci/run` installs) instead of the test cluster — the server
   * upstream's PostGIS classes need. When it is not installed the engine runs on the test cluster
   * and `missingExtensions` lists `postgis` (those classes are then skipped, saying why).
   */
  postgis?: boolean;
}

/** A database on a PG15+PostGIS cluster this process starts, or the reason there is none. */
async function postgisDatabase(): Promise<{ db?: TestDatabase & { stopCluster(): Promise<void> }; reason?: string }> {
  const { binaries, reason } = systemPgBinaries({ major: 15, extension: 'postgis' });
  if (!binaries) return reason ? { reason } : {};
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'linkport-pg15-'));
  fs.chmodSync(dir, 0o755);
  const running = await startEmbeddedPostgres({ dataDir: path.join(dir, 'data'), persistent: false, binaries });
  running.killOnExit();
  const stopCluster = async () => {
    await running.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const url = new URL(running.url);
  url.pathname = '/conformance';
  const admin = new pg.Client({ connectionString: running.url });
  await admin.connect();
  await admin.query('CREATE DATABASE conformance').finally(() => admin.end());
  return {
    db: {
      name: 'conformance',
      adminUrl: url.toString(),
      roleUrl: () => url.toString(),
      drop: async () => undefined,
      stopCluster,
    },
  };
}

export async function startLocalEngine(opts: LocalEngineOptions = {}): Promise<LocalEngine> {
  const own = opts.postgis ? await postgisDatabase() : {};
  const db: TestDatabase = own.db ?? (await createTestDatabase({ migrated: false }));
  try {
    const client = new pg.Client({ connectionString: db.adminUrl });
    await client.connect();
    const { rows } = await client.query<{ name: string }>(
      `SELECT name FROM unnest(ARRAY['postgis', 'ltree', 'citext']) AS name
        WHERE name NOT IN (SELECT name FROM pg_available_extensions)`,
    );
    // Upstream's test database has PostGIS installed (the `postgis` fixture); the setups only use
    // its types. Install it where the server offers it (e.g. Debian's postgresql-15-postgis-3 with
    // LINKPORT_TEST_PG_URL pointing at that cluster); elsewhere those classes are skipped.
    if (!rows.some((r) => r.name === 'postgis')) await client.query('CREATE EXTENSION IF NOT EXISTS postgis');
    // The suite's setups run `SET lc_monetary TO "en_US.utf-8"`; a machine without that OS locale
    // cannot, so the statement is dropped from setups there (money then formats in the C locale).
    const sqlRewrites: Array<[RegExp, string]> = [];
    const notes: string[] = [];
    if (own.db) notes.push(`PostGIS classes run on the system PostgreSQL 15 (${own.db.adminUrl.replace(/\/\/[^@]*@/, '//')})`);
    else if (own.reason) notes.push(`PostGIS classes are skipped: ${own.reason}`);
    try {
      await client.query(`SET lc_monetary TO "en_US.utf-8"`);
    } catch {
      sqlRewrites.push([/SET\s+lc_monetary\s+TO\s+"en_US\.utf-8"\s*;/gi, '']);
      notes.push('this machine lacks the en_US.utf-8 locale: `SET lc_monetary` is dropped from setups');
    }
    await client.end();
    const config = loadEngineConfig({
      HASURA_GRAPHQL_DATABASE_URL: db.adminUrl,
      ...(opts.adminSecret ? { HASURA_GRAPHQL_ADMIN_SECRET: opts.adminSecret } : {}),
      HASURA_GRAPHQL_STRINGIFY_NUMERIC_TYPES: 'true',
      HASURA_GRAPHQL_ENABLE_CONSOLE: 'false',
      LOG_LEVEL: 'fatal',
      PORT: '0',
    });
    const app = await buildApp(config);
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as AddressInfo;
    return {
      url: `http://127.0.0.1:${port}`,
      missingExtensions: rows.map((r) => r.name),
      sqlRewrites,
      notes,
      stop: async () => {
        await app.close();
        await db.drop();
        if (own.db) {
          await own.db.stopCluster();
          return;
        }
        // A cluster this process started itself (no LINKPORT_TEST_PG_URL) must stop too, or its
        // child process keeps us alive.
        if (!process.env.LINKPORT_TEST_PG_URL) {
          const cluster = (await testCluster()) as { stop?: () => Promise<void> };
          await cluster.stop?.();
        }
      },
    };
  } catch (err) {
    await db.drop().catch(() => undefined);
    await own.db?.stopCluster().catch(() => undefined);
    throw err;
  }
}

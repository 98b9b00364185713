/**
 * The engine under test when no `--url` is given: our engine, in process, on a fresh throwaway
 * database (superuser: the suite's setups create schemas, types and extensions), with the flags
 * the expected outputs assume (`--stringify-numeric-types`).
 *
 * The cluster is started once (`startLocalCluster`) and may serve several engines, each on its own
 * database (the conformance test runs the visible and upstream suites side by side on one cluster).
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
  /**
   * The URL of an engine on the same database started with `env` added to its environment
   * (upstream `hge_env(...)` class marks, e.g. HASURA_GRAPHQL_INFER_FUNCTION_PERMISSIONS=false);
   * started on first use, one per distinct env, stopped with this one.
   */
  withEnv(env: Record<string, string>): Promise<string>;
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
  /** A cluster already started (shared by several engines); it is not stopped with the engine. */
  cluster?: LocalCluster;
}

export interface LocalCluster {
  /** A new empty database on the cluster, dropped by its `drop()`. */
  newDatabase(): Promise<TestDatabase>;
  /** The PG15+PostGIS cluster's URL when that is what runs. */
  postgisUrl?: string;
  /** Why PostGIS was asked for and is not there. */
  postgisMissing?: string;
  stop(): Promise<void>;
}

/** A PG15+PostGIS cluster this process starts when asked and installed, else the test cluster. */
export async function startLocalCluster(opts: { postgis?: boolean } = {}): Promise<LocalCluster> {
  const { binaries, reason } = opts.postgis ? systemPgBinaries({ major: 15, extension: 'postgis' }) : { binaries: undefined, reason: undefined };
  if (!binaries) {
    return {
      newDatabase: () => createTestDatabase({ migrated: false }),
      ...(reason ? { postgisMissing: reason } : {}),
      stop: async () => {
        // A cluster this process started itself (no LINKPORT_TEST_PG_URL) must stop too, or its
        // child process keeps us alive.
        if (!process.env.LINKPORT_TEST_PG_URL) {
          const cluster = (await testCluster()) as { stop?: () => Promise<void> };
          await cluster.stop?.();
        }
      },
    };
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'linkport-pg15-'));
  fs.chmodSync(dir, 0o755);
  const running = await startEmbeddedPostgres({ dataDir: path.join(dir, 'data'), persistent: false, binaries });
  running.killOnExit();
  let n = 0;
  return {
    postgisUrl: running.url,
    newDatabase: async () => {
      const name = `conformance_${++n}`;
      const admin = new pg.Client({ connectionString: running.url });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${name}`).finally(() => admin.end());
      const url = new URL(running.url);
      url.pathname = `/${name}`;
      return { name, adminUrl: url.toString(), roleUrl: () => url.toString(), drop: async () => undefined };
    },
    stop: async () => {
      await running.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function startLocalEngine(opts: LocalEngineOptions = {}): Promise<LocalEngine> {
  const cluster = opts.cluster ?? (await startLocalCluster({ postgis: opts.postgis === true }));
  const ownCluster = !opts.cluster;
  let db: TestDatabase | undefined;
  const apps: Array<{ close(): Promise<unknown> }> = [];
  try {
    db = await cluster.newDatabase();
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
    if (cluster.postgisUrl) notes.push(`PostGIS classes run on the system PostgreSQL 15 (${db.adminUrl.replace(/\/\/[^@]*@/, '//')})`);
    else if (cluster.postgisMissing) notes.push(`PostGIS classes are skipped: ${cluster.postgisMissing}`);
    try {
      await client.query(`SET lc_monetary TO "en_US.utf-8"`);
    } catch {
      sqlRewrites.push([/SET\s+lc_monetary\s+TO\s+"en_US\.utf-8"\s*;/gi, '']);
      notes.push('this machine lacks the en_US.utf-8 locale: `SET lc_monetary` is dropped from setups');
    }
    await client.end();
    const databaseUrl = db.adminUrl;
    const start = async (env: Record<string, string>) => {
      const config = loadEngineConfig({
        HASURA_GRAPHQL_DATABASE_URL: databaseUrl,
        ...(opts.adminSecret ? { HASURA_GRAPHQL_ADMIN_SECRET: opts.adminSecret } : {}),
        HASURA_GRAPHQL_STRINGIFY_NUMERIC_TYPES: 'true',
        HASURA_GRAPHQL_ENABLE_CONSOLE: 'false',
        LOG_LEVEL: 'fatal',
        PORT: '0',
        ...env,
      });
      const app = await buildApp(config);
      apps.push(app);
      await app.listen({ host: '127.0.0.1', port: 0 });
      const { port } = app.server.address() as AddressInfo;
      return `http://127.0.0.1:${port}`;
    };
    const url = await start({});
    const variants = new Map<string, Promise<string>>();
    const dbToDrop = db;
    return {
      url,
      missingExtensions: rows.map((r) => r.name),
      sqlRewrites,
      notes,
      withEnv: (env) => {
        const key = JSON.stringify(Object.entries(env).sort());
        let started = variants.get(key);
        if (!started) {
          started = start(env);
          variants.set(key, started);
        }
        return started;
      },
      stop: async () => {
        for (const app of apps.reverse()) await app.close();
        await dbToDrop.drop();
        if (ownCluster) await cluster.stop();
      },
    };
  } catch (err) {
    for (const app of apps) await app.close().catch(() => undefined);
    await db?.drop().catch(() => undefined);
    if (ownCluster) await cluster.stop().catch(() => undefined);
    throw err;
  }
}

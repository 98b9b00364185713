/**
 * A PostgreSQL outage under the delivery loop: a throwaway PostgreSQL is stopped while the engine
 * delivers, kept down, and started again on the same port. The engine process survives (an
 * unheard pool error would end this test process), its loop keeps retrying the fetch, and once the
 * database is back every event — those committed before the outage and after — is delivered,
 * none lost.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '@linkport/devstack';
import { buildApp } from '../../src/app.ts';
import { loadEngineConfig } from '../../src/config.ts';
import { startReceiver } from './helper.ts';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

void test('the delivery loop survives a PostgreSQL stop and delivers everything once it is back', async (t) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'engine-events-outage-'));
  t.after(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  let pgServer = await startEmbeddedPostgres({ dataDir, persistent: true });
  pgServer.killOnExit();
  t.after(() => pgServer.stop());
  const port = pgServer.port;
  const hook = await startReceiver(t);

  const app = await buildApp(loadEngineConfig({
    HASURA_GRAPHQL_DATABASE_URL: pgServer.url, HASURA_GRAPHQL_ADMIN_SECRET: 'sekret', LOG_LEVEL: 'silent', HASURA_GRAPHQL_EVENTS_FETCH_INTERVAL: '50',
  }));
  t.after(() => app.close());
  const admin = async (body: unknown) => {
    const res = await app.inject({ method: 'POST', url: '/v1/metadata', payload: JSON.stringify(body), headers: { 'content-type': 'application/json', 'x-hasura-admin-secret': 'sekret' } });
    assert.equal(res.statusCode, 200, res.body);
  };
  await admin({ type: 'bulk', args: [
    { type: 'run_sql', args: { sql: 'CREATE TABLE outage_t (id int PRIMARY KEY)' } },
    { type: 'pg_track_table', args: { table: 'outage_t' } },
    { type: 'pg_create_event_trigger', args: { name: 'outage_ins', table: 'outage_t', webhook: hook.url, insert: { columns: '*' } } },
  ] });
  const write = async (sqlText: string) => {
    const c = new pg.Client({ connectionString: pgServer.url });
    await c.connect();
    try {
      return await c.query(sqlText);
    } finally {
      await c.end();
    }
  };
  await write('INSERT INTO outage_t SELECT g FROM generate_series(1, 10) g');
  await hook.waitFor(10);

  // Events committed, then the database goes away before the loop can take them.
  await write('INSERT INTO outage_t SELECT g FROM generate_series(11, 20) g; SELECT pg_sleep(0)');
  await pgServer.stop();
  await sleep(1500); // ~30 failed fetches
  pgServer = await startEmbeddedPostgres({ dataDir, port, persistent: true });
  pgServer.killOnExit();
  await write('INSERT INTO outage_t SELECT g FROM generate_series(21, 30) g');
  await hook.waitFor(30, 30_000);
  for (let i = 0; i < 100; i++) {
    const { rows } = await write('SELECT count(*)::int AS n FROM hdb_catalog.event_log WHERE NOT delivered');
    if (rows[0].n === 0) break;
    await sleep(50);
  }
  const ids = hook.deliveries.map((d) => d.body.event.data.new.id as number).sort((a, b) => a - b);
  assert.deepEqual([...new Set(ids)], Array.from({ length: 30 }, (_, i) => i + 1), 'every event delivered');
  // A delivery in flight when the database went could be sent twice (at-least-once); none is lost.
  const { rows } = await write('SELECT count(*)::int AS n, count(*) FILTER (WHERE delivered)::int AS delivered FROM hdb_catalog.event_log');
  assert.deepEqual(rows[0], { n: 30, delivered: 30 });
  const health = await app.inject({ method: 'GET', url: '/health/ready' });
  assert.equal(health.statusCode, 200);
});

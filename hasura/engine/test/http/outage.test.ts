/**
 * A PostgreSQL outage (issue 11): a throwaway PostgreSQL is stopped under the engine while a
 * transaction and a query are in flight, kept down a few seconds, and started again. The engine
 * process must survive (a client `'error'` nobody listens to would end this test process), answer
 * Hasura's `postgres-error` "connection error" without internals, report 503 on /healthz and
 * /health/ready meanwhile, and serve again by itself afterwards.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres } from '@linkport/devstack';
import { buildApp } from '../../src/app.ts';
import { loadEngineConfig } from '../../src/config.ts';
import { post } from './helper.ts';

const SECRET = { 'x-hasura-admin-secret': 'sekret' };
const USER = { ...SECRET, 'x-hasura-role': 'user', 'x-hasura-user-id': 'u1' };
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const connectionError = { errors: [{ extensions: { path: '$', code: 'postgres-error' }, message: 'connection error' }] };

void test('the engine survives a PostgreSQL stop, answers clean errors and 503s, and recovers by itself', async (t) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'engine-outage-'));
  t.after(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  let pgServer = await startEmbeddedPostgres({ dataDir, persistent: true });
  pgServer.killOnExit();
  t.after(() => pgServer.stop());
  const port = pgServer.port;

  const app = await buildApp(loadEngineConfig({ HASURA_GRAPHQL_DATABASE_URL: pgServer.url, HASURA_GRAPHQL_ADMIN_SECRET: 'sekret', LOG_LEVEL: 'silent' }));
  t.after(() => app.close());
  const setup = await post(app, '/v1/query', {
    type: 'bulk',
    args: [
      {
        type: 'run_sql',
        args: {
          sql: `CREATE TABLE items (id serial PRIMARY KEY, owner text NOT NULL); INSERT INTO items (owner) VALUES ('u1');
                CREATE TABLE sleepy (id serial PRIMARY KEY);
                CREATE FUNCTION nap() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(30); RETURN NEW; END $$;
                CREATE TRIGGER nap BEFORE INSERT ON sleepy FOR EACH ROW EXECUTE FUNCTION nap();
                CREATE VIEW slow AS SELECT 1 AS id, pg_sleep(30)::text AS s;`,
        },
      },
      { type: 'track_table', args: { schema: 'public', name: 'items' } },
      { type: 'track_table', args: { schema: 'public', name: 'sleepy' } },
      { type: 'track_table', args: { schema: 'public', name: 'slow' } },
      { type: 'create_select_permission', args: { table: 'items', role: 'user', permission: { columns: ['id', 'owner'], filter: { owner: 'X-Hasura-User-Id' } } } },
      { type: 'create_select_permission', args: { table: 'slow', role: 'user', permission: { columns: ['id', 's'], filter: {} } } },
    ],
  }, SECRET);
  assert.equal(setup.status, 200, JSON.stringify(setup.body));
  const items = { query: '{ items { id owner } }' };
  const ok = { data: { items: [{ id: 1, owner: 'u1' }] } };
  assert.deepEqual((await post(app, '/v1/graphql', items, USER)).body, ok);
  assert.equal((await app.inject({ url: '/healthz' })).statusCode, 200);

  // In flight when PostgreSQL goes: a mutation (a checked-out client inside a transaction) and a query.
  const mutation = post(app, '/v1/graphql', { query: 'mutation { insert_sleepy_one(object: {}) { id } }' }, SECRET);
  const query = post(app, '/v1/graphql', { query: '{ slow { s } }' }, USER);
  await sleep(300);
  await pgServer.stop();

  const m = await mutation;
  assert.equal(m.status, 200);
  assert.equal(m.body.errors[0].extensions.code, 'postgres-error', JSON.stringify(m.body));
  assert.deepEqual((await query).body, connectionError, 'no internals for a non-admin role');

  // While down: clean errors, 503 readiness, the process alive.
  assert.deepEqual((await post(app, '/v1/graphql', items, USER)).body, connectionError);
  const healthz = await app.inject({ url: '/healthz' });
  assert.equal(healthz.statusCode, 503);
  assert.equal(healthz.body, 'ERROR');
  const ready = await app.inject({ url: '/health/ready' });
  assert.equal(ready.statusCode, 503);
  assert.deepEqual(JSON.parse(ready.body), { status: 'unavailable', checks: { database: 'unreachable', metadata: 'consistent' } });
  assert.equal((await app.inject({ url: '/health/live' })).statusCode, 200);
  await sleep(3000);
  assert.deepEqual((await post(app, '/v1/graphql', items, USER)).body, connectionError);

  // Back: the same data directory and port; nothing is restarted on the engine side.
  pgServer = await startEmbeddedPostgres({ dataDir, port, persistent: true });
  pgServer.killOnExit();
  let answer: unknown;
  for (let i = 0; i < 50; i++) {
    answer = (await post(app, '/v1/graphql', items, USER)).body;
    if (JSON.stringify(answer) === JSON.stringify(ok)) break;
    await sleep(200);
  }
  assert.deepEqual(answer, ok, 'queries are served again');
  assert.equal((await app.inject({ url: '/healthz' })).statusCode, 200);
  assert.equal((await app.inject({ url: '/health/ready' })).statusCode, 200);
  const again = await post(app, '/v1/graphql', { query: 'mutation { insert_items_one(object: {owner: "u2"}) { owner } }' }, SECRET);
  assert.deepEqual(again.body, { data: { insert_items_one: { owner: 'u2' } } }, 'transactions work again');
});

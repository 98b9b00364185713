import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createPool } from '@linkport/common';
import { alive, fakeService, launch, portEnv, readRun, tempDataDir } from './helper.ts';

void test('DATABASE_URL, REDIS_URL, S3_ENDPOINT, HASURA_URL: real servers are used, not started, and not stopped', async (t) => {
  // Stack A provides the "real" servers.
  const aDir = tempDataDir(t);
  const aPorts = await portEnv();
  const a = launch({ ...aPorts, LINKPORT_DATA_DIR: aDir, LINKPORT_SERVICES: 'none' });
  t.after(() => a.proc.kill('SIGKILL'));
  await a.waitFor(/Ctrl-C stops everything/);
  const aPids = readRun(aDir).pids;

  const bDir = tempDataDir(t);
  const bPorts = await portEnv();
  const adminUrl = `postgres://postgres:postgres@127.0.0.1:${aPorts.PG_PORT}/linkport_other`;
  const b = launch({
    ...bPorts,
    LINKPORT_DATA_DIR: bDir,
    LINKPORT_SERVICES: 'none',
    DATABASE_URL: adminUrl,
    REDIS_URL: `redis://127.0.0.1:${aPorts.REDIS_PORT}`,
    S3_ENDPOINT: `http://127.0.0.1:${aPorts.S3_PORT}`,
    S3_ACCESS_KEY_ID: 'S3RVER',
    S3_SECRET_ACCESS_KEY: 'S3RVER',
    S3_BUCKET: 'linkport-media',
    HASURA_URL: 'http://127.0.0.1:9',
    LINKPORT_EXTRA_SERVICES: JSON.stringify([fakeService('fake', bPorts.CORE_PORT!)]),
  });
  t.after(() => b.proc.kill('SIGKILL'));
  await b.waitFor(/Ctrl-C stops everything/);
  const out = b.output();
  assert.match(out, /PostgreSQL \(DATABASE_URL\), Redis \(REDIS_URL\), S3 \(S3_ENDPOINT\) up/);
  assert.match(out, /created database linkport_other/);
  assert.match(out, /│ PostgreSQL \(DATABASE_URL\) +postgres:\/\/postgres:\*\*\*@/, 'a real server’s password is not printed');
  assert.match(out, /│ Hasura \(HASURA_URL\) +http:\/\/127.0.0.1:9/);
  const bPids = readRun(bDir).pids;
  assert.deepEqual(Object.keys(bPids), ['fake']);
  const env = (await (await fetch(`http://127.0.0.1:${bPorts.CORE_PORT}/env`)).json()) as Record<string, string>;
  assert.equal(env.REDIS_URL, `redis://127.0.0.1:${aPorts.REDIS_PORT}`);

  // B migrated the database it was given and set the service roles' passwords.
  const pool = createPool(adminUrl.replace('postgres:postgres', 'core_service:core_service_local'), { max: 1 });
  const { rows } = await pool.query<{ n: string }>("SELECT count(*)::text AS n FROM information_schema.schemata WHERE schema_name = 'core'");
  await pool.end();
  assert.equal(rows[0]?.n, '1');

  b.proc.kill('SIGTERM');
  assert.equal((await b.exit).code, 0, b.output());
  for (const [name, pid] of Object.entries(aPids)) assert.ok(alive(pid), `A's ${name} still runs: B did not own it`);

  a.proc.kill('SIGTERM');
  assert.equal((await a.exit).code, 0);
});

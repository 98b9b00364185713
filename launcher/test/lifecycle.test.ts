import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { createPool, createRedis } from '@linkport/common';
import { alive, fakeService, launch, portEnv, readRun, tempDataDir } from './helper.ts';

void test('start → table + health, SIGTERM stops everything, a second start reuses the data', async (t) => {
  const dataDir = tempDataDir(t);
  const ports = await portEnv();
  const fakePort = ports.CORE_PORT!;
  const env = {
    ...ports,
    LINKPORT_DATA_DIR: dataDir,
    LINKPORT_SERVICES: 'none',
    LINKPORT_EXTRA_SERVICES: JSON.stringify([fakeService('fake', fakePort)]),
  };

  // First run.
  const first = launch(env);
  t.after(() => first.proc.kill('SIGKILL'));
  await first.waitFor(/Ctrl-C stops everything/);
  const out = first.output();
  for (const label of ['PostgreSQL', 'Redis', 'S3', 'media public URL', 'logs', 'fake']) assert.match(out, new RegExp(`│ ${label}`));
  assert.match(out, /applied \d+_roles_and_schemas/);

  const run = readRun(dataDir);
  for (const name of ['postgres', 'redis', 'fake']) assert.ok(run.pids[name] && alive(run.pids[name]), `${name} is running`);
  const health = await fetch(`http://127.0.0.1:${fakePort}/health`);
  assert.equal(health.status, 200);
  const grandchild = Number(await (await fetch(`http://127.0.0.1:${fakePort}/grandchild`)).text());
  assert.ok(alive(grandchild));
  // The child's env: HOST/PORT set by the launcher, the superuser DATABASE_URL not inherited.
  const childEnv = (await (await fetch(`http://127.0.0.1:${fakePort}/env`)).json()) as Record<string, string>;
  assert.equal(childEnv.PORT, fakePort);
  assert.equal(childEnv.HOST, '127.0.0.1');
  assert.equal(childEnv.DATABASE_URL, undefined);
  assert.equal(childEnv.REDIS_URL, `redis://127.0.0.1:${ports.REDIS_PORT}`);
  assert.ok(fs.readFileSync(path.join(dataDir, 'logs', 'fake.log'), 'utf8').includes('fake listening'));

  // The bucket exists with CORS for the gateway's origin (browsers PUT to presigned URLs).
  const preflight = (origin: string) =>
    fetch(`http://127.0.0.1:${ports.S3_PORT}/linkport-media/probe.txt`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'content-type' },
    });
  const allowed = await preflight(`http://localhost:${ports.GATEWAY_PORT}`);
  assert.equal(allowed.status, 200);
  assert.ok(allowed.headers.get('access-control-allow-origin'));
  // s3rver answers a matched rule with `*`; an origin outside the rules is refused.
  assert.equal((await preflight('http://elsewhere.example')).status, 403);

  // Data written during the first run: a row in PostgreSQL and a key in Redis (AOF).
  const pgUrl = `postgres://postgres:postgres@127.0.0.1:${ports.PG_PORT}/linkport`;
  let pool = createPool(pgUrl, { max: 1 });
  await pool.query('CREATE TABLE public.launcher_probe (v text)');
  await pool.query("INSERT INTO public.launcher_probe VALUES ('kept')");
  await pool.end();
  let redis = createRedis(`redis://127.0.0.1:${ports.REDIS_PORT}`);
  await redis.set('launcher:probe', 'kept');
  redis.disconnect();
  const secrets = fs.readFileSync(path.join(dataDir, 'secrets.json'), 'utf8');

  first.proc.kill('SIGTERM');
  const exit = await first.exit;
  assert.equal(exit.code, 0, first.output());
  assert.ok(exit.ms < 8000, `stopped in ${exit.ms} ms`);
  for (const [name, pid] of Object.entries({ ...run.pids, launcher: run.launcherPid })) assert.ok(!alive(pid), `${name} (${pid}) is gone`);
  assert.ok(!alive(grandchild), 'the service’s own child is gone too');

  // Second run on the same data dir, stopped the Ctrl-C way.
  const second = launch(env);
  t.after(() => second.proc.kill('SIGKILL'));
  await second.waitFor(/Ctrl-C stops everything/);
  assert.match(second.output(), /migrations: up to date/);
  assert.doesNotMatch(second.output(), /created database/);
  pool = createPool(pgUrl, { max: 1 });
  const { rows } = await pool.query<{ v: string }>('SELECT v FROM public.launcher_probe');
  await pool.end();
  assert.deepEqual(rows, [{ v: 'kept' }]);
  redis = createRedis(`redis://127.0.0.1:${ports.REDIS_PORT}`);
  assert.equal(await redis.get('launcher:probe'), 'kept');
  redis.disconnect();
  assert.equal(fs.readFileSync(path.join(dataDir, 'secrets.json'), 'utf8'), secrets, 'dev secrets are generated once');

  const run2 = readRun(dataDir);
  second.proc.kill('SIGINT');
  const exit2 = await second.exit;
  assert.equal(exit2.code, 0, second.output());
  for (const [name, pid] of Object.entries({ ...run2.pids, launcher: run2.launcherPid })) assert.ok(!alive(pid), `${name} (${pid}) is gone`);
});

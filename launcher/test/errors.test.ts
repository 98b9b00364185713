import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { redisMissingMessage } from '@linkport/devstack/testing';
import { launch, portEnv, tempDataDir } from './helper.ts';

void test('redis-server missing and install disabled: the one-line explanation, exit 1', async (t) => {
  const run = launch({
    ...(await portEnv()),
    LINKPORT_DATA_DIR: tempDataDir(t),
    LINKPORT_SERVICES: 'none',
    REDIS_SERVER_BIN: '/nonexistent/redis-server',
    LINKPORT_NO_INSTALL: '1',
  });
  t.after(() => run.proc.kill('SIGKILL'));
  const exit = await run.exit;
  assert.equal(exit.code, 1);
  assert.equal(run.stderr().trim(), redisMissingMessage);
  assert.doesNotMatch(run.output(), /PostgreSQL/, 'nothing was started');
});

void test('a port already in use: one line naming the port and the variable to change', async (t) => {
  const ports = await portEnv();
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(Number(ports.PG_PORT), '127.0.0.1', r));
  t.after(() => blocker.close());
  const run = launch({ ...ports, LINKPORT_DATA_DIR: tempDataDir(t), LINKPORT_SERVICES: 'none' });
  t.after(() => run.proc.kill('SIGKILL'));
  const exit = await run.exit;
  assert.equal(exit.code, 1);
  const lines = run.stderr().trim().split('\n');
  assert.equal(lines.length, 1, run.stderr());
  assert.match(lines[0]!, new RegExp(`port ${ports.PG_PORT} \\(PostgreSQL\\) is already in use.*PG_PORT=`));
});

void test('an unknown name in LINKPORT_SERVICES is refused', async (t) => {
  const run = launch({ ...(await portEnv()), LINKPORT_DATA_DIR: tempDataDir(t), LINKPORT_SERVICES: 'core,nope' });
  t.after(() => run.proc.kill('SIGKILL'));
  assert.equal((await run.exit).code, 1);
  assert.match(run.stderr(), /unknown services: nope/);
});

void test('as root, a data dir the postgres user cannot reach: PostgreSQL data goes outside it, the stack starts and stops', { skip: process.getuid?.() !== 0 && 'only root runs PostgreSQL as another user (`postgres`)' }, async (t) => {
  const closed = tempDataDir(t); // mkdtemp: mode 700
  fs.chmodSync(closed, 0o700);
  const run = launch({ ...(await portEnv()), LINKPORT_DATA_DIR: path.join(closed, 'inner', 'data'), LINKPORT_SERVICES: 'none' });
  t.after(() => run.proc.kill('SIGKILL'));
  await run.waitFor(/Linkport is up/, 120_000);
  const m = /PostgreSQL data in (\S+) \(the `postgres` user cannot enter/.exec(run.output());
  assert.ok(m, run.output());
  assert.ok(!m[1]!.startsWith(closed));
  t.after(() => fs.rmSync(m[1]!, { recursive: true, force: true }));
  run.proc.kill('SIGTERM');
  assert.equal((await run.exit).code, 0, run.output());
});

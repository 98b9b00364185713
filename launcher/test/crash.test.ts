import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { alive, fakeService, fixture, killLater, launch, portEnv, readRun, tempDataDir } from './helper.ts';

void test('a child that keeps dying after startup: restarted with backoff, then the crash loop ends the stack with its log tail', async (t) => {
  const dataDir = tempDataDir(t);
  const ports = await portEnv();
  const run = launch({
    ...ports,
    LINKPORT_DATA_DIR: dataDir,
    LINKPORT_SERVICES: 'none',
    LINKPORT_MAX_RESTARTS: '2',
    LINKPORT_RESTART_BACKOFF_MS: '100',
    LINKPORT_EXTRA_SERVICES: JSON.stringify([
      fakeService('fake', ports.CORE_PORT!),
      { name: 'crasher', entry: fixture('crash-service.mjs'), port: Number(ports.MEDIA_PORT), readiness: 'tcp', env: { CRASH_AFTER_MS: '1500' } },
    ]),
  });
  t.after(() => run.proc.kill('SIGKILL'));
  await run.waitFor(/Ctrl-C stops everything/);
  const pids = readRun(dataDir).pids;
  const grandchild = Number(await (await fetch(`http://127.0.0.1:${ports.CORE_PORT}/grandchild`)).text());

  const exit = await run.exit;
  assert.notEqual(exit.code, 0);
  // Two restarts (100 ms, then 200 ms backoff), reported on stdout; the third death gives up.
  assert.match(run.output(), /✖ crasher exited with code 1; restart 1 in 100 ms/);
  assert.match(run.output(), /✖ crasher exited with code 1; restart 2 in 200 ms/);
  assert.doesNotMatch(run.output(), /restart 3/);
  const err = run.stderr();
  assert.match(err, /crasher exited unexpectedly with code 1/);
  assert.match(err, /crasher crashed 3 times within 60 s: giving up/);
  // The last 30 lines: the end of the log, not its beginning.
  assert.match(err, /crash-line 40/);
  assert.match(err, /fatal: simulated crash/);
  assert.doesNotMatch(err, /crash-line 5\b/);
  for (const [name, pid] of Object.entries(pids)) assert.ok(!alive(pid), `${name} (${pid}) is gone`);
  assert.ok(!alive(grandchild));
});

void test('a child that dies once after startup is restarted; the rest of the stack keeps running', async (t) => {
  const dataDir = tempDataDir(t);
  const ports = await portEnv();
  const run = launch({
    ...ports,
    LINKPORT_DATA_DIR: dataDir,
    LINKPORT_SERVICES: 'none',
    LINKPORT_RESTART_BACKOFF_MS: '100',
    LINKPORT_EXTRA_SERVICES: JSON.stringify([
      fakeService('fake', ports.CORE_PORT!),
      {
        name: 'flaky',
        entry: fixture('crash-service.mjs'),
        port: Number(ports.MEDIA_PORT),
        readiness: 'tcp',
        env: { CRASH_AFTER_MS: '300', CRASH_ONCE_FILE: path.join(dataDir, 'crashed-once') },
      },
    ]),
  });
  t.after(() => run.proc.kill('SIGKILL'));
  await run.waitFor(/Ctrl-C stops everything/);
  const before = readRun(dataDir).pids;
  await run.waitFor(/✔ flaky restarted \(pid \d+\)/, 20_000);
  const after = readRun(dataDir);
  assert.notEqual(after.pids.flaky, before.flaky, 'a new process');
  assert.equal(after.pids.fake, before.fake, 'the other service was not touched');
  assert.ok(alive(after.pids.fake!));
  assert.equal((await fetch(`http://127.0.0.1:${ports.MEDIA_PORT}/`)).status, 200, 'the restarted service answers');
  assert.deepEqual((after as { restarts?: Record<string, number> }).restarts, { flaky: 1 });
  run.proc.kill('SIGTERM');
  assert.equal((await run.exit).code, 0);
  for (const [name, pid] of Object.entries(after.pids)) assert.ok(!alive(pid), `${name} (${pid}) is gone`);
});

void test('a child that dies during startup fails the start with its log tail', async (t) => {
  const dataDir = tempDataDir(t);
  const ports = await portEnv();
  const run = launch({
    ...ports,
    LINKPORT_DATA_DIR: dataDir,
    LINKPORT_SERVICES: 'none',
    // Ready only once /health answers 2xx, which this one never does before it exits.
    LINKPORT_EXTRA_SERVICES: JSON.stringify([
      { name: 'early', entry: fixture('crash-service.mjs'), port: Number(ports.CORE_PORT), readiness: '/health', env: { CRASH_AFTER_MS: '200' } },
    ]),
  });
  t.after(() => run.proc.kill('SIGKILL'));
  const exit = await run.exit;
  assert.equal(exit.code, 1);
  assert.match(run.stderr(), /early exited unexpectedly with code 1/);
  assert.match(run.stderr(), /fatal: simulated crash/);
  assert.doesNotMatch(run.output(), /Linkport is up/);
  for (const [name, pid] of Object.entries(readRun(dataDir).pids)) assert.ok(!alive(pid), `${name} (${pid}) is gone`);
});

void test('the launcher’s relay killed outright (SIGKILL): the stack notices and stops itself', async (t) => {
  const dataDir = tempDataDir(t);
  const ports = await portEnv();
  const run = launch({
    ...ports,
    LINKPORT_DATA_DIR: dataDir,
    LINKPORT_SERVICES: 'none',
    LINKPORT_EXTRA_SERVICES: JSON.stringify([fakeService('fake', ports.CORE_PORT!)]),
  });
  t.after(() => run.proc.kill('SIGKILL'));
  await run.waitFor(/Ctrl-C stops everything/);
  const { pids, launcherPid } = readRun(dataDir);
  run.proc.kill('SIGKILL');
  await run.exit;
  const all = { ...pids, launcher: launcherPid };
  const deadline = Date.now() + 10_000;
  while (Object.values(all).some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  for (const [name, pid] of Object.entries(all)) assert.ok(!alive(pid), `${name} (${pid}) is gone`);
});

void test('the launcher itself killed outright (SIGKILL): the relay ends everything it had started', async (t) => {
  const dataDir = tempDataDir(t);
  const ports = await portEnv();
  const run = launch({
    ...ports,
    LINKPORT_DATA_DIR: dataDir,
    LINKPORT_SERVICES: 'none',
    LINKPORT_EXTRA_SERVICES: JSON.stringify([fakeService('fake', ports.CORE_PORT!)]),
  });
  t.after(() => run.proc.kill('SIGKILL'));
  await run.waitFor(/Ctrl-C stops everything/);
  const { pids, launcherPid } = readRun(dataDir);
  const grandchild = Number(await (await fetch(`http://127.0.0.1:${ports.CORE_PORT}/grandchild`)).text());
  process.kill(launcherPid, 'SIGKILL');
  assert.equal((await run.exit).code, 1);
  assert.match(run.stderr(), /the launcher was killed \(SIGKILL\): stopping what it had started/);
  for (const [name, pid] of Object.entries({ ...pids, grandchild })) assert.ok(!alive(pid), `${name} (${pid}) is gone`);
});

void test('relay and launcher both killed outright: the next start names the leftover pids', async (t) => {
  const dataDir = tempDataDir(t);
  const ports = await portEnv();
  const env = { ...ports, LINKPORT_DATA_DIR: dataDir, LINKPORT_SERVICES: 'none' };
  const first = launch(env);
  t.after(() => first.proc.kill('SIGKILL'));
  await first.waitFor(/Ctrl-C stops everything/);
  const { pids, launcherPid } = readRun(dataDir);
  // Nothing that the launcher started can catch this (kill -9 of both): PostgreSQL and Redis
  // outlive it, and the next start says how to end them. (Services under the runtime kit notice
  // their launcher is gone and stop themselves: common/src/runtime.ts.)
  first.proc.kill('SIGKILL');
  process.kill(launcherPid, 'SIGKILL');
  await first.exit;
  t.after(killLater(pids));

  const second = launch(env);
  t.after(() => second.proc.kill('SIGKILL'));
  assert.equal((await second.exit).code, 1);
  const line = second.stderr().trim();
  assert.match(line, new RegExp(`port ${ports.PG_PORT} \\(PostgreSQL\\) is already in use — processes left by a launcher that was killed hold it: \`kill [\\d ]+\``));
  const named = /`kill ([\d ]+)`/.exec(line)![1]!.split(' ').map(Number).sort();
  assert.deepEqual(named, Object.values(pids).sort());
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { alive, launch, portEnv, readRun, tempDataDir } from './helper.ts';

/**
 * The real services, as many as exist in the checkout, through `npm start -- --check` on free ports.
 * Opt-in (LINKPORT_TEST_REAL_SERVICES=1): those services are written in parallel by others and may
 * not boot at a given commit, which is their tests' business, not the launcher's. The other files
 * here prove the launcher itself with stand-in services.
 */
void test('--check with the real services', { skip: process.env.LINKPORT_TEST_REAL_SERVICES !== '1' && 'set LINKPORT_TEST_REAL_SERVICES=1' }, async (t) => {
  const dataDir = tempDataDir(t);
  const run = launch({ ...(await portEnv()), LINKPORT_DATA_DIR: dataDir }, ['--check']);
  t.after(() => run.proc.kill('SIGKILL'));
  const exit = await run.exit;
  assert.equal(exit.code, 0, run.output());
  assert.match(run.output(), /check passed/);
  const { pids, launcherPid } = readRun(dataDir);
  for (const [name, pid] of Object.entries({ ...pids, launcher: launcherPid })) assert.ok(!alive(pid), `${name} (${pid}) is gone`);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { alive, launch, portEnv, readRun, tempDataDir } from './helper.ts';

/**
 * The README's start command with every real service, through `npm start -- --check` on free ports:
 * all of them boot, answer health (through the gateway where public) and stop with no process left.
 * The other files here prove the launcher itself with stand-in services.
 */
void test('--check with the real services', async (t) => {
  const dataDir = tempDataDir(t);
  const run = launch({ ...(await portEnv()), LINKPORT_DATA_DIR: dataDir }, ['--check']);
  t.after(() => run.proc.kill('SIGKILL'));
  const exit = await run.exit;
  assert.equal(exit.code, 0, run.output());
  assert.match(run.output(), /check passed/);
  const { pids, launcherPid } = readRun(dataDir);
  for (const [name, pid] of Object.entries({ ...pids, launcher: launcherPid })) assert.ok(!alive(pid), `${name} (${pid}) is gone`);
});

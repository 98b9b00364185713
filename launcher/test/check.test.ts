import assert from 'node:assert/strict';
import { test } from 'node:test';
import { alive, fakeService, launch, portEnv, readRun, tempDataDir } from './helper.ts';

void test('--check: starts, checks every health endpoint, stops, exit 0', async (t) => {
  const dataDir = tempDataDir(t);
  const ports = await portEnv();
  const run = launch(
    {
      ...ports,
      LINKPORT_DATA_DIR: dataDir,
      LINKPORT_SERVICES: 'none',
      LINKPORT_EXTRA_SERVICES: JSON.stringify([fakeService('one', ports.CORE_PORT!), fakeService('two', ports.MEDIA_PORT!, { after: ['one'] })]),
    },
    ['--check', '--verbose'],
  );
  t.after(() => run.proc.kill('SIGKILL'));
  const exit = await run.exit;
  assert.equal(exit.code, 0, run.output());
  const out = run.output();
  assert.match(out, /Linkport is up/);
  assert.match(out, new RegExp(`✔ one +http://127.0.0.1:${ports.CORE_PORT}/health → 200`));
  assert.match(out, /check passed \(2 endpoints\)/);
  // --verbose: the children's lines on the launcher's output, prefixed with their name.
  assert.match(out, new RegExp(`one │ fake listening on ${ports.CORE_PORT}`));
  // `after`: two started once one was ready.
  assert.ok(out.indexOf('✔ one ready') < out.indexOf('✔ two ready'));
  for (const [name, pid] of Object.entries(readRun(dataDir).pids)) assert.ok(!alive(pid), `${name} (${pid}) is gone`);
});

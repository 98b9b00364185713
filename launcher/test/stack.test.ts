import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createPool } from '@linkport/common';
import { startStack } from '../src/index.ts';
import { alive, fakeService, portEnv, tempDataDir } from './helper.ts';

void test('startStack() in process: endpoints, check(), stop()', async (t) => {
  const ports = await portEnv();
  const lines: string[] = [];
  const stack = await startStack({
    dataDir: tempDataDir(t),
    env: { ...ports, LINKPORT_SERVICES: 'none', LINKPORT_EXTRA_SERVICES: JSON.stringify([fakeService('fake', ports.CORE_PORT!)]) },
    log: (l) => lines.push(l),
  });
  t.after(() => stack.stop());
  assert.equal(stack.endpoints.gateway, undefined);
  assert.equal(stack.endpoints.services.fake, `http://127.0.0.1:${ports.CORE_PORT}`);
  assert.equal(stack.endpoints.s3.bucket, 'linkport-media');
  assert.match(stack.endpoints.hasuraAdminSecret, /^[\w-]{40,}$/);
  const pool = createPool(stack.endpoints.databaseUrl, { max: 1 });
  const { rows } = await pool.query<{ n: string }>("SELECT count(*)::text AS n FROM pg_roles WHERE rolname IN ('core_service', 'media_service', 'redirect_service', 'links_admin')");
  await pool.end();
  assert.equal(rows[0]?.n, '4');
  assert.deepEqual(await stack.check(), [{ name: 'fake', url: `http://127.0.0.1:${ports.CORE_PORT}/health`, status: 200, ok: true }]);
  assert.ok(lines.some((l) => l.includes('✔ fake ready')));

  await stack.stop();
  for (const [name, pid] of Object.entries(stack.pids)) assert.ok(!alive(pid), `${name} (${pid}) is gone`);
});

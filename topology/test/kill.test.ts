/**
 * The kill test (topology/src/kill-test.ts) as a test: the whole topology, KILL_TEST_REDIRECTS
 * redirects (default 100,000) while a redirect replica, a worker and a Redis master are SIGKILLed.
 * Long (minutes, the whole topology on this machine), so it runs under LINKPORT_LONG=1 or as
 * `npm run test:scale`, not in every `npm test`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runKillTest } from '../src/kill-test.ts';

const skip = process.env.LINKPORT_LONG === '1' ? false : 'the kill test starts the whole topology for minutes: run it with LINKPORT_LONG=1 or `npm run test:scale`';

void test('kill test: a redirect, a worker and a Redis master killed under load; every request answered, every click that reached Redis stored once', { skip, timeout: 3_600_000 }, async (t) => {
  const concurrency = Number(process.env.KILL_TEST_CONCURRENCY ?? 16);
  const r = await runKillTest({
    redirects: Number(process.env.KILL_TEST_REDIRECTS ?? 100_000),
    concurrency,
    basePort: Number(process.env.TOPOLOGY_BASE_PORT ?? 24500),
    log: (l) => t.diagnostic(l),
  });
  t.diagnostic(JSON.stringify(r));
  assert.equal(r.unanswered, 0, 'every request answered (client retries allowed)');
  assert.equal(r.lostAfterRedisPostgres, 0, 'every click in Redis reached PostgreSQL once');
  if (r.lostAfterRedisClickhouse !== undefined) assert.equal(r.lostAfterRedisClickhouse, 0, 'and ClickHouse');
  // A SIGKILLed redirect loses what it answered but had not yet appended: its linger batch and the
  // batch in flight, at most one request per client each.
  assert.ok(r.lostBeforeRedis >= 0 && r.lostBeforeRedis <= 2 * concurrency, `lost in the killed redirect: ${r.lostBeforeRedis}`);
});

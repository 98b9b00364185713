/**
 * CI guard for the conformance runner and the engine together: the whole visible Hasura suite
 * (docs/hasura-suite.md) and the committed upstream directories at 100 % must stay there. Ad hoc
 * runs: `npm run conformance -w @linkport/hasura-engine [-- --suite conformance/upstream]`.
 */
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { currentWording, runConformance } from '../../conformance/runner.ts';
import { defaultSuiteDir, suiteTestOptions } from '../../conformance/suite.ts';
import { startLocalCluster, startLocalEngine, type LocalCluster } from '../../conformance/local.ts';
import { upstreamShards } from '../../conformance/complete.ts';
import { compareBody } from '../../conformance/compare.ts';


void test('comparison follows validate.py: key order along the selection, numbers by value', () => {
  const q = '{ author { id name } }';
  assert.equal(compareBody({ data: { author: [{ id: 1, name: 'a' }] } }, { data: { author: [{ id: 1.0, name: 'a' }] } }, q).difference, undefined);
  assert.equal(compareBody({ data: { author: [{ id: 1, name: 'a' }] } }, { data: { author: [{ name: 'a', id: 1 }] } }, q).difference?.reason, 'key order');
  // Leaves (json values) and aliased selections compare without order.
  assert.equal(compareBody({ data: { a: [{ id: 1, name: 'a' }] } }, { data: { a: [{ name: 'a', id: 1 }] } }, '{ a: author { id name } }').difference, undefined);
  const err = compareBody({ errors: [{ message: 'x', extensions: { code: 'c', path: '$' } }] }, { errors: [{ message: 'y', extensions: { path: '$', code: 'c' } }] }, q);
  assert.equal(err.errorTextOnly, true);
});


/**
 * The whole visible suite, every transport its classes list, and the upstream directories kept at
 * 100 %, on the system PostgreSQL 15 with PostGIS when it is installed (`.ci/run` installs Debian's
 * postgresql-15-postgis-3) — upstream's PostGIS classes then run; without it they are reported
 * skipped with the reason, the rest runs on the test cluster. One cluster serves both runs, each
 * on its own database and engine, side by side (they only share the server). Not one failure
 * (error texts included: 2022-era wordings are compared as current Hasura gives them, runner.ts
 * `currentWording`). Skips are only the reasons listed.
 */
void describe('Hasura test data', { concurrency: true }, () => {
  let cluster: LocalCluster | undefined;
  before(async () => {
    cluster = await startLocalCluster({ postgis: true });
  });
  after(async () => {
    await cluster?.stop();
  });

  const run = async (t: TestContext, suiteDir: string, dirs?: string[]) => {
    const engine = await startLocalEngine({ cluster: cluster! });
    t.after(() => engine.stop());
    for (const n of engine.notes) t.diagnostic(n);
    if (process.env.LINKPORT_REQUIRE_POSTGIS === '1') {
      assert.ok(!engine.missingExtensions.includes('postgis'), `LINKPORT_REQUIRE_POSTGIS=1 but: ${engine.notes.join('; ')}`);
    }
    const lines: string[] = [];
    const report = await runConformance({
      url: engine.url,
      suiteDir,
      ...(dirs ? { dirs } : {}),
      missingExtensions: engine.missingExtensions,
      sqlRewrites: engine.sqlRewrites,
      engineFor: engine.withEnv,
      log: (l) => lines.push(l),
    });
    assert.deepEqual(lines.filter((l) => l.startsWith('FAIL')), []);
    const allowedSkips = new Set(['python-only test', 'xfail upstream', 'needs the JWT/webhook harness mode', 'needs PostGIS']);
    assert.deepEqual(report.results.filter((r) => r.outcome === 'skip' && !allowedSkips.has(r.reason ?? '')).map((r) => `${r.dir}/${r.name}: ${r.reason}`), []);
    return { report, postgis: !engine.missingExtensions.includes('postgis') };
  };

  void test('the whole Hasura suite passes (PostGIS classes on the system PostgreSQL 15 when installed)', suiteTestOptions(), async (t) => {
    const { report, postgis } = await run(t, defaultSuiteDir);
    const geo = report.results.filter((r) => r.dir === 'graphql_mutation/delete/basic');
    if (!postgis) assert.ok(geo.every((r) => r.outcome === 'skip' && r.reason === 'needs PostGIS'));
    else assert.ok(geo.length > 0 && geo.every((r) => r.outcome === 'pass'));
    assert.ok(report.passed >= (postgis ? 646 : 535), `${report.passed} passed`);
  });

  // Two shards run beside the visible suite (conformance/complete.ts): most of a run is waiting
  // on PostgreSQL, so three engines on one cluster overlap well (`node --import tsx conformance/bench.ts`).
  const shards = upstreamShards;
  const upstreamPassed: number[] = [];
  for (const [i, shard] of shards.entries()) {
    void test(`upstream directories at 100 % stay there (${i + 1}/${shards.length}: ${shard.join(', ')})`, async (t) => {
      const { report, postgis } = await run(t, path.join(import.meta.dirname, '../../conformance/upstream'), shard);
      // Every listed directory ran (a renamed one would otherwise pass vacuously).
      const ran = [...new Set(report.results.map((r) => r.dir))];
      assert.deepEqual(shard.filter((d) => !ran.some((x) => x === d || x.startsWith(`${d}/`))), []);
      upstreamPassed.push(report.passed);
      if (upstreamPassed.length === shards.length) {
        const total = upstreamPassed.reduce((a, b) => a + b, 0);
        assert.ok(total >= (postgis ? 850 : 400), `${total} passed`);
      }
    });
  }
});


void test('2022-era messages are compared in current wording, data as written', () => {
  assert.deepEqual(
    currentWording({ errors: [{ message: 'field "random" not found in type: \'query_root\'' }], data: { s: 'field "x"' } }),
    { errors: [{ message: "field 'random' not found in type: 'query_root'" }], data: { s: 'field "x"' } },
  );
  assert.deepEqual(currentWording({ error: 'expected an object for type "t"' }), { error: "expected an object for type 't'" });
  // Metadata texts keep their double quotes, and an inconsistency's reason reads as its error.
  const computed = 'in table "author": in computed field "full_name": no such function exists: "f"';
  assert.deepEqual(currentWording({ internal: [{ reason: computed }], error: computed }), { internal: [{ reason: computed }], error: computed });
  assert.deepEqual(
    currentWording({ internal: [{ reason: 'field "a" not found in type: \'t\'' }], error: 'field "a" not found in type: \'t\'' }),
    { internal: [{ reason: "field 'a' not found in type: 't'" }], error: "field 'a' not found in type: 't'" },
  );
});

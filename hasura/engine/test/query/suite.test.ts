/**
 * Hasura's own graphql_query cases (docs/hasura-suite.md) through the bridge loader, straight
 * into createEngine. A regression floor per directory; the real runner (HTTP, both halves) is
 * `npm run conformance`. Known gaps: postgis (geometry),
 * mutations in a batch, invalid-relationship metadata setup.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runDir } from './suite/loader.ts';
import { suiteTestOptions } from '../../conformance/suite.ts';

const FLOOR: Record<string, number> = {
  'graphql_query/basic': 44, 'graphql_query/boolexp/basic': 24, 'graphql_query/limits': 5, 'graphql_query/offset': 4,
  'graphql_query/order_by': 14, 'graphql_query/aggregations': 5, 'graphql_query/agg_perm': 10,
  'graphql_query/permissions': 30, 'graphql_query/custom_schema': 2,
};

void test('hasura-suite graphql_query directories', suiteTestOptions(), async (t) => {
  for (const [dir, floor] of Object.entries(FLOOR)) {
    await t.test(dir, async () => {
      const { results } = await runDir(dir);
      const failed = results.filter((r) => !r.ok);
      const passed = results.length - failed.length;
      t.diagnostic(`${dir}: ${passed}/${results.length}`);
      assert.ok(passed >= floor, `${dir}: ${passed} < ${floor}\n${failed.map((f) => `${f.file}#${f.index}: ${f.detail ?? ''}`.slice(0, 600)).join('\n')}`);
    });
  }
});

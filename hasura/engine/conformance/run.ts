/**
 * npm run conformance -w @linkport/hasura-engine -- [--dirs graphql_query/basic,…] [--url URL]
 *   [--admin-secret S] [--transport http,websocket] [--list-failures] [--suite DIR] [--json FILE]
 *   [--embedded-pg]  (stay on the test cluster even when the system PostgreSQL 15 has PostGIS)
 *   [--raw-messages]  (compare 2022 YAML's messages verbatim, without `currentWording` in runner.ts)
 *
 * Runs Hasura's own test data (docs/hasura-suite.md) against `--url` (any engine, real Hasura
 * included) or, by default, against our engine started in process on a throwaway database.
 * One line per case, then per-directory counts and `N passed, N failed, N skipped`; exit 1 on
 * any failure.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runConformance, type Report } from './runner.ts';
import { defaultSuiteDir } from './suite.ts';
import { startLocalEngine, type LocalEngine } from './local.ts';

const { values } = parseArgs({
  options: {
    dirs: { type: 'string' },
    url: { type: 'string' },
    'admin-secret': { type: 'string' },
    transport: { type: 'string' },
    'list-failures': { type: 'boolean', default: false },
    'raw-messages': { type: 'boolean', default: false },
    suite: { type: 'string' },
    json: { type: 'string' },
    'embedded-pg': { type: 'boolean', default: false },
  },
});

const list = (s: string | undefined) => s?.split(',').map((x) => x.trim()).filter(Boolean);

export function summarize(report: Report, log: (l: string) => void, listFailures: boolean): void {
  const byDir = new Map<string, { pass: number; fail: number; skip: number; errorText: number }>();
  for (const r of report.results) {
    const d = byDir.get(r.dir) ?? { pass: 0, fail: 0, skip: 0, errorText: 0 };
    d[r.outcome]++;
    if (r.errorTextOnly) d.errorText++;
    byDir.set(r.dir, d);
  }
  if (listFailures) {
    for (const r of report.results.filter((x) => x.outcome === 'fail')) {
      log(`\n--- ${r.dir}/${r.name} (${r.transport}): ${r.reason ?? ''}`);
      if (r.difference) {
        log(`  at ${r.difference.path} (${r.difference.reason})`);
        log(`  expected: ${JSON.stringify(r.difference.expected)}`);
        log(`  actual:   ${JSON.stringify(r.difference.actual)}`);
      }
    }
  }
  log('');
  for (const [dir, d] of byDir) {
    log(`${dir}: ${d.pass} passed, ${d.fail} failed${d.errorText ? ` (${d.errorText} only in error text)` : ''}, ${d.skip} skipped`);
  }
  const errorText = report.results.filter((r) => r.errorTextOnly).length;
  log(`${report.passed} passed, ${report.failed} failed, ${report.skipped} skipped${errorText ? ` (${errorText} failures differ only in error text)` : ''}`);
}

let local: LocalEngine | undefined;
try {
  const adminSecret = values['admin-secret'];
  let url = values.url;
  let missingExtensions: string[] = [];
  let sqlRewrites: Array<[RegExp, string]> = [];
  if (!url) {
    // PostGIS classes need the system PostgreSQL 15 with PostGIS; without it they are skipped.
    local = await startLocalEngine({ ...(adminSecret ? { adminSecret } : {}), postgis: values['embedded-pg'] !== true });
    url = local.url;
    missingExtensions = local.missingExtensions;
    sqlRewrites = local.sqlRewrites;
    for (const n of local.notes) console.log(`NOTE ${n}`);
  }
  const suiteDir = path.resolve(values.suite ?? defaultSuiteDir);
  const report = await runConformance({
    url,
    suiteDir,
    ...(list(values.dirs) ? { dirs: list(values.dirs)! } : {}),
    ...(adminSecret ? { adminSecret } : {}),
    ...(list(values.transport) ? { transports: list(values.transport)! } : {}),
    missingExtensions,
    sqlRewrites,
    rawMessages: values['raw-messages'],
    // Classes with `hge_env` marks get a second in-process engine with that env; with --url they are skipped.
    ...(local ? { engineFor: local.withEnv } : {}),
  });
  summarize(report, (l) => console.log(l), values['list-failures']);
  if (values.json) fs.writeFileSync(values.json, JSON.stringify(report, null, 2));
  process.exitCode = report.failed > 0 ? 1 : 0;
} catch (err) {
  console.error(err);
  process.exitCode = 2;
} finally {
  await local?.stop().catch(() => undefined);
}

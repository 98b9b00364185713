/**
 * Builds `conformance/upstream/` (a suite in the shape of the Hasura suite, docs/hasura-suite.md: `manifest.json` +
 * `queries/**` data files) from a local git copy of Hasura's public repository:
 *
 *   node --import tsx conformance/upstream/extract.ts <git-dir> [<commit>]
 *
 * It reads upstream's pytest files only to learn, per test class, its directory (`dir()`), its
 * fixtures (`@usefixtures(...)`, including `name = usefixtures(...)` aliases), its transports
 * (`@pytest.mark.parametrize('transport', [...])`), `setup_metadata_api_version`, and per test the
 * YAML files it hands to `check_query_f` in order. Tests doing anything else are recorded as
 * `python-only` and skipped by the runner. Only YAML data is copied — no upstream code.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { ManifestClass } from '../suite.ts';

/** The classes ported: the directories issue 13 names (metadata consistency, /v1/query, enums, computed fields, functions). */
const wantedDirs = [
  'queries/inconsistent_objects',
  'queries/v1/select/basic',
  'queries/v1/count/basic',
  'queries/v1/delete',
  'queries/v1/relationships',
  'queries/v1/track_table',
  'queries/v1/run_sql',
  'queries/v1/set_table_is_enum',
  'queries/v1/computed_fields',
  'queries/v1/basic',
  'queries/graphql_query/enums',
  'queries/graphql_query/computed_fields',
  'queries/graphql_query/functions',
  'queries/graphql_query/boolexp/postgis',
  'queries/v1/select/boolexp/postgis',
  'queries/graphql_mutation/insert/geojson',
  'queries/graphql_mutation/enums',
  'queries/graphql_query/functions/permissions',
  'queries/graphql_mutation/functions',
  'queries/graphql_mutation/functions/permissions/roles_inheritance',
  'queries/graphql_query/permissions/inherited_roles',
  'queries/graphql_query/permissions/roles_inheritance',
  'queries/graphql_mutation/roles_inheritance',
  // /v1/query data queries (issue 13 item 5) and metadata refusals (item 4).
  'queries/v1/select/permissions',
  'queries/v1/select/boolexp/basic',
  'queries/v1/select/boolexp/jsonb',
  'queries/v1/select/boolexp/search',
  'queries/v1/select/limits',
  'queries/v1/select/offset',
  'queries/v1/count/permissions',
  'queries/v1/insert/basic',
  'queries/v1/insert/onconflict',
  'queries/v1/insert/permissions',
  'queries/v1/update/basic',
  'queries/v1/update/permissions',
  'queries/v1/permissions',
  'queries/v1/set_table_configuration',
  'queries/v1/set_table_custom_fields',
  'queries/v1/non_empty_text',
  'queries/v1/bulk',
  // Issue 15: event triggers whose expectations are YAML, and the webhook transform command.
  'queries/event_triggers/create-delete',
  'queries/event_triggers/manual_events',
  'queries/event_triggers/transform',
  'queries/event_triggers/basic',
  'queries/event_triggers/insert_only',
  'queries/event_triggers/headers',
  'queries/event_triggers/webhook_env',
  'queries/event_triggers/webhook_template_url',
  'queries/event_triggers/retry_conf',
  'queries/event_triggers/update_query',
  'queries/event_triggers/selected_cols',
  'queries/event_triggers/selected_payload',
  'queries/event_triggers/delete_query',
  'queries/event_triggers/async_execution',
  'queries/event_triggers/data_format',
  'queries/event_triggers/flood',
  'queries/v1/metadata',
  'queries/scheduled_triggers',
];
/**
 * Classes of which only some tests are ported (their directory holds many other tests' files):
 * the other tests are left out, and only the YAML the kept tests name (and the class's setup and
 * teardown) is copied.
 */
const wantedTests: Record<string, RegExp> = {
  'queries/v1/metadata': /^test_webhook_transform/,
};
const testFiles = ['test_v1_queries.py', 'test_graphql_queries.py', 'test_graphql_mutations.py', 'test_inconsistent_meta.py', 'test_roles_inheritance.py', 'test_events.py', 'test_metadata.py', 'test_scheduled_triggers.py'];

const [gitDir, commit = 'HEAD'] = process.argv.slice(2);
if (!gitDir) {
  console.error('usage: extract.ts <git-dir> [<commit>]');
  process.exit(2);
}
const show = (p: string) => execFileSync('git', ['--git-dir', gitDir, 'show', `${commit}:${p}`], { maxBuffer: 64 << 20 }).toString('utf8');
const ls = (p: string) =>
  execFileSync('git', ['--git-dir', gitDir, 'ls-tree', '-r', '--name-only', commit, p], { maxBuffer: 64 << 20 })
    .toString('utf8')
    .split('\n')
    .filter(Boolean);

const strings = (s: string) => [...s.matchAll(/['"]([^'"]+)['"]/g)].map((m) => m[1]!);

/** `fallbackDir`: the directory of classes that define no `dir()` (TestCronTrigger has none). */
function parse(source: string, fallbackDir?: string): ManifestClass[] {
  const aliases = new Map<string, string[]>();
  for (const m of source.matchAll(/^(\w+)\s*=\s*(?:pytest\.mark\.)?usefixtures\(([\s\S]*?)\)/gm)) aliases.set(m[1]!, strings(m[2]!));
  const out: ManifestClass[] = [];
  const lines = source.split('\n');
  let decorators: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith('@')) {
      decorators.push(line);
      continue;
    }
    const cm = /^class (\w+)/.exec(line);
    if (!cm) {
      // A comment between decorators (TestEventFloodPostgresMSSQL's) keeps them.
      if (line.trim() && !line.startsWith(' ') && !line.startsWith('#')) decorators = [];
      continue;
    }
    let end = i + 1;
    while (end < lines.length && (lines[end]!.startsWith(' ') || lines[end]!.trim() === '' || lines[end]!.startsWith('#'))) end++;
    const body = lines.slice(i + 1, end).join('\n');
    const fixtures: string[] = [];
    const marks: string[] = [];
    let transport: string[] | null = null;
    for (const d of decorators) {
      const u = /^@(?:pytest\.mark\.)?usefixtures\(([\s\S]*)\)/.exec(d);
      if (u) fixtures.push(...strings(u[1]!));
      else if (aliases.has(d.slice(1).trim())) fixtures.push(...aliases.get(d.slice(1).trim())!);
      else if (/parametrize\(\s*['"]transport['"]/.test(d)) transport = strings(d.replace(/^.*?transport['"]\s*,/, ''));
      else marks.push(d.replace(/^@(pytest\.mark\.)?/, ''));
    }
    decorators = [];
    const dirM = /def dir\(cls\):\s*\n\s*return\s*['"]([^'"]+)['"]/.exec(body);
    // TestDeleteEventQuery names its fixture files instead of a dir(): `directory = '…'` and
    // `setup_files` / `teardown_files` lists of `directory + '/x/setup.yaml'` (conftest.py reads them).
    const base = /^\s+directory\s*=\s*['"]([^'"]+)['"]/m.exec(body)?.[1];
    const fileList = (name: string) => {
      const m = new RegExp(`^\\s+${name}\\s*=\\s*\\[([\\s\\S]*?)\\]`, 'm').exec(body);
      return m && base ? strings(m[1]!).map((x) => `${base}${x}`) : undefined;
    };
    const setupFiles = fileList('setup_files');
    const teardownFiles = fileList('teardown_files');
    if (!dirM && !fallbackDir && !teardownFiles?.length) continue;
    const dir = dirM ? dirM[1]!.replace(/\/$/, '') : teardownFiles?.length ? path.dirname(teardownFiles[0]!) : fallbackDir!;
    const attrs: Record<string, unknown> = {};
    if (setupFiles) attrs.setup_files = setupFiles;
    if (teardownFiles) attrs.teardown_files = teardownFiles;
    const v2 = /setup_metadata_api_version\s*=\s*['"](\w+)['"]/.exec(body);
    if (v2) attrs.setup_metadata_api_version = v2[1];
    const tests: ManifestClass['tests'] = [];
    const defs = [...body.matchAll(/((?:^ {4}@.*\n)*)^ {4}def (test_\w+)\(([^)]*)\):([\s\S]*?)(?=^ {4}(?:@|def |\S)|(?![\s\S]))/gm)];
    for (const d of defs) {
      const tBody = d[4]!;
      const yamls = [...tBody.matchAll(/check_query_f\(\s*hge_ctx\s*,\s*self\.dir\(\)\s*\+\s*['"]\/?([^'"]+)['"]/g)].map((m) => m[1]!);
      const calls = [...tBody.matchAll(/^\s+(\w[\w.]*)\(/gm)].map((m) => m[1]!);
      const onlyChecks = yamls.length > 0 && calls.every((c) => c === 'check_query_f');
      const tMarks = (d[1] ?? '').split('\n').map((l) => l.trim()).filter(Boolean).map((l) => l.replace(/^@(pytest\.mark\.)?/, ''));
      tests.push({ name: d[2]!, yamls, kind: onlyChecks ? 'check_query_f' : 'python-only', marks: tMarks, transport: null });
    }
    out.push({ class: cm[1]!, dir, fixtures, marks, transport, attrs, tests });
  }
  return out;
}

const outDir = import.meta.dirname;
const manifest: ManifestClass[] = [];
for (const file of testFiles) {
  for (const c of parse(show(`server/tests-py/${file}`), file === 'test_scheduled_triggers.py' ? 'queries/scheduled_triggers' : undefined)) {
    // MSSQL-only classes (`@pytest.mark.backend('mssql')`) share the Postgres directories.
    const backend = c.marks.find((m) => m.startsWith('backend('));
    if (!wantedDirs.includes(c.dir) || (backend && !backend.includes("'postgres'"))) continue;
    const only = wantedTests[c.dir];
    if (only) c.tests = c.tests.filter((t) => only.test(t.name));
    if (c.tests.length) manifest.push(c);
  }
}
const copied = new Set<string>();
for (const dir of new Set(manifest.map((c) => c.dir))) {
  for (const p of ls(`server/tests-py/${dir}`)) {
    const rel = p.replace(/^server\/tests-py\//, '');
    if (!/\.ya?ml$/.test(rel) || rel.slice(dir.length + 1).includes('/')) continue;
    const base = rel.slice(dir.length + 1);
    const named = manifest.filter((c) => c.dir === dir).flatMap((c) => c.tests.flatMap((t) => t.yamls));
    if (wantedTests[dir] && !named.includes(base) && !/^(pre_|post_)?(setup|teardown|schema_setup|schema_teardown)\.yaml$/.test(base)) continue;
    if (/mssql/.test(base)) continue;
    const dest = path.join(outDir, rel);
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.writeFileSync(dest, show(p));
    copied.add(rel);
  }
}
const clearDb = 'queries/clear_db.yaml';
fs.writeFileSync(path.join(outDir, clearDb), show(`server/tests-py/${clearDb}`));
fs.writeFileSync(path.join(outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 1)}\n`);
console.log(`${manifest.length} classes, ${manifest.reduce((n, c) => n + c.tests.length, 0)} tests, ${copied.size} YAML files`);

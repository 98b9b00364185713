/**
 * The suite on disk (docs/hasura-suite.md): manifest classes, their fixture style,
 * and the YAML files each test runs.
 */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';

export interface ManifestTest {
  name: string;
  yamls: string[];
  kind: string;
  marks: string[];
  transport: string[] | null;
}

export interface ManifestClass {
  class: string;
  dir: string;
  fixtures: string[];
  marks: string[];
  transport: string[] | null;
  attrs: Record<string, unknown>;
  tests: ManifestTest[];
}

export interface Case {
  description?: string;
  url: string;
  status: number;
  headers?: Record<string, unknown>;
  query?: unknown;
  response?: unknown;
  allowed_responses?: Array<{ response?: unknown; resp_headers?: Record<string, unknown> }>;
  resp_headers?: Record<string, unknown>;
  method?: string;
  body?: unknown;
}

/**
 * Hasura's own test data (a copy of upstream server/tests-py YAML; see docs/hasura-suite.md):
 * LINKPORT_HASURA_SUITE, else `../shared/hasura-suite` beside the checkout, where the project's
 * machines keep it. It is not in the repository; tests that need it say so in one skipped test when
 * it is absent, unless LINKPORT_REQUIRE_HASURA_SUITE=1 (CI sets it), which makes its absence a failure.
 */
export const defaultSuiteDir = path.resolve(process.env.LINKPORT_HASURA_SUITE ?? path.join(import.meta.dirname, '../../../../shared/hasura-suite'));

/** `undefined` when the suite is there; else why the suite tests cannot run (for a skip or a failure). */
export function suiteMissing(dir = defaultSuiteDir): string | undefined {
  if (fs.existsSync(path.join(dir, 'manifest.json'))) return undefined;
  return `Hasura's test suite is not at ${dir}: set LINKPORT_HASURA_SUITE to a copy of the Hasura suite (docs/hasura-suite.md says what it holds)`;
}

/** Test options: skip with the reason when the suite is absent, unless it is required (CI). */
export function suiteTestOptions(): { skip?: string } {
  const missing = suiteMissing();
  if (!missing) return {};
  if (process.env.LINKPORT_REQUIRE_HASURA_SUITE === '1') throw new Error(`${missing} (LINKPORT_REQUIRE_HASURA_SUITE=1)`);
  return { skip: missing };
}

export function loadManifest(suiteDir: string): ManifestClass[] {
  return JSON.parse(fs.readFileSync(path.join(suiteDir, 'manifest.json'), 'utf8')) as ManifestClass[];
}

export function readYaml(file: string): unknown {
  const text = fs.readFileSync(file, 'utf8');
  try {
    return YAML.parse(text, { merge: true, maxAliasCount: -1 });
  } catch (err) {
    // PyYAML (upstream's loader) accepts a multi-line double-quoted value whose continuation lines
    // are indented no deeper than its key (inherited_roles/basic_inherited_roles.yaml); the yaml
    // package does not. Retry with those continuation lines indented under the key.
    const fixed = text.replace(/^( *)(- )?([\w-]+: "[^"\n]*)\n((?:\1 {0,2}[^ \n][^"\n]*\n)*?\1 {0,2}[^ \n][^\n]*"\n)/gm,
      (_m, ind: string, dash: string | undefined, head: string, rest: string) =>
        `${ind}${dash ?? ''}${head}\n${rest.split('\n').map((l) => (l ? `${ind}    ${l.trimStart()}` : l)).join('\n')}`);
    if (fixed === text) throw err;
    return YAML.parse(fixed, { merge: true, maxAliasCount: -1 });
  }
}

/** A case file's cases: a mapping, or a list of mappings run in order. */
export function readCases(file: string): Case[] {
  const v = readYaml(file);
  return (Array.isArray(v) ? v : [v]) as Case[];
}

/** `queries/graphql_query/basic` → `graphql_query/basic`. */
export const shortDir = (dir: string) => dir.replace(/^queries\//, '');

export type FixtureStyle = 'class' | 'method' | 'mutation' | 'v2';

/** per_method_db_data_for_mutation_tests: values_setup/values_teardown around each test, whatever the setup API version. */
export const hasValuesFixture = (c: ManifestClass): boolean =>
  c.fixtures.includes('use_mutation_fixtures') || c.fixtures.includes('per_method_db_data_for_mutation_tests');

export function fixtureStyle(c: ManifestClass): FixtureStyle {
  // conftest.py compares with "v1": any other value ("v2", "2") is the metadata-API setup.
  if (c.attrs.setup_metadata_api_version !== undefined && c.attrs.setup_metadata_api_version !== 'v1') return 'v2';
  // Current upstream spells the mutation fixtures per_class_db_schema_for_mutation_tests +
  // per_method_db_data_for_mutation_tests (schema_setup per class, values_setup per test), as the
  // 2022 suite's use_mutation_fixtures did (tests-py/conftest.py).
  if (c.fixtures.includes('use_mutation_fixtures') || c.fixtures.includes('per_class_db_schema_for_mutation_tests')) return 'mutation';
  if (c.fixtures.includes('per_method_tests_db_state')) return 'method';
  return 'class';
}

/** Classes parametrised over backends run only when `postgres` is among them. */
export function runsOnPostgres(c: ManifestClass): boolean {
  const mark = c.marks.find((m) => m.includes("'backend'"));
  return !mark || mark.includes("'postgres'");
}

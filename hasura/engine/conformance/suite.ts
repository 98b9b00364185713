/**
 * The suite on disk (../shared/hasura-suite, README there): manifest classes, their fixture style,
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

export const defaultSuiteDir = path.resolve(import.meta.dirname, '../../../../shared/hasura-suite');

export function loadManifest(suiteDir: string): ManifestClass[] {
  return JSON.parse(fs.readFileSync(path.join(suiteDir, 'manifest.json'), 'utf8')) as ManifestClass[];
}

export function readYaml(file: string): unknown {
  return YAML.parse(fs.readFileSync(file, 'utf8'), { merge: true, maxAliasCount: -1 });
}

/** A case file's cases: a mapping, or a list of mappings run in order. */
export function readCases(file: string): Case[] {
  const v = readYaml(file);
  return (Array.isArray(v) ? v : [v]) as Case[];
}

/** `queries/graphql_query/basic` → `graphql_query/basic`. */
export const shortDir = (dir: string) => dir.replace(/^queries\//, '');

export type FixtureStyle = 'class' | 'method' | 'mutation' | 'v2';

export function fixtureStyle(c: ManifestClass): FixtureStyle {
  if (c.attrs.setup_metadata_api_version === 'v2') return 'v2';
  if (c.fixtures.includes('use_mutation_fixtures')) return 'mutation';
  if (c.fixtures.includes('per_method_tests_db_state')) return 'method';
  return 'class';
}

/** Classes parametrised over backends run only when `postgres` is among them. */
export function runsOnPostgres(c: ManifestClass): boolean {
  const mark = c.marks.find((m) => m.includes("'backend'"));
  return !mark || mark.includes("'postgres'");
}

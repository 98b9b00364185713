/**
 * The Hasura CLI's metadata directory (config v3) ⇄ the metadata JSON (docs/research/hasura-v2.md §C.1;
 * docs/docs/migrations-metadata-seeds/metadata-format.mdx; cli/internal/metadataobject/**):
 * `!include <path>` strings (or YAML tags) are resolved relative to the including file; tables live
 * one per file as `<schema>_<table>.yaml`; empty list files hold `[]`, object files `{}`.
 */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { Metadata, MetadataSource, TableMetadata } from '../contract.ts';
import { normalizeMetadata, orderTable } from './model.ts';

const includeTag = {
  tag: '!include',
  resolve: (value: string) => `!include ${value}`,
};

function readYaml(file: string): unknown {
  const text = fs.readFileSync(file, 'utf8');
  return YAML.parse(text, { customTags: [includeTag] }) ?? null;
}

function resolveIncludes(value: unknown, dir: string): unknown {
  if (typeof value === 'string') {
    const m = /^!include\s+(.+)$/.exec(value.trim());
    if (!m) return value;
    const file = path.resolve(dir, m[1]!.trim());
    return resolveIncludes(readYaml(file), path.dirname(file));
  }
  if (Array.isArray(value)) return value.map((v) => resolveIncludes(v, dir));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = resolveIncludes(v, dir);
    return out;
  }
  return value;
}

function readIfExists(dir: string, name: string): unknown {
  const file = path.join(dir, name);
  if (!fs.existsSync(file)) return undefined;
  return resolveIncludes(readYaml(file), dir);
}

/** File → top-level export key, for the files that map one-to-one. */
const simpleFiles: Array<[file: string, key: string, empty: '[]' | '{}']> = [
  ['remote_schemas.yaml', 'remote_schemas', '[]'],
  ['query_collections.yaml', 'query_collections', '[]'],
  ['allow_list.yaml', 'allowlist', '[]'],
  ['cron_triggers.yaml', 'cron_triggers', '[]'],
  ['rest_endpoints.yaml', 'rest_endpoints', '[]'],
  ['inherited_roles.yaml', 'inherited_roles', '[]'],
  ['network.yaml', 'network', '{}'],
  ['api_limits.yaml', 'api_limits', '{}'],
  ['graphql_schema_introspection.yaml', 'graphql_schema_introspection', '{}'],
  ['metrics_config.yaml', 'metrics_config', '{}'],
  ['opentelemetry.yaml', 'opentelemetry', '{}'],
  ['backend_configs.yaml', 'backend_configs', '{}'],
];

const isEmpty = (v: unknown) =>
  v === undefined || v === null || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && Object.keys(v).length === 0);

export function loadMetadataDir(dir: string): Metadata {
  const version = readIfExists(dir, 'version.yaml') as { version?: number } | undefined;
  if (version && version.version !== 3) throw new Error(`${dir}/version.yaml: only metadata version 3 is supported`);
  const databases = (readIfExists(path.join(dir, 'databases'), 'databases.yaml') ?? []) as MetadataSource[];
  const metadata: Metadata = {
    version: 3,
    sources: databases.map((s) => ({ ...s, tables: (s.tables ?? []) as TableMetadata[] })),
  };
  const actions = readIfExists(dir, 'actions.yaml') as { actions?: unknown[]; custom_types?: Record<string, unknown[]> } | undefined;
  if (actions && !isEmpty(actions.actions)) metadata.actions = actions.actions;
  if (actions?.custom_types && Object.values(actions.custom_types).some((v) => !isEmpty(v))) {
    metadata.custom_types = actions.custom_types;
  }
  for (const [file, key] of simpleFiles) {
    const v = readIfExists(dir, file);
    if (!isEmpty(v)) metadata[key] = v;
  }
  return metadata;
}

const yamlOptions = { lineWidth: 0 } as const;
const dump = (v: unknown) => YAML.stringify(v, yamlOptions);

function writeIfChanged(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  if (fs.existsSync(file) && fs.readFileSync(file, 'utf8') === text) return;
  fs.writeFileSync(file, text);
}

export const tableFileName = (t: TableMetadata) => `${t.table.schema}_${t.table.name}.yaml`;

/** Writes the CLI layout; table files no longer in the metadata are removed. */
export function writeMetadataDir(dir: string, input: Metadata): void {
  const m = normalizeMetadata(input);
  writeIfChanged(path.join(dir, 'version.yaml'), dump({ version: 3 }));
  const databases = m.sources.map((s) => {
    const { tables, functions, ...rest } = s;
    const tablesDir = path.join(dir, 'databases', s.name, 'tables');
    fs.mkdirSync(tablesDir, { recursive: true });
    const names = tables.map(tableFileName);
    for (const t of tables) writeIfChanged(path.join(tablesDir, tableFileName(t)), dump(orderTable(t)));
    for (const f of fs.readdirSync(tablesDir)) {
      if (f.endsWith('.yaml') && f !== 'tables.yaml' && !names.includes(f)) fs.rmSync(path.join(tablesDir, f));
    }
    writeIfChanged(path.join(tablesDir, 'tables.yaml'), names.length ? dump(names.map((n) => `!include ${n}`)) : '[]\n');
    const out: Record<string, unknown> = { ...rest, tables: `!include ${s.name}/tables/tables.yaml` };
    if (functions && functions.length > 0) {
      const fnDir = path.join(dir, 'databases', s.name, 'functions');
      const fnNames = functions.map((f) => {
        const fn = (f as { function: { schema?: string; name: string } }).function;
        return `${fn.schema ?? 'public'}_${fn.name}.yaml`;
      });
      functions.forEach((f, i) => writeIfChanged(path.join(fnDir, fnNames[i]!), dump(f)));
      writeIfChanged(path.join(fnDir, 'functions.yaml'), dump(fnNames.map((n) => `!include ${n}`)));
      out.functions = `!include ${s.name}/functions/functions.yaml`;
    }
    return out;
  });
  writeIfChanged(path.join(dir, 'databases', 'databases.yaml'), dump(databases));
  writeIfChanged(
    path.join(dir, 'actions.yaml'),
    dump({ actions: m.actions ?? [], custom_types: m.custom_types ?? { enums: [], input_objects: [], objects: [], scalars: [] } }),
  );
  if (!fs.existsSync(path.join(dir, 'actions.graphql'))) writeIfChanged(path.join(dir, 'actions.graphql'), '');
  for (const [file, key, empty] of simpleFiles) {
    const v = m[key];
    writeIfChanged(path.join(dir, file), isEmpty(v) ? `${empty}\n` : dump(v));
  }
}

/**
 * The metadata operations, as pure edits of a Metadata JSON (docs/docs/api-reference/
 * metadata-api/{table-view,relationship,permission,computed-field,custom-functions,
 * inherited-roles,source}.mdx). Names are those of /v1/query; /v1/metadata adds the `pg_` prefix.
 * Each op validates what needs no database (tracked or not, duplicates); whether the objects exist
 * in Postgres is checked afterwards, for the whole result, by consistency.ts.
 */
import type { Metadata, MetadataSource, TableMetadata } from '../contract.ts';
import { findSource, findTable, parseTableName, sameTable, tableText, type QualifiedTable } from '../metadata/model.ts';
import { alreadyExists, badRequest, jsonKind, notExists } from '../errors.ts';
import { ApiLimitsError, parseApiLimits } from '../limits/api-limits.ts';
import { functionPermissionOps } from './function-permissions.ts';
import { eventMetadataOps } from '../events/ops.ts';
import { allowlistOps } from '../allowlist/ops.ts';
import { restOps } from '../rest/ops.ts';

export type Args = Record<string, unknown>;

/** What an op may need from the database, looked up by the caller (commands.ts `opFacts`). */
export interface OpFacts {
  /**
   * The table an object relationship's `foreign_key_constraint_on: col(s)` points at, keyed by
   * `fkKey(owner, cols)`: the dependents of a table include relationships of other tables whose
   * foreign key references it (upstream v1/track_table/track_untrack_table_deps.yaml).
   */
  fkTargets?: Map<string, QualifiedTable>;
}
export type MetadataOp = (m: Metadata, args: Args, version?: number, facts?: OpFacts) => unknown;

export const fkKey = (owner: QualifiedTable, cols: string[]) => JSON.stringify([owner.schema, owner.name, [...cols].sort()]);

/** The owner-side columns of an object relationship's `foreign_key_constraint_on`, if that form. */
export function fkColumns(using: Record<string, unknown>): string[] | undefined {
  const fk = using.foreign_key_constraint_on;
  if (typeof fk === 'string') return [fk];
  if (Array.isArray(fk) && fk.every((c) => typeof c === 'string')) return fk as string[];
  return undefined;
}

function source(m: Metadata, args: Args): MetadataSource {
  const name = typeof args.source === 'string' ? args.source : 'default';
  const s = findSource(m, name);
  if (!s) throw notExists(`source with name "${name}" does not exist`);
  return s;
}

function tableArg(v: unknown): QualifiedTable {
  const t = parseTableName(v);
  if (!t) throw badRequest('parse-failed', 'expected a table name (String or {schema, name})', '$.args.table');
  return t;
}

/** `path`: where the refusal points; computed-field ops look the table up `withPathK "table"`. */
function trackedTable(m: Metadata, args: Args, path?: string): TableMetadata {
  const s = source(m, args);
  const t = tableArg(args.table);
  const found = findTable(s, t);
  if (!found) {
    const e = notExists(`table "${tableText(t)}" does not exist in source: ${s.name}`);
    throw path ? e.at(path) : e;
  }
  return found;
}

// ── tables ──────────────────────────────────────────────────────────────────────────────────────

const trackTable: MetadataOp = (m, args, version) => {
  // v1 /v1/query args are the table itself ({schema, name} or "name"); v2 and pg_track_table
  // carry {table, configuration}.
  const v2 = version === 2 || 'table' in args;
  const t = tableArg(v2 ? args.table : args);
  const s = source(m, args);
  if (findTable(s, t)) throw badRequest('already-tracked', `view/table already tracked: "${tableText(t)}"`);
  // Table/API.hs `trackExistingTableOrViewPhase1`: a tracked function of that name refuses it
  // (upstream v1/track_table/track_function_table_same_name.yaml).
  if (trackedFunction(s, t)) throw badRequest('not-supported', `function with name "${tableText(t)}" already exists`);
  const entry: TableMetadata = { table: { schema: t.schema, name: t.name } };
  if (args.is_enum === true) entry.is_enum = true;
  if (v2 && args.configuration && typeof args.configuration === 'object') {
    entry.configuration = normalizeConfiguration(args.configuration as Record<string, unknown>);
  }
  s.tables.push(entry);
};

/** Legacy `custom_column_names` is kept as given; Hasura merges it into column_config on read. */
function normalizeConfiguration(c: Record<string, unknown>): NonNullable<TableMetadata['configuration']> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c)) if (v !== undefined && v !== null) out[k] = v;
  return out as NonNullable<TableMetadata['configuration']>;
}

/** Relationships of other tables that point at `t` (the dependents untrack/drop must handle). */
export function relationshipsTargeting(s: MetadataSource, t: QualifiedTable, facts?: OpFacts): Array<{ on: TableMetadata; kind: 'object' | 'array'; name: string }> {
  const out: Array<{ on: TableMetadata; kind: 'object' | 'array'; name: string }> = [];
  for (const tbl of s.tables) {
    if (sameTable(tbl.table, t)) continue;
    for (const kind of ['object', 'array'] as const) {
      for (const r of tbl[`${kind}_relationships`] ?? []) {
        const cols = kind === 'object' ? fkColumns(r.using) : undefined;
        const target = relationshipTarget(r.using) ?? (cols ? facts?.fkTargets?.get(fkKey(tbl.table, cols)) : undefined);
        if (target && sameTable(target, t)) out.push({ on: tbl, kind, name: r.name });
      }
    }
  }
  return out;
}

/** The remote table a relationship names explicitly (array FK or manual configuration). */
export function relationshipTarget(using: Record<string, unknown>): QualifiedTable | undefined {
  const fk = using.foreign_key_constraint_on;
  if (fk && typeof fk === 'object' && !Array.isArray(fk) && 'table' in fk) return parseTableName((fk as Args).table);
  const manual = using.manual_configuration as Args | undefined;
  if (manual?.remote_table) return parseTableName(manual.remote_table);
  return undefined;
}

export function dependencyError(objects: string[]) {
  // SchemaCacheTypes.hs / Table/API.hs: "…dependent objects: " + reportSchemaObjs (sorted).
  return badRequest('dependency-error', `cannot drop due to the following dependent objects: ${[...objects].sort().join(', ')}`);
}

const untrackTable: MetadataOp = (m, args, _version, facts) => {
  const s = source(m, args);
  const t = tableArg(args.table ?? args);
  if (!findTable(s, t)) throw badRequest('already-untracked', `view/table already untracked: "${tableText(t)}"`);
  const deps = relationshipsTargeting(s, t, facts);
  if (deps.length > 0 && args.cascade !== true) {
    throw dependencyError(deps.map((d) => `relationship ${tableText(d.on.table)}.${d.name} in source "${s.name}"`));
  }
  for (const d of deps) {
    const key = `${d.kind}_relationships` as const;
    d.on[key] = (d.on[key] ?? []).filter((r) => r.name !== d.name);
  }
  s.tables = s.tables.filter((x) => !sameTable(x.table, t));
};

const setTableCustomization: MetadataOp = (m, args) => {
  const t = trackedTable(m, args);
  t.configuration = normalizeConfiguration((args.configuration ?? {}) as Record<string, unknown>);
};

/** Deprecated set_table_custom_fields {custom_root_fields, custom_column_names}. */
const setTableCustomFields: MetadataOp = (m, args) => {
  const t = trackedTable(m, args);
  t.configuration = normalizeConfiguration({
    ...(t.configuration ?? {}),
    custom_root_fields: args.custom_root_fields ?? {},
    custom_column_names: args.custom_column_names ?? {},
  });
};

/** set_table_is_enum {table, is_enum: Boolean}; whether the table can be one is checked on the new metadata. */
const setTableIsEnum: MetadataOp = (m, args) => {
  if (!('is_enum' in args)) throw badRequest('parse-failed', 'key "is_enum" not found');
  if (typeof args.is_enum !== 'boolean') {
    throw badRequest('parse-failed', `parsing Bool failed, expected Boolean, but encountered ${jsonKind(args.is_enum)}`, '$.args.is_enum');
  }
  const t = trackedTable(m, args);
  if (args.is_enum) t.is_enum = true;
  else delete t.is_enum;
};

// ── relationships ───────────────────────────────────────────────────────────────────────────────

function createRelationship(kind: 'object' | 'array'): MetadataOp {
  return (m, args) => {
    const t = trackedTable(m, args);
    const name = String(args.name ?? '');
    if (!name) throw badRequest('parse-failed', 'key "name" not found');
    const all = [...(t.object_relationships ?? []), ...(t.array_relationships ?? [])];
    if (all.some((r) => r.name === name)) {
      throw alreadyExists(`relationship "${name}" already exists on table "${tableText(t.table)}"`);
    }
    const rel: { name: string; using: Record<string, unknown>; comment?: string } = {
      name,
      using: qualifiedUsing((args.using ?? {}) as Record<string, unknown>),
    };
    if (typeof args.comment === 'string') rel.comment = args.comment;
    const key = `${kind}_relationships` as const;
    t[key] = [...(t[key] ?? []), rel];
  };
}

/**
 * Hasura parses table names in a relationship into `{schema, name}` (QualifiedTable's JSON), so
 * that is what it stores and reports, e.g. in an inconsistency's `definition` (upstream
 * v1/relationships/array_relationship_col_not_foreign_key_error.yaml).
 */
function qualifiedUsing(using: Record<string, unknown>): Record<string, unknown> {
  const out = structuredClone(using);
  const fk = out.foreign_key_constraint_on;
  if (fk && typeof fk === 'object' && !Array.isArray(fk) && 'table' in fk) {
    const t = parseTableName((fk as Args).table);
    if (t) (fk as Args).table = { schema: t.schema, name: t.name };
  }
  const manual = out.manual_configuration as Args | undefined;
  if (manual && typeof manual === 'object' && manual.remote_table !== undefined) {
    const t = parseTableName(manual.remote_table);
    if (t) manual.remote_table = { schema: t.schema, name: t.name };
  }
  return out;
}

function findRelationship(t: TableMetadata, name: string): 'object' | 'array' {
  if ((t.object_relationships ?? []).some((r) => r.name === name)) return 'object';
  if ((t.array_relationships ?? []).some((r) => r.name === name)) return 'array';
  throw notExists(`relationship "${name}" does not exist on table "${tableText(t.table)}"`);
}

const dropRelationship: MetadataOp = (m, args) => {
  const t = trackedTable(m, args);
  const name = String(args.relationship ?? '');
  const kind = findRelationship(t, name);
  const key = `${kind}_relationships` as const;
  t[key] = (t[key] ?? []).filter((r) => r.name !== name);
};

const renameRelationship: MetadataOp = (m, args) => {
  const t = trackedTable(m, args);
  const name = String(args.name ?? '');
  const newName = String(args.new_name ?? '');
  const kind = findRelationship(t, name);
  for (const r of t[`${kind}_relationships`] ?? []) if (r.name === name) r.name = newName;
};

const setRelationshipComment: MetadataOp = (m, args) => {
  const t = trackedTable(m, args);
  const name = String(args.relationship ?? '');
  const kind = findRelationship(t, name);
  for (const r of t[`${kind}_relationships`] ?? []) {
    if (r.name !== name) continue;
    if (typeof args.comment === 'string') r.comment = args.comment;
    else delete r.comment;
  }
};

// ── permissions ─────────────────────────────────────────────────────────────────────────────────

type PermKind = 'select' | 'insert' | 'update' | 'delete';

function createPermission(kind: PermKind): MetadataOp {
  return (m, args) => {
    const t = trackedTable(m, args);
    const role = String(args.role ?? '');
    // Permission.hs `procSetObj`/`addPermP1`: admin's implicit permission counts as already defined.
    if (role === 'admin') throw alreadyExists(`${kind} permission already defined on table "${tableText(t.table)}" with role "admin"`);
    const key = `${kind}_permissions` as const;
    const list = t[key] ?? [];
    if (list.some((p) => p.role === role)) {
      throw alreadyExists(`${kind} permission already defined on table "${tableText(t.table)}" with role "${role}"`);
    }
    const entry: { role: string; permission: Record<string, unknown>; comment?: string } = {
      role,
      permission: (args.permission ?? {}) as Record<string, unknown>,
    };
    if (typeof args.comment === 'string') entry.comment = args.comment;
    t[key] = [...list, entry];
  };
}

function dropPermission(kind: PermKind): MetadataOp {
  return (m, args) => {
    const t = trackedTable(m, args);
    const role = String(args.role ?? '');
    const key = `${kind}_permissions` as const;
    const list = t[key] ?? [];
    if (!list.some((p) => p.role === role)) {
      throw notExists(`permission-type "${kind}" does not exist for role "${role}" on table "${tableText(t.table)}"`);
    }
    t[key] = list.filter((p) => p.role !== role);
  };
}

const setPermissionComment: MetadataOp = (m, args) => {
  const t = trackedTable(m, args);
  const kind = String(args.type ?? '') as PermKind;
  const entry = (t[`${kind}_permissions`] ?? []).find((p) => p.role === args.role);
  if (!entry) throw notExists(`permission-type "${kind}" does not exist for role "${String(args.role)}"`);
  if (typeof args.comment === 'string') entry.comment = args.comment;
  else delete entry.comment;
};

// ── computed fields, functions, inherited roles, sources ─────────────────────────────────────────

// RQL/DDL/ComputedField.hs: the table is looked up at `$.args.table`, the field at `$.args.name`
// (upstream v1/computed_fields/add_and_drop.yaml, add_computed_field_errors.yaml).
const addComputedField: MetadataOp = (m, args) => {
  const t = trackedTable(m, args, '$.args.table');
  const name = String(args.name ?? '');
  const list = (t.computed_fields ?? []) as Array<{ name: string }>;
  if (list.some((c) => c.name === name)) throw alreadyExists(`computed field "${name}" already exists`);
  const entry: Record<string, unknown> = { name, definition: args.definition };
  if (typeof args.comment === 'string') entry.comment = args.comment;
  t.computed_fields = [...list, entry];
};

/** Whether a boolean expression of the table itself names `field` (a computed field's dependents). */
function boolExpNames(e: unknown, field: string): boolean {
  if (!e || typeof e !== 'object') return false;
  if (Array.isArray(e)) return e.some((x) => boolExpNames(x, field));
  return Object.entries(e).some(([k, v]) => k === field || (['_and', '_or', '_not'].includes(k) && boolExpNames(v, field)));
}

/**
 * `runDropComputedField`: the permissions that use the field (its `computed_fields` list or its
 * filter) are its dependents — refused with `dependency-error` unless `cascade`, which drops them
 * (`purgeComputedFieldDependency`; upstream v1/computed_fields/create_permissions.yaml).
 */
const dropComputedField: MetadataOp = (m, args) => {
  const s = source(m, args);
  const t = trackedTable(m, args, '$.args.table');
  const name = String(args.name);
  const list = (t.computed_fields ?? []) as Array<{ name: string }>;
  if (!list.some((c) => c.name === name)) throw notExists(`computed field "${name}" does not exist`).at('$.args.name');
  const kinds = ['select', 'insert', 'update', 'delete'] as const;
  const uses = (p: { permission: Record<string, unknown> }) =>
    (Array.isArray(p.permission.computed_fields) && p.permission.computed_fields.includes(name))
    || boolExpNames(p.permission.filter, name) || boolExpNames(p.permission.check, name);
  const deps = kinds.flatMap((k) => (t[`${k}_permissions`] ?? []).filter(uses).map((p) => `permission ${tableText(t.table)}.${p.role}.${k} in source "${s.name}"`));
  if (deps.length > 0 && args.cascade !== true) throw dependencyError(deps);
  for (const k of kinds) if (t[`${k}_permissions`]) t[`${k}_permissions`] = t[`${k}_permissions`]!.filter((p) => !uses(p));
  t.computed_fields = list.filter((c) => c.name !== name);
};

function trackedFunction(s: MetadataSource, fn: QualifiedTable): boolean {
  return ((s.functions ?? []) as Array<{ function?: unknown }>).some((f) => {
    const ref = parseTableName(f.function ?? f);
    return !!ref && sameTable(ref, fn);
  });
}

function functionName(args: Args): QualifiedTable {
  const fn = parseTableName('function' in args ? args.function : args);
  if (!fn) throw badRequest('parse-failed', 'expected a function name');
  return fn;
}

const trackFunction: MetadataOp = (m, args) => {
  const s = source(m, args);
  const fn = functionName(args);
  const list = (s.functions ?? []) as Array<{ function: QualifiedTable }>;
  if (list.some((f) => sameTable(parseTableName(f.function)!, fn))) {
    throw badRequest('already-tracked', `function already tracked : "${tableText(fn)}"`);
  }
  // Function/API.hs `trackFunctionP1`: a tracked table of that name refuses it
  // (upstream v1/track_table/track_table_function_same_name.yaml).
  if (findTable(s, fn)) throw badRequest('not-supported', `table with name "${tableText(fn)}" already exists`);
  const entry: Record<string, unknown> = { function: { name: fn.name, schema: fn.schema } };
  if (args.configuration) entry.configuration = args.configuration;
  s.functions = [...list, entry];
};

const untrackFunction: MetadataOp = (m, args) => {
  const s = source(m, args);
  const fn = functionName(args);
  const list = (s.functions ?? []) as Array<{ function: QualifiedTable }>;
  if (!list.some((f) => sameTable(parseTableName(f.function)!, fn))) throw notExists(`function not found in metadata : ${tableText(fn)}`);
  s.functions = list.filter((f) => !sameTable(parseTableName(f.function)!, fn));
};

const addInheritedRole: MetadataOp = (m, args) => {
  const list = (m.inherited_roles ?? []) as Array<{ role_name: string }>;
  if (list.some((r) => r.role_name === args.role_name)) throw alreadyExists(`the inherited role "${String(args.role_name)}" already exists`);
  m.inherited_roles = [...list, { role_name: args.role_name, role_set: args.role_set }];
};

const dropInheritedRole: MetadataOp = (m, args) => {
  const list = (m.inherited_roles ?? []) as Array<{ role_name: string }>;
  if (!list.some((r) => r.role_name === args.role_name)) throw notExists(`inherited role "${String(args.role_name)}" does not exist`);
  m.inherited_roles = list.filter((r) => r.role_name !== args.role_name);
};

const addSource: MetadataOp = (m, args) => {
  const name = String(args.name ?? '');
  const existing = findSource(m, name);
  if (existing && args.replace_configuration !== true) throw alreadyExists(`source with name "${name}" already exists`);
  if (existing) {
    existing.configuration = (args.configuration ?? {}) as Record<string, unknown>;
    return;
  }
  const s: MetadataSource = { name, kind: 'postgres', tables: [], configuration: (args.configuration ?? {}) as Record<string, unknown> };
  if (args.customization) s.customization = args.customization;
  m.sources.push(s);
};

const dropSource: MetadataOp = (m, args) => {
  const name = String(args.name ?? '');
  if (!findSource(m, name)) throw notExists(`source with name "${name}" does not exist`);
  m.sources = m.sources.filter((s) => s.name !== name);
};

/** Operations that only edit metadata, by their /v1/query name. */
// ── api limits (api-reference/metadata-api/api-limits.mdx) ────────────────────────────────────────

/** set_api_limits replaces the whole `api_limits` object with its (validated) args. */
const setApiLimits: MetadataOp = (m, args) => {
  try {
    parseApiLimits(args, '$.args');
  } catch (err) {
    if (err instanceof ApiLimitsError) throw badRequest('parse-failed', err.message, err.path);
    throw err;
  }
  m.api_limits = structuredClone(args);
};

const removeApiLimits: MetadataOp = (m) => {
  delete m.api_limits;
};

export const metadataOps: Record<string, MetadataOp> = {
  ...functionPermissionOps,
  ...eventMetadataOps,
  ...allowlistOps,
  ...restOps,
  set_api_limits: setApiLimits,
  remove_api_limits: removeApiLimits,
  track_table: trackTable,
  add_existing_table_or_view: trackTable,
  untrack_table: untrackTable,
  set_table_customization: setTableCustomization,
  set_table_custom_fields: setTableCustomFields,
  set_table_is_enum: setTableIsEnum,
  create_object_relationship: createRelationship('object'),
  create_array_relationship: createRelationship('array'),
  drop_relationship: dropRelationship,
  rename_relationship: renameRelationship,
  set_relationship_comment: setRelationshipComment,
  create_select_permission: createPermission('select'),
  create_insert_permission: createPermission('insert'),
  create_update_permission: createPermission('update'),
  create_delete_permission: createPermission('delete'),
  drop_select_permission: dropPermission('select'),
  drop_insert_permission: dropPermission('insert'),
  drop_update_permission: dropPermission('update'),
  drop_delete_permission: dropPermission('delete'),
  set_permission_comment: setPermissionComment,
  add_computed_field: addComputedField,
  drop_computed_field: dropComputedField,
  track_function: trackFunction,
  untrack_function: untrackFunction,
  add_inherited_role: addInheritedRole,
  drop_inherited_role: dropInheritedRole,
  add_source: addSource,
  drop_source: dropSource,
};

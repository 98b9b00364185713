import type { Metadata, TableMetadata } from '../contract.ts';
import { tableKey, type Catalog, type FunctionCatalog, type PgTable } from '../introspection/catalog.ts';
import type { EnumCatalog } from '../introspection/enums.ts';
import { inheritedPermissionInconsistency } from './model.ts';
import type { ColumnModel, ComputedFieldModel, DeletePerm, FunctionModel, InconsistentObject, InsertPerm, Model, PermPart, RelModel, SelectPerm, TableModel, UpdatePerm } from './model.ts';
import { scalarName } from './scalars.ts';

type TableRef = { schema: string; name: string };

/** Metadata accepts `"name"` (public) or `{schema, name}` for a table. */
export function tableRef(t: unknown): TableRef | undefined {
  if (typeof t === 'string') return { schema: 'public', name: t };
  if (t && typeof t === 'object' && typeof (t as TableRef).name === 'string')
    return { schema: (t as Partial<TableRef>).schema ?? 'public', name: (t as TableRef).name };
  return undefined;
}

export function trackedTables(md: Metadata): Array<{ ref: TableRef; meta: TableMetadata }> {
  const out: Array<{ ref: TableRef; meta: TableMetadata }> = [];
  for (const src of md.sources ?? []) {
    for (const t of src.tables ?? []) {
      const ref = tableRef(t.table);
      if (ref) out.push({ ref, meta: t });
    }
  }
  return out;
}

/** `getIdentifierQualifiedObject` (Postgres/SQL/Types.hs): `S_T`, or `T` in public. */
export function defaultIdentifier(ref: TableRef): string {
  return ref.schema === 'public' ? ref.name : `${ref.schema}_${ref.name}`;
}

function rootName(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { name?: unknown }).name === 'string') return (v as { name: string }).name;
  return undefined;
}

/** Common.hs `Comment`: absent or null is Automatic (the PostgreSQL comment), a string Explicit ("" = none). */
function columnDescription(cfg: { comment?: string | null } | undefined, pgComment: string | null | undefined): { description?: string } {
  if (typeof cfg?.comment === 'string') return cfg.comment !== '' ? { description: cfg.comment } : {};
  return typeof pgComment === 'string' ? { description: pgComment } : {};
}

function columnsOf(table: PgTable, meta: TableMetadata): ColumnModel[] {
  const cfg = meta.configuration ?? {};
  const custom: Record<string, string> = { ...(cfg.custom_column_names ?? {}) };
  for (const [col, c] of Object.entries(cfg.column_config ?? {})) if (c.custom_name) custom[col] = c.custom_name;
  return table.columns.map((c) => ({
    name: c.name,
    gqlName: custom[c.name] ?? c.name,
    type: c.type,
    scalar: scalarName(c.type),
    nullable: c.nullable,
    pg: c,
    ...columnDescription(cfg.column_config?.[c.name], c.description),
  }));
}

function asList(v: unknown): string[] | undefined {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  return undefined;
}

function resolveRel(
  kind: 'object' | 'array', name: string, using: Record<string, unknown>, self: PgTable, catalog: Catalog,
): RelModel | string {
  const manual = using.manual_configuration as { remote_table?: unknown; column_mapping?: Record<string, string> } | undefined;
  if (manual) {
    const ref = tableRef(manual.remote_table);
    if (!ref || !manual.column_mapping) return `relationship ${name}: bad manual_configuration`;
    return { name, kind, target: tableKey(ref.schema, ref.name), mapping: Object.entries(manual.column_mapping), nullable: true };
  }
  const fk = using.foreign_key_constraint_on;
  if (kind === 'object') {
    // `foreign_key_constraint_on: col | [cols] | {column|columns}` on this table; or {table, column(s)} (remote FK).
    const obj = fk && typeof fk === 'object' && !Array.isArray(fk) ? (fk as Record<string, unknown>) : undefined;
    if (obj?.table) return resolveRemoteFk(kind, name, obj, self, catalog);
    const cols = asList(obj ? (obj.columns ?? obj.column) : fk);
    if (!cols) return `relationship ${name}: bad foreign_key_constraint_on`;
    const con = self.constraints.find((c) => c.kind === 'f' && sameSet(c.columns, cols));
    if (!con?.ref) return `relationship ${name}: no foreign constraint exists on the given column(s)`;
    const nullable = cols.some((c) => self.columns.find((x) => x.name === c)?.nullable ?? true);
    return { name, kind, target: tableKey(con.ref.schema, con.ref.name), mapping: con.columns.map((c, i) => [c, con.ref!.columns[i]!]), nullable };
  }
  if (!fk || typeof fk !== 'object' || Array.isArray(fk)) return `relationship ${name}: bad foreign_key_constraint_on`;
  return resolveRemoteFk(kind, name, fk as Record<string, unknown>, self, catalog);
}

function resolveRemoteFk(kind: 'object' | 'array', name: string, fk: Record<string, unknown>, self: PgTable, catalog: Catalog): RelModel | string {
  const ref = tableRef(fk.table);
  const cols = asList(fk.columns ?? fk.column);
  if (!ref || !cols) return `relationship ${name}: bad foreign_key_constraint_on`;
  const remote = catalog.get(tableKey(ref.schema, ref.name));
  const con = remote?.constraints.find((c) => c.kind === 'f' && sameSet(c.columns, cols)
    && c.ref?.schema === self.schema && c.ref.name === self.name);
  if (!con?.ref) return `relationship ${name}: no foreign constraint exists on the given column(s)`;
  return { name, kind, target: tableKey(ref.schema, ref.name), mapping: con.ref.columns.map((c, i) => [c, con.columns[i]!]), nullable: true };
}

const sameSet = (a: string[], b: string[]): boolean => a.length === b.length && a.every((x) => b.includes(x));

function selectPerm(p: Record<string, unknown>, table: PgTable): SelectPerm {
  const cols = p.columns === '*' ? table.columns.map((c) => c.name) : (asList(p.columns) ?? []);
  return {
    columns: new Set(cols),
    filter: p.filter ?? {},
    limit: typeof p.limit === 'number' ? p.limit : undefined,
    allowAggregations: p.allow_aggregations === true,
    computedFields: new Set(asList(p.computed_fields) ?? []),
    queryRootFields: asList(p.query_root_fields) ?? (Array.isArray(p.query_root_fields) ? [] : undefined),
    subscriptionRootFields: asList(p.subscription_root_fields) ?? (Array.isArray(p.subscription_root_fields) ? [] : undefined),
  };
}

const presets = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? { ...(v as Record<string, unknown>) } : {});

function insertPerm(p: Record<string, unknown>, table: PgTable): InsertPerm {
  // `columns` omitted means every column (RQL/DDL/Permission.hs `InsPermDef`).
  const cols = p.columns === '*' || p.columns === undefined ? table.columns.map((c) => c.name) : (asList(p.columns) ?? []);
  return { columns: new Set(cols), check: p.check ?? {}, set: presets(p.set), backendOnly: p.backend_only === true };
}

function updatePerm(p: Record<string, unknown>, table: PgTable): UpdatePerm {
  const cols = p.columns === '*' ? table.columns.map((c) => c.name) : (asList(p.columns) ?? []);
  return { columns: new Set(cols), filter: p.filter ?? {}, check: p.check ?? {}, set: presets(p.set), backendOnly: p.backend_only === true };
}

const deletePerm = (p: Record<string, unknown>): DeletePerm => ({ filter: p.filter ?? {}, backendOnly: p.backend_only === true });

/** Joins metadata with the catalog. Objects that do not resolve are skipped and reported. */
interface CfMeta { name: string; definition?: { function?: unknown; table_argument?: string; session_argument?: string } }
interface FnMeta { function?: unknown; configuration?: { custom_name?: string; session_argument?: string; exposed_as?: string }; permissions?: Array<{ role?: unknown }> }

/** Every function metadata names (tracked functions and computed fields), for introspection. */
export function referencedFunctions(md: Metadata): TableRef[] {
  const out: TableRef[] = [];
  for (const src of md.sources ?? []) {
    for (const f of (src.functions ?? []) as FnMeta[]) { const r = tableRef(f.function ?? f); if (r) out.push(r); }
    for (const t of src.tables ?? []) for (const cf of (t.computed_fields ?? []) as CfMeta[]) {
      const r = tableRef(cf.definition?.function); if (r) out.push(r);
    }
  }
  return out;
}

/** A string is a Hasura refusal; `unsupported` is a Hasura feature this engine lacks (left out, logged). */
function computedField(cf: CfMeta, tm: TableModel, fns: FunctionCatalog): ComputedFieldModel | string | { unsupported: string } {
  const ref = tableRef(cf.definition?.function);
  const fn = ref ? fns.get(tableKey(ref.schema, ref.name)) : undefined;
  if (!fn) return `no such function exists: ${JSON.stringify(ref ? (ref.schema === 'public' ? ref.name : `${ref.schema}.${ref.name}`) : String(cf.definition?.function))}`;
  // Every failed check is listed (Backends/Postgres/DDL/ComputedField.hs `showErrors`).
  const reasons: string[] = [];
  if (fn.volatility === 'v') reasons.push(`the function "${fn.name}" is of type VOLATILE; cannot be added as a computed field`);
  const sessionArg = cf.definition?.session_argument;
  const sessionArgIndex = sessionArg ? fn.args.findIndex((a) => a.name === sessionArg) : undefined;
  const tableArg = cf.definition?.table_argument;
  const tableArgIndex = tableArg ? fn.args.findIndex((a) => a.name === tableArg) : fn.args.findIndex((_, i) => i !== sessionArgIndex);
  if (tableArg && tableArgIndex < 0) reasons.push(`"${tableArg}" is not an input argument of the function "${fn.name}"`);
  else if (!tableArg && tableArgIndex < 0) reasons.push(`the function "${fn.name}" has no input arguments`);
  const tableArgType = tableArgIndex >= 0 ? fn.args[tableArgIndex]!.type : undefined;
  if (tableArgType) {
    // DDL/ComputedField.hs `ITANotComposite`/`ITANotTable`: the row argument must be this table's type.
    const which = tableArg ? `"${tableArg}" argument` : 'first argument';
    if (tableArgType.category !== 'C') reasons.push(`${which} of the function "${fn.name}" is not COMPOSITE type`);
    if (tableArgType.schema !== tm.schema || tableArgType.name !== tm.name) {
      reasons.push(`${which} of the function "${fn.name}" of type "${tableArgType.schema}.${tableArgType.name}" is not the table to which the computed field is being added`);
    }
  }
  if (sessionArg && sessionArgIndex === -1) reasons.push(`"${sessionArg}" is not an input argument of the function "${fn.name}"`);
  else if (sessionArg && sessionArgIndex !== undefined && fn.args[sessionArgIndex]!.type.name !== 'json') {
    // `ISANotJSON`: the session argument receives the session variables as json.
    reasons.push(`"${sessionArg}" argument of the function "${fn.name}" is not of type JSON`);
  }
  if (reasons.length === 1) return `the computed field "${cf.name}" cannot be added to table "${tm.name}" because ${reasons[0]}`;
  if (reasons.length > 1) return `the computed field "${cf.name}" cannot be added to table "${tm.name}" for the following reasons:\n${reasons.map((r) => `  • ${r}\n`).join('')}`;
  const inputArgs = fn.args.filter((_, i) => i !== tableArgIndex && i !== sessionArgIndex);
  // Unnamed input arguments are offered as arg_1, arg_2… (schema/function-args.ts).
  const target = tableKey(fn.returnType.schema, fn.returnType.name);
  if (fn.returnTypType === 'c') {
    // SETOF or a single row alike: pg_function_metadata.sql `returns_table` looks only at the
    // return type, and Schema/Select.hs `computedFieldPG` (`CFRSetofTable`) answers a list of the
    // table's rows for both — the single-row function being the FROM item, as Hasura selects it.
    return { name: cf.name, fn, tableArgIndex, sessionArgIndex: sessionArgIndex === -1 ? undefined : sessionArgIndex, inputArgs, returns: { kind: 'table', target } };
  }
  const column: ColumnModel = {
    name: cf.name, gqlName: cf.name, type: fn.returnType, scalar: scalarName(fn.returnType), nullable: true,
    pg: { name: cf.name, type: fn.returnType, nullable: true, hasDefault: false, position: 0 },
  };
  return { name: cf.name, fn, tableArgIndex, sessionArgIndex: sessionArgIndex === -1 ? undefined : sessionArgIndex, inputArgs, returns: { kind: 'scalar', column } };
}

/**
 * A select permission may list only scalar computed fields of its table (RQL/DDL/Permission.hs
 * `buildSelPermInfo`: `askComputedFieldInfo`, then `ReturnsTable` refused — those follow the
 * returning table's permission). A permission that does not hold is inconsistent and left out
 * (upstream v1/computed_fields/create_permissions.yaml).
 */
function checkPermissionComputedFields(
  ref: TableRef, meta: TableMetadata, tm: TableModel, tables: Map<string, TableModel>, source: string,
  unsupported: Set<string>, inconsistent: InconsistentObject[],
): void {
  for (const sp of meta.select_permissions ?? []) {
    const listed = asList(sp.permission.computed_fields) ?? [];
    let why: string | undefined;
    for (const name of listed) {
      const c = tm.computed.get(name);
      if (!c) {
        if (unsupported.has(`${tm.key}.${name}`)) continue;
        why = `computed field ${JSON.stringify(name)} does not exist`;
      } else if (c.returns.kind === 'table') {
        why = `select permissions on computed field ${JSON.stringify(name)} are auto-derived from the permissions on its returning table ${JSON.stringify(shown(tables.get(c.returns.target)!))} and cannot be specified manually`;
      }
      if (why) break;
    }
    if (!why) continue;
    tm.perms.delete(sp.role);
    inconsistent.push({
      // The permission as Hasura stores it (`SelPerm` with its defaults).
      definition: {
        role: sp.role, source, comment: sp.comment ?? null,
        permission: { allow_aggregations: false, computed_fields: [], ...sp.permission },
        table: ref,
      },
      name: `select_permission ${sp.role} in table ${shown(ref)} in source ${source}`,
      reason: `Inconsistent object: in table "${shown(ref)}": in permission for role "${sp.role}": ${why}`,
      type: 'select_permission',
    });
  }
}

const shown = (r: TableRef) => (r.schema === 'public' ? r.name : `${r.schema}.${r.name}`);

export function buildModel(md: Metadata, catalog: Catalog, fns: FunctionCatalog = new Map(), enums: EnumCatalog = new Map(), opts: { inferFunctionPermissions?: boolean } = {}): Model {
  const warnings: string[] = [];
  const inconsistent: InconsistentObject[] = [];
  const source = md.sources?.[0]?.name ?? 'default';
  const tables = new Map<string, TableModel>();
  const roles = new Set<string>();
  const tracked = trackedTables(md);
  const excluded = new Set<string>();
  for (const { ref, meta } of tracked) {
    const pgt = catalog.get(tableKey(ref.schema, ref.name));
    if (!pgt) { warnings.push(`table ${ref.schema}.${ref.name} not found`); continue; }
    const en = enums.get(tableKey(ref.schema, ref.name));
    if (en && !en.ok) {
      // A table that cannot be an enum is left out of the schema, reported as Hasura reports it.
      warnings.push(`${tableKey(ref.schema, ref.name)}: ${en.reason}`);
      inconsistent.push({ definition: ref, name: `table ${shown(ref)} in source ${source}`, reason: `Inconsistent object: ${en.reason}`, type: 'table' });
      excluded.add(tableKey(ref.schema, ref.name));
      continue;
    }
    const cfg = meta.configuration ?? {};
    const id = cfg.custom_name ?? defaultIdentifier(ref);
    // A table whose name is no GraphQL name ("users address") can be tracked, and stays out of the
    // schema, with no inconsistency (upstream v1/track_table/track_non_graphql_compliant_table.yaml;
    // a `custom_name` gives it one).
    if (!/^[_A-Za-z][_0-9A-Za-z]*$/.test(id)) { warnings.push(`table ${ref.schema}.${ref.name}: ${JSON.stringify(id)} is not a GraphQL name, left out of the schema`); continue; }
    const crf = cfg.custom_root_fields ?? {};
    const columns = columnsOf(pgt, meta);
    const perms = new Map<string, SelectPerm>();
    for (const sp of meta.select_permissions ?? []) { perms.set(sp.role, selectPerm(sp.permission, pgt)); roles.add(sp.role); }
    const insertPerms = new Map<string, InsertPerm>();
    const updatePerms = new Map<string, UpdatePerm>();
    const deletePerms = new Map<string, DeletePerm>();
    for (const p of meta.insert_permissions ?? []) { insertPerms.set(p.role, insertPerm(p.permission ?? {}, pgt)); roles.add(p.role); }
    for (const p of meta.update_permissions ?? []) { updatePerms.set(p.role, updatePerm(p.permission ?? {}, pgt)); roles.add(p.role); }
    for (const p of meta.delete_permissions ?? []) { deletePerms.set(p.role, deletePerm(p.permission ?? {})); roles.add(p.role); }
    const isTable = pgt.kind === 'r' || pgt.kind === 'p';
    const viewMut = (pgt as { mutable?: { insert: boolean; update: boolean; delete: boolean } }).mutable;
    tables.set(tableKey(ref.schema, ref.name), {
      key: tableKey(ref.schema, ref.name), schema: ref.schema, name: ref.name, id,
      rootNames: {
        select: rootName(crf.select) ?? id,
        select_by_pk: rootName(crf.select_by_pk) ?? `${id}_by_pk`,
        select_aggregate: rootName(crf.select_aggregate) ?? `${id}_aggregate`,
        select_stream: rootName(crf.select_stream) ?? `${id}_stream`,
        insert: rootName(crf.insert) ?? `insert_${id}`,
        insert_one: rootName(crf.insert_one) ?? `insert_${id}_one`,
        update: rootName(crf.update) ?? `update_${id}`,
        update_by_pk: rootName(crf.update_by_pk) ?? `update_${id}_by_pk`,
        update_many: rootName(crf.update_many) ?? `update_${id}_many`,
        delete: rootName(crf.delete) ?? `delete_${id}`,
        delete_by_pk: rootName(crf.delete_by_pk) ?? `delete_${id}_by_pk`,
      },
      mutable: isTable ? { insert: true, update: true, delete: true } : (viewMut ?? { insert: false, update: false, delete: false }),
      uniqueConstraints: pgt.constraints.filter((c) => c.kind === 'p' || c.kind === 'u').map((c) => ({ name: c.name, columns: c.columns })),
      insertPerms, updatePerms, deletePerms,
      columns,
      colByName: new Map(columns.map((c) => [c.name, c])),
      colByGql: new Map(columns.map((c) => [c.gqlName, c])),
      pk: pgt.constraints.find((c) => c.kind === 'p')?.columns ?? [],
      rels: [], relByName: new Map(), perms, computed: new Map(),
    });
  }
  // Columns with a one-column foreign key to an enum table's key take its enum type
  // (`ColumnEnumReference`, RQL/Types/Column.hs; EnumValues.hs), the `<table id>_enum`.
  for (const tm of tables.values()) {
    const pgt = catalog.get(tm.key)!;
    for (const con of pgt.constraints) {
      if (con.kind !== 'f' || con.columns.length !== 1 || !con.ref) continue;
      const targetKey = tableKey(con.ref.schema, con.ref.name);
      const en = enums.get(targetKey);
      const target = tables.get(targetKey);
      if (!en?.ok || !target || con.ref.columns[0] !== en.column) continue;
      const col = tm.colByName.get(con.columns[0]!);
      if (!col) continue;
      col.enumOf = { typeName: `${target.id}_enum`, values: en.values };
      col.scalar = col.enumOf.typeName;
    }
  }
  for (const { ref, meta } of tracked) {
    const tm = tables.get(tableKey(ref.schema, ref.name));
    const pgt = catalog.get(tableKey(ref.schema, ref.name));
    if (!tm || !pgt) continue;
    const rels: Array<['object' | 'array', { name: string; using: Record<string, unknown> }]> = [
      ...(meta.object_relationships ?? []).map((r) => ['object', r] as ['object', typeof r]),
      ...(meta.array_relationships ?? []).map((r) => ['array', r] as ['array', typeof r]),
    ];
    for (const [kind, r] of rels) {
      const rel = resolveRel(kind, r.name, r.using ?? {}, pgt, catalog);
      if (typeof rel === 'string') {
        warnings.push(`${tm.key}: ${rel}`);
        inconsistent.push({
          definition: { ...r, source, comment: (r as { comment?: unknown }).comment ?? null, table: ref },
          name: `${kind}_relation ${r.name} in table ${shown(ref)} in source ${source}`,
          reason: `Inconsistent object: in table "${shown(ref)}": in relationship "${r.name}": ${rel.replace(/^relationship \S+: /, '')}`,
          type: `${kind}_relation`,
        });
        continue;
      }
      const target = tables.get(rel.target);
      if (!target && excluded.has(rel.target)) {
        // Its target was left out as inconsistent: so is the relationship (upstream
        // v1/set_table_is_enum/relationship_with_inconsistent_enum_table.yaml).
        const gone = catalog.get(rel.target)!;
        warnings.push(`${tm.key}: relationship ${r.name} targets inconsistent ${rel.target}`);
        inconsistent.push({
          definition: { ...r, source, comment: (r as { comment?: unknown }).comment ?? null, table: ref },
          name: `${kind}_relation ${r.name} in table ${shown(ref)} in source ${source}`,
          reason: `Inconsistent object: table ${JSON.stringify(shown(gone))} is not tracked`,
          type: `${kind}_relation`,
        });
        continue;
      }
      if (!target) { warnings.push(`${tm.key}: relationship ${r.name} targets untracked ${rel.target}`); continue; }
      const customCol = tm.colByGql.get(rel.name);
      if (customCol && customCol.name !== rel.name) {
        // Schema/Cache/Fields.hs `noCustomFieldConflicts`: a relationship named as another column's
        // custom name is inconsistent (upstream v1/set_table_custom_fields/conflict_with_relationship.yaml).
        const why = `field definition conflicts with custom field name for postgres column ${JSON.stringify(customCol.name)}`;
        warnings.push(`${tm.key}: ${why}`);
        inconsistent.push({
          definition: { ...r, source, comment: (r as { comment?: unknown }).comment ?? null, table: ref },
          name: `${kind}_relation ${r.name} in table ${shown(ref)} in source ${source}`,
          reason: `Inconsistent object: ${why}`,
          type: `${kind}_relation`,
        });
        continue;
      }
      if (tm.colByGql.has(rel.name) || tm.relByName.has(rel.name)) {
        warnings.push(`${tm.key}: relationship ${r.name} conflicts with an existing field`); continue;
      }
      if (rel.mapping.some(([a, b]) => !tm.colByName.has(a) || !target.colByName.has(b))) {
        warnings.push(`${tm.key}: relationship ${r.name} maps unknown columns`); continue;
      }
      tm.rels.push(rel);
      tm.relByName.set(rel.name, rel);
    }
  }
  const unsupported = new Set<string>();
  for (const { ref, meta } of tracked) {
    const tm = tables.get(tableKey(ref.schema, ref.name));
    if (!tm) continue;
    for (const cf of (meta.computed_fields ?? []) as CfMeta[]) {
      const c = computedField(cf, tm, fns);
      if (typeof c === 'object' && 'unsupported' in c) { warnings.push(`${tm.key}: ${c.unsupported}`); unsupported.add(`${tm.key}.${cf.name}`); continue; }
      const conflict = tm.colByName.has(cf.name) || tm.colByGql.has(cf.name) ? 'field definition conflicts with postgres column'
        : tm.relByName.has(cf.name) ? 'field definition conflicts with relationship' : undefined;
      if (typeof c === 'string' || conflict) {
        const why = conflict ?? `in table "${shown(ref)}": in computed field "${cf.name}": ${String(c)}`;
        warnings.push(`${tm.key}: ${why}`);
        inconsistent.push({
          // The function as Hasura stores it: a qualified `{schema, name}` object.
          definition: { definition: { ...cf.definition, function: tableRef(cf.definition?.function) ?? cf.definition?.function }, name: cf.name, source, comment: (cf as { comment?: unknown }).comment ?? null, table: ref },
          name: `computed_field ${cf.name} in table ${shown(ref)} in source ${source}`,
          reason: `Inconsistent object: ${why}`,
          type: 'computed_field',
        });
        continue;
      }
      if (c.returns.kind === 'table' && !tables.has(c.returns.target)) { warnings.push(`${tm.key}: computed field ${cf.name} returns an untracked table`); continue; }
      tm.computed.set(c.name, c);
    }
    checkPermissionComputedFields(ref, meta, tm, tables, source, unsupported, inconsistent);
  }
  const functions: FunctionModel[] = [];
  const rootNames = new Set<string>();
  for (const t of tables.values()) for (const n of Object.values(t.rootNames)) rootNames.add(n);
  for (const src of md.sources ?? []) for (const f of (src.functions ?? []) as FnMeta[]) {
    const ref = tableRef(f.function ?? f);
    const fn = ref ? fns.get(tableKey(ref.schema, ref.name)) : undefined;
    const bad = (why: string) => {
      warnings.push(`function ${ref ? shown(ref) : JSON.stringify(f)}: ${why}`);
      inconsistent.push({
        // Hasura shows a function's inconsistency with the function's name as its definition
        // (upstream graphql_mutation/functions/smoke_errs.yaml).
        definition: ref ?? f,
        name: `function ${ref ? shown(ref) : JSON.stringify(f)} in source ${src.name}`,
        reason: `Inconsistent object: ${why}`,
        type: 'function',
      });
    };
    if (!ref || !fn) { bad(`no such function exists in postgres : ${JSON.stringify(ref ? shown(ref) : f)}`); continue; }
    const target = tableKey(fn.returnType.schema, fn.returnType.name);
    // Backends/Postgres/DDL/Function.hs `buildFunctionInfo`: the function must return a table
    // (SETOF or a single row of a tracked table's type).
    if (fn.returnTypType !== 'c') { bad(`the function ${JSON.stringify(shown(ref))} cannot be tracked because the function does not return a "COMPOSITE" type`); continue; }
    if (!tables.has(target)) { bad(`the function ${JSON.stringify(shown(ref))} cannot be tracked because the function does not return a table`); continue; }
    // VOLATILE functions are mutations unless `exposed_as: query`; a non-VOLATILE one cannot be a
    // mutation (DDL/Function.hs `buildFunctionInfo`; upstream graphql_mutation/functions/smoke_errs.yaml).
    const exposedAs = f.configuration?.exposed_as === 'query' || f.configuration?.exposed_as === 'mutation'
      ? f.configuration.exposed_as : fn.volatility === 'v' ? 'mutation' : 'query';
    if (exposedAs === 'mutation' && fn.volatility !== 'v') {
      bad(`in function ${JSON.stringify(fn.name)}: the function ${JSON.stringify(fn.name)} cannot be tracked because the function was requested to be exposed as a mutation, but is not marked VOLATILE. Maybe the function was given the wrong volatility when it was defined?`);
      continue;
    }
    const sessionArg = f.configuration?.session_argument;
    const sessionArgIndex = sessionArg ? fn.args.findIndex((a) => a.name === sessionArg) : undefined;
    const rootName = f.configuration?.custom_name ?? defaultIdentifier(ref);
    // Root field names are unique across tables and functions (Hasura: "Encountered conflicting definitions in the selection set").
    if (rootNames.has(rootName) || rootNames.has(`${rootName}_aggregate`)) { bad(`the function ${JSON.stringify(shown(ref))} cannot be tracked because a root field named "${rootName}" already exists`); continue; }
    rootNames.add(rootName);
    rootNames.add(`${rootName}_aggregate`);
    functions.push({
      fn, target, sessionArgIndex: sessionArgIndex !== undefined && sessionArgIndex >= 0 ? sessionArgIndex : undefined,
      rootName,
      inputArgs: fn.args.filter((a) => a.name !== sessionArg),
      exposedAs,
      returnsSet: fn.returnsSet,
      permissions: new Set((f.permissions ?? []).map((p) => p.role).filter((r): r is string => typeof r === 'string')),
    });
  }
  for (const r of inheritRoles(md, tables, functions, warnings, inconsistent, source)) roles.add(r);
  return { tables, functions, roles: [...roles].sort(), warnings, inconsistent, inferFunctionPermissions: opts.inferFunctionPermissions ?? true };
}

interface InheritedRoleMeta { role_name: string; role_set: string[] }

/** `inherited_roles` as metadata holds them (a list of `{role_name, role_set}`); malformed entries are skipped. */
export function inheritedRoles(md: Metadata): InheritedRoleMeta[] {
  const list = Array.isArray(md.inherited_roles) ? (md.inherited_roles as unknown[]) : [];
  return list.filter((r): r is InheritedRoleMeta => !!r && typeof r === 'object'
    && typeof (r as InheritedRoleMeta).role_name === 'string' && Array.isArray((r as InheritedRoleMeta).role_set)
    && (r as InheritedRoleMeta).role_set.every((x) => typeof x === 'string'));
}

/**
 * The cycles among inherited roles, each as the path Hasura prints: from a role back to itself
 * along the parents (RQL/DDL/Schema/Cache/Permission.hs `orderRoles`: such metadata is refused
 * with `found cycle(s) in roles: ["a","b","a"]`; upstream test_graphql_queries.py
 * `test_throw_error_when_roles_form_a_cycle`). Each cycle starts at its first role by name.
 */
export function roleCycles(md: Metadata): string[][] {
  const defs = new Map(inheritedRoles(md).map((r) => [r.role_name, r.role_set]));
  const seen = new Set<string>();
  const cycles: string[][] = [];
  for (const start of [...defs.keys()].sort()) {
    if (seen.has(start)) continue;
    // Depth-first along parents for a path that comes back to `start`.
    const visited = new Set<string>();
    const walk = (role: string, path: string[]): string[] | undefined => {
      for (const p of defs.get(role) ?? []) {
        if (p === start) return [...path, p];
        if (visited.has(p) || !defs.has(p)) continue;
        visited.add(p);
        const found = walk(p, [...path, p]);
        if (found) return found;
      }
      return undefined;
    };
    const cycle = walk(start, [start]);
    if (!cycle) continue;
    for (const r of cycle) seen.add(r);
    cycles.push(cycle);
  }
  return cycles;
}

/**
 * Gives every inherited role (docs auth/authorization/inherited-roles.mdx) the permissions it
 * inherits, table by table, where it has none of its own (an explicit permission overrides the
 * inherited one: override_inherited_permission.yaml). Parents that are inherited roles are
 * resolved first; a cycle leaves the roles on it out (Hasura refuses such metadata: "found
 * cycle(s) in roles", RQL/DDL/Schema/Cache/Permission.hs). Select permissions combine as
 * RQL/Types/Roles/Internal.hs `CombinedSelPermInfo` does: columns and computed fields united,
 * each one redacted to the parents that grant it, filters OR'ed, the largest limit, aggregations
 * if any parent allows them, root fields united. Insert/update/delete are inherited only when
 * every parent that has one has the same (`CheckPermission`: a conflict gives none); function
 * permissions from any parent.
 */
function inheritRoles(md: Metadata, tables: Map<string, TableModel>, functions: FunctionModel[], warnings: string[], inconsistent: InconsistentObject[], source: string): string[] {
  const defs = new Map(inheritedRoles(md).map((r) => [r.role_name, r.role_set]));
  const state = new Map<string, 'busy' | 'done'>();
  const resolve = (role: string): boolean => {
    const st = state.get(role);
    if (st === 'done') return true;
    if (st === 'busy') return false;
    const parents = defs.get(role);
    if (!parents) return true; // a plain role
    state.set(role, 'busy');
    for (const p of parents) {
      if (!resolve(p)) { warnings.push(`inherited role ${role}: its roles form a cycle`); return false; }
    }
    for (const t of tables.values()) {
      if (!t.perms.has(role)) {
        const sel = parents.map((p) => t.perms.get(p)).filter((p): p is SelectPerm => !!p);
        if (sel.length > 0) t.perms.set(role, combineSelect(sel));
      }
      for (const [kind, perms] of [['insert', t.insertPerms], ['update', t.updatePerms], ['delete', t.deletePerms]] as const) {
        if (inheritSame(perms as Map<string, unknown>, role, parents) !== 'conflict') continue;
        // Schema/Cache/Permission.hs: parents with different mutation permissions give the role
        // none, reported as `ConflictingInheritedPermission` (upstream
        // graphql_mutation/roles_inheritance/resolve_inconsistent_permission.yaml).
        const table = t.schema === 'public' ? t.name : `${t.schema}.${t.name}`;
        inconsistent.push({
          definition: undefined,
          reason: `Could not inherit permission for the role '${role}' for the entity: '${kind} permission, table: ${table}, source: '${source}''`,
          name: role,
          type: inheritedPermissionInconsistency,
          entity: { permission_type: kind, source, table },
        });
      }
    }
    // A function permission is inherited from any parent that has it (upstream
    // graphql_mutation/functions/permissions/roles_inheritance/multiple_parents_inheritance.yaml).
    for (const f of functions) if (parents.some((p) => f.permissions.has(p))) f.permissions.add(role);
    state.set(role, 'done');
    return true;
  };
  const out: string[] = [];
  for (const role of defs.keys()) if (resolve(role)) out.push(role);
  return out;
}

/** Sets the role's permission when its parents' agree; `conflict` when they differ (none set). */
function inheritSame<P>(perms: Map<string, P>, role: string, parents: string[]): 'conflict' | undefined {
  if (perms.has(role)) return undefined;
  const given = parents.map((p) => perms.get(p)).filter((p): p is P => p !== undefined);
  if (given.length === 0) return undefined;
  const key = (p: P) => JSON.stringify(p, (_k, v: unknown) => (v instanceof Set ? [...v].sort() : v));
  const first = key(given[0]!);
  if (!given.every((p) => key(p) === first)) return 'conflict';
  perms.set(role, given[0]!);
  return undefined;
}

export function combineSelect(perms: SelectPerm[]): SelectPerm {
  const parts: PermPart[] = perms.flatMap((p) => p.parts ?? [{ filter: p.filter, columns: p.columns, computedFields: p.computedFields }]);
  const columns = new Set(parts.flatMap((p) => [...p.columns]));
  const computedFields = new Set(parts.flatMap((p) => [...p.computedFields]));
  const redact = new Map<string, unknown>();
  const visibleUnder = (has: (p: PermPart) => boolean): unknown => {
    const granting = parts.filter(has);
    return granting.length === 1 ? granting[0]!.filter : { _or: granting.map((p) => p.filter) };
  };
  for (const c of columns) if (!parts.every((p) => p.columns.has(c))) redact.set(c, visibleUnder((p) => p.columns.has(c)));
  for (const c of computedFields) if (!parts.every((p) => p.computedFields.has(c))) redact.set(c, visibleUnder((p) => p.computedFields.has(c)));
  const limits = perms.map((p) => p.limit).filter((l): l is number => l !== undefined);
  const roots = (pick: (p: SelectPerm) => string[] | undefined): string[] | undefined =>
    perms.some((p) => pick(p) === undefined) ? undefined : [...new Set(perms.flatMap((p) => pick(p)!))];
  return {
    columns, computedFields,
    filter: parts.length === 1 ? parts[0]!.filter : { _or: parts.map((p) => p.filter) },
    limit: limits.length ? Math.max(...limits) : undefined,
    allowAggregations: perms.some((p) => p.allowAggregations),
    queryRootFields: roots((p) => p.queryRootFields),
    subscriptionRootFields: roots((p) => p.subscriptionRootFields),
    parts,
    ...(redact.size ? { redact } : {}),
  };
}

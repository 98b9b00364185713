/**
 * Metadata that names what the database no longer has is "inconsistent" (docs/docs/
 * api-reference/metadata-api/manage-metadata.mdx `get_inconsistent_metadata`): Hasura keeps such
 * objects in the stored metadata, leaves them out of the GraphQL schema, and reports them. Here:
 * tables that do not exist, relationships to tables that are not tracked, permissions listing
 * columns that do not exist. The engine is given the metadata with those left out.
 */
import type { Metadata, TableMetadata } from '../contract.ts';
import { cloneMetadata, parseTableName, sameTable, tableText } from '../metadata/model.ts';
import { catalogByName, type CatalogTable } from './catalog.ts';
import type { Queryable } from '../sql/sql.ts';
import { relationshipTarget } from './ops.ts';
import { QErr } from '../errors.ts';

export interface InconsistentObject {
  definition: unknown;
  name: string;
  reason: string;
  type: string;
}

export interface Checked {
  effective: Metadata;
  inconsistent: InconsistentObject[];
}

const key = (t: { schema: string; name: string }) => `${t.schema}.${t.name}`;

export async function checkConsistency(db: Queryable, metadata: Metadata): Promise<Checked> {
  const effective = cloneMetadata(metadata);
  const inconsistent: InconsistentObject[] = [];
  for (const source of effective.sources) {
    // Only the `default` source's database is reachable; other sources are checked by the engine.
    const catalog = new Map<string, CatalogTable>();
    for (const c of await catalogByName(db, source.tables.map((t) => t.table))) catalog.set(key(c), c);
    const at = `in source ${source.name}`;
    source.tables = source.tables.filter((t) => {
      if (catalog.has(key(t.table))) return true;
      inconsistent.push({
        definition: t.table,
        name: `table ${tableText(t.table)} ${at}`,
        reason: `Inconsistent object: no such table/view exists in source: "${tableText(t.table)}"`,
        type: 'table',
      });
      return false;
    });
    const tracked = (q: { schema: string; name: string }) => source.tables.some((t) => sameTable(t.table, q));
    for (const t of source.tables) {
      const columns = new Set(catalog.get(key(t.table))!.columns.map((c) => c.name));
      for (const kind of ['object', 'array'] as const) {
        const k = `${kind}_relationships` as const;
        if (!t[k]) continue;
        t[k] = t[k].filter((r) => {
          const target = relationshipTarget(r.using);
          if (!target || tracked(target)) return true;
          inconsistent.push({
            definition: { name: r.name, using: r.using, table: t.table, source: source.name },
            name: `${kind}_relation ${r.name} in table ${tableText(t.table)} ${at}`,
            reason: `Inconsistent object: in table "${tableText(t.table)}": in relationship "${r.name}": table "${tableText(target)}" is not tracked`,
            type: `${kind}_relation`,
          });
          return false;
        });
      }
      prunePermissions(t, columns, source.name, inconsistent);
    }
  }
  return { effective, inconsistent };
}

function prunePermissions(t: TableMetadata, columns: Set<string>, source: string, out: InconsistentObject[]): void {
  for (const kind of ['select', 'insert', 'update', 'delete'] as const) {
    const k = `${kind}_permissions` as const;
    if (!t[k]) continue;
    t[k] = t[k].filter((p) => {
      const cols = p.permission.columns;
      const missing = Array.isArray(cols) ? cols.find((c) => typeof c === 'string' && !columns.has(c)) : undefined;
      if (missing === undefined) return true;
      out.push({
        definition: { role: p.role, permission: p.permission, table: t.table, source },
        name: `${kind}_permission ${p.role} in table ${tableText(t.table)} in source ${source}`,
        reason: `Inconsistent object: in table "${tableText(t.table)}": in permission for role "${p.role}": no such column exists: "${String(missing)}"`,
        type: `${kind}_permission`,
      });
      return false;
    });
  }
}

/** Parses the table name of an inconsistent object's definition (drop_inconsistent_metadata). */
export function inconsistentTable(o: InconsistentObject): { schema: string; name: string } | undefined {
  if (o.type === 'table') return parseTableName(o.definition);
  return undefined;
}

/**
 * drop_inconsistent_metadata for the objects the engine judges (functions, computed fields,
 * relationships whose constraint does not exist): removes each from `m` by its definition.
 */
export function dropObjects(m: Metadata, objects: InconsistentObject[]): void {
  for (const o of objects) {
    const d = (o.definition ?? {}) as { table?: unknown; name?: string; function?: unknown };
    if (o.type === 'query_collections') {
      // purgeMetadataObj (MOQueryCollectionsQuery): the query leaves its collection.
      const collection = /^query_collections .* in (.*)$/s.exec(o.name)?.[1];
      for (const c of (Array.isArray(m.query_collections) ? m.query_collections : []) as Array<{ name: string; definition?: { queries?: Array<{ name: string }> } }>) {
        if (c.name === collection && c.definition?.queries) c.definition.queries = c.definition.queries.filter((q) => q.name !== d.name);
      }
      continue;
    }
    for (const source of m.sources) {
      if (o.type === 'table') {
        const t = parseTableName(o.definition);
        if (t) source.tables = source.tables.filter((x) => !sameTable(x.table, t));
        continue;
      }
      if (o.type === 'function') {
        // The definition is the function's name (as Hasura shows it), or `{function, …}`.
        const fn = parseTableName(d.function ?? o.definition);
        source.functions = (source.functions ?? []).filter((f) => {
          const ref = parseTableName((f as { function?: unknown }).function ?? f);
          return !(fn && ref && sameTable(fn, ref));
        });
        continue;
      }
      const table = parseTableName(d.table);
      const t = table ? source.tables.find((x) => sameTable(x.table, table)) : undefined;
      if (!t) continue;
      if (o.type === 'computed_field') t.computed_fields = ((t.computed_fields ?? []) as Array<{ name: string }>).filter((c) => c.name !== d.name);
      if (o.type === 'object_relation') t.object_relationships = (t.object_relationships ?? []).filter((r) => r.name !== d.name);
      if (o.type === 'array_relation') t.array_relationships = (t.array_relationships ?? []).filter((r) => r.name !== d.name);
      for (const kind of ['select', 'insert', 'update', 'delete'] as const) {
        // A permission the engine judged (e.g. naming a computed field it may not list).
        const role = (d as { role?: unknown }).role;
        if (o.type === `${kind}_permission` && t[`${kind}_permissions`]) t[`${kind}_permissions`] = t[`${kind}_permissions`]!.filter((p) => p.role !== role);
      }
    }
  }
}

/**
 * The refusal of a metadata change that brings new inconsistencies, as Hasura's
 * `buildSchemaCacheFor objectId` makes it (RQL/DDL/Schema/Cache.hs): when some concern the object
 * the command defines, `invalid-configuration` with their reasons comma-separated; when only others
 * do (a column's custom name now clashing with a relationship: upstream
 * v1/set_table_custom_fields/conflict_with_relationship.yaml), `unexpected` "cannot continue due to
 * new inconsistent metadata" (400), the objects in `internal` either way. `target` is the object's
 * name as inconsistencies are named (`array_relation r in table t in source default`); without one
 * (replace_metadata, bulks) the first reason is given.
 */
export function newInconsistencyError(fresh: InconsistentObject[], target?: string): QErr {
  // A change that breaks a collection query (untrack_table, a dropped column, a collection's new
  // query that does not fit the schema) is refused by upstream's `withNewInconsistentObjsCheck`
  // (RQL/Types/SchemaCache/Build.hs), which words it so: upstream's status there is 500; a
  // client's change is never a 500 here (docs/style.md), so 400 (test/rest/upstream/README.md).
  if (!target && fresh.some((o) => o.type === 'query_collections')) {
    return new QErr('unexpected', 'cannot continue due to newly found inconsistent metadata', '$.args', fresh, 400);
  }
  if (target) {
    const mine = fresh.filter((o) => o.name === target);
    if (mine.length > 0) return new QErr('invalid-configuration', mine.map((o) => o.reason).join(', '), '$.args', mine);
    return new QErr('unexpected', 'cannot continue due to new inconsistent metadata', '$.args', fresh, 400);
  }
  return new QErr('invalid-configuration', fresh[0]!.reason, '$.args', fresh);
}

/** The name a command's own object has among inconsistencies (see `newInconsistencyError`). */
export function commandObject(type: string, args: unknown): string | undefined {
  if (!args || typeof args !== 'object' || Array.isArray(args)) return undefined;
  const a = args as Record<string, unknown>;
  const src = typeof a.source === 'string' ? a.source : 'default';
  const table = parseTableName(a.table);
  const inTable = table ? ` in table ${tableText(table)} in source ${src}` : undefined;
  const rel = /^(?:pg_)?create_(object|array)_relationship$/.exec(type);
  if (rel && inTable && typeof a.name === 'string') return `${rel[1]}_relation ${a.name}${inTable}`;
  const perm = /^(?:pg_)?create_(select|insert|update|delete)_permission$/.exec(type);
  if (perm && inTable && typeof a.role === 'string') return `${perm[1]}_permission ${a.role}${inTable}`;
  if (/^(?:pg_)?add_computed_field$/.test(type) && inTable && typeof a.name === 'string') return `computed_field ${a.name}${inTable}`;
  if (/^(?:pg_)?(set_table_custom_fields|set_table_customization|set_table_is_enum)$/.test(type) && table) return `table ${tableText(table)} in source ${src}`;
  return undefined;
}

/**
 * Enum tables (`is_enum: true`; docs schema/postgres/enums.mdx "Enum type fields"): a table whose
 * rows are the values of a GraphQL enum. Hasura checks its shape and reads its rows when it builds
 * the schema cache (server/src-lib/Hasura/Backends/Postgres/DDL/EnumValues.hs
 * `fetchAndValidateEnumValues`), and keeps those values until the table's metadata changes, the
 * DDL of a run_sql touches it or the metadata is reloaded: rows inserted later by plain SQL show
 * up (or make the table inconsistent) only then (upstream v1/set_table_is_enum/
 * relationship_with_inconsistent_enum_table.yaml).
 */
import type { Metadata } from '../contract.ts';
import { trackedTables } from '../schema/resolve-metadata.ts';
import { identifier, keyword, run, sql, type Queryable } from '../sql/sql.ts';
import { tableKey, type Catalog, type PgTable, type PgTypeRef } from './catalog.ts';

export interface EnumValue { value: string; comment: string | null }

/** A usable enum table (its values), or why it cannot be one (the reason Hasura reports). */
export type EnumTable = { ok: true; column: string; values: EnumValue[] } | { ok: false; reason: string };

/** Enum tables by table key. */
export type EnumCatalog = Map<string, EnumTable>;

/** What an engine remembers between rebuilds: results by table key, valid while `sig` matches. */
export type EnumCache = Map<string, { sig: string; result: EnumTable }>;

/** PostgreSQL's `format_type` names for the built-in types Hasura's messages print. */
const SQL_NAMES: Record<string, string> = {
  int2: 'smallint', int4: 'integer', int8: 'bigint', float4: 'real', float8: 'double precision', bool: 'boolean',
  varchar: 'character varying', bpchar: 'character', timestamptz: 'timestamp with time zone',
  timestamp: 'timestamp without time zone', timetz: 'time with time zone', time: 'time without time zone',
};
const sqlName = (t: PgTypeRef) => (t.schema === 'pg_catalog' ? (SQL_NAMES[t.name] ?? t.name) : t.name);
/** `isTextual`: the value and comment columns hold text. */
const isTextual = (t: PgTypeRef) => t.schema === 'pg_catalog' && (t.name === 'text' || t.name === 'varchar');

/** A GraphQL enum value is a Name other than true, false and null (GraphQL spec §2.9.6 EnumValue). */
const isEnumValueName = (v: string) => /^[_A-Za-z][_0-9A-Za-z]*$/.test(v) && v !== 'true' && v !== 'false' && v !== 'null';

const shown = (t: PgTable) => (t.schema === 'public' ? t.name : `${t.schema}.${t.name}`);
const quoted = (s: string) => JSON.stringify(s);
const list = (names: string[]) => [...names].sort().join(', ');

/** `EnumTableIntegrityError`s of the table's shape (EnumValues.hs `showErrors`). */
function shapeErrors(t: PgTable): { errors: string[]; pk?: string; comment?: string } {
  const errors: string[] = [];
  const pkCols = t.constraints.find((c) => c.kind === 'p')?.columns ?? [];
  const col = (n: string) => t.columns.find((c) => c.name === n);
  let pk: string | undefined;
  if (pkCols.length === 0) errors.push('the table must have a primary key');
  else if (pkCols.length > 1) errors.push(`the table’s primary key must not span multiple columns (${list(pkCols)})`);
  else {
    pk = pkCols[0]!;
    const c = col(pk);
    if (c && !isTextual(c.type)) errors.push(`the table’s primary key (${quoted(pk)}) must have type "text", not type ${quoted(sqlName(c.type))}`);
  }
  const others = t.columns.filter((c) => !pkCols.includes(c.name));
  let comment: string | undefined;
  if (others.length > 1) {
    errors.push(`the table must have exactly one primary key and optionally one comment column, not ${t.columns.length} columns (${list(t.columns.map((c) => c.name))})`);
  } else if (others.length === 1) {
    const c = others[0]!;
    if (!isTextual(c.type)) errors.push(`the table’s comment column (${quoted(c.name)}) must have type "text", not type ${quoted(sqlName(c.type))}`);
    comment = c.name;
  }
  return { errors, ...(pk ? { pk } : {}), ...(comment ? { comment } : {}) };
}

function invalidNames(values: string[]): string {
  const bad = [...values].sort();
  if (bad.length === 1) return `the value ${quoted(bad[0]!)} is not a valid GraphQL enum value name`;
  if (bad.length === 2) return `the values ${quoted(bad[0]!)} and ${quoted(bad[1]!)} are not valid GraphQL enum value names`;
  return `the values ${bad.slice(0, -1).map(quoted).join(', ')}, and ${quoted(bad[bad.length - 1]!)} are not valid GraphQL enum value names`;
}

function failure(t: PgTable, errors: string[]): EnumTable {
  const reason = errors.length === 1
    ? `the table ${quoted(shown(t))} cannot be used as an enum because ${errors[0]!}`
    : `the table ${quoted(shown(t))} cannot be used as an enum for the following reasons:\n${errors.map((e) => `  • ${e}\n`).join('')}`;
  return { ok: false, reason };
}

async function readEnumTable(db: Queryable, t: PgTable): Promise<EnumTable> {
  const shape = shapeErrors(t);
  if (shape.errors.length > 0 || !shape.pk) return failure(t, shape.errors);
  const comment = shape.comment ? sql`${identifier(shape.comment)}::text` : keyword('NULL::text');
  const { rows } = await run<{ values: EnumValue[] }>(db, sql`
    SELECT coalesce(json_agg(json_build_object('value', ${identifier(shape.pk)}::text, 'comment', ${comment})), '[]'::json) AS values
      FROM ${identifier(t.schema, t.name)}`);
  const values = rows[0]?.values ?? [];
  if (values.length === 0) return failure(t, ['the table must have at least one row']);
  const bad = values.filter((v) => !isEnumValueName(v.value)).map((v) => v.value);
  if (bad.length > 0) return failure(t, [invalidNames(bad)]);
  return { ok: true, column: shape.pk, values: values.sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0)) };
}

/**
 * Checks and reads every tracked `is_enum` table present in `catalog`. With a `cache`, a table
 * whose metadata and catalog entry are unchanged keeps the values read before.
 */
export async function introspectEnums(db: Queryable, md: Metadata, catalog: Catalog, cache?: EnumCache): Promise<EnumCatalog> {
  const out: EnumCatalog = new Map();
  for (const { ref, meta } of trackedTables(md)) {
    if (meta.is_enum !== true) continue;
    const key = tableKey(ref.schema, ref.name);
    const t = catalog.get(key);
    if (!t) continue;
    const sig = JSON.stringify([meta, t.columns, t.constraints]);
    const hit = cache?.get(key);
    const result = hit && hit.sig === sig ? hit.result : await readEnumTable(db, t);
    cache?.set(key, { sig, result });
    out.set(key, result);
  }
  return out;
}

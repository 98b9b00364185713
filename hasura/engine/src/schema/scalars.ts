import type { PgTypeRef } from '../introspection/catalog.ts';

/**
 * PostgreSQL type → GraphQL scalar name (Hasura `mkScalarTypeName`, Postgres/SQL/Types.hs).
 * Arrays keep Hasura's legacy `_<elem>` scalar (`_text`), compared with `_text_comparison_exp`.
 */
const BUILTIN: Record<string, string> = {
  int4: 'Int', int2: 'smallint', int8: 'bigint', bool: 'Boolean', float4: 'Float', float8: 'float8',
  text: 'String', varchar: 'String', numeric: 'numeric',
};

export function scalarName(t: PgTypeRef): string {
  if (t.schema === 'pg_catalog' && BUILTIN[t.name]) return BUILTIN[t.name]!;
  return t.name.replace(/[^_0-9A-Za-z]/g, '_');
}

/**
 * A function argument of a row type (e.g. a table's type) is the scalar `<name>_scalar`, so it
 * never collides with the table's object type (Postgres/SQL/Types.hs `mkScalarTypeName`,
 * `PGCompositeScalar`; upstream graphql_query/computed_fields/tracked_function_as_comp_field.yaml).
 */
export function argScalarName(t: PgTypeRef): string {
  return t.category === 'C' ? `${t.name.replace(/[^_0-9A-Za-z]/g, '_')}_scalar` : scalarName(t);
}

/** Emitted as JSON strings with --stringify-numeric-types (`isBigNum`, Translate/Column.hs). */
export const BIGNUM = new Set(['int8', 'numeric', 'float8', 'money']);
export const isBigNum = (t: PgTypeRef): boolean => t.schema === 'pg_catalog' && BIGNUM.has(t.name);

const NUMERIC = new Set(['int2', 'int4', 'int8', 'float4', 'float8', 'numeric', 'money']);
export const isNumeric = (t: PgTypeRef): boolean => t.schema === 'pg_catalog' && NUMERIC.has(t.name);

/** `isStringType`: text-pattern operators (_like, _regex, …) apply. */
const STRINGY = new Set(['text', 'varchar', 'bpchar', 'citext', 'name']);
export const isStringType = (t: PgTypeRef): boolean => STRINGY.has(t.name);

/** `isComparableType`: min/max apply (not json/jsonb/bool/geo). */
const NOT_COMPARABLE = new Set(['json', 'jsonb', 'bool', 'geometry', 'geography', 'point', 'line', 'lseg', 'box', 'path', 'polygon', 'circle', 'xml']);
export const isComparable = (t: PgTypeRef): boolean => t.category !== 'A' && !NOT_COMPARABLE.has(t.name);

export const isJsonb = (t: PgTypeRef): boolean => t.name === 'jsonb';
export const isJson = (t: PgTypeRef): boolean => t.name === 'json' || t.name === 'jsonb';
export const isArray = (t: PgTypeRef): boolean => t.category === 'A';

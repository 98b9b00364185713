import type { PgColumn, PgFunction, PgFunctionArg, PgTypeRef } from '../introspection/catalog.ts';

/** A tracked table as the engine serves it: catalog facts + metadata (names, rels, permissions). */
export interface ColumnModel {
  name: string;
  gqlName: string;
  type: PgTypeRef;
  scalar: string;
  nullable: boolean;
  pg: PgColumn;
}

export interface RelModel {
  name: string;
  kind: 'object' | 'array';
  target: string; // table key
  /** [this table's column, target column] pairs. */
  mapping: Array<[string, string]>;
  nullable: boolean;
}

/** A select permission (docs syntax-defs.mdx "SelectPermission"). */
export interface SelectPerm {
  columns: Set<string>;
  filter: unknown;
  limit: number | undefined;
  allowAggregations: boolean;
  computedFields: Set<string>;
  queryRootFields: string[] | undefined;
  subscriptionRootFields: string[] | undefined;
}

export interface TableModel {
  key: string;
  schema: string;
  name: string;
  /** `<id>`: custom_name, else `schema_table` (or `table` in public). */
  id: string;
  rootNames: { select: string; select_by_pk: string; select_aggregate: string };
  columns: ColumnModel[];
  colByName: Map<string, ColumnModel>;
  colByGql: Map<string, ColumnModel>;
  pk: string[];
  rels: RelModel[];
  relByName: Map<string, RelModel>;
  perms: Map<string, SelectPerm>;
  computed: Map<string, ComputedFieldModel>;
}

/** A computed field (metadata `computed_fields`; docs schema/postgres/computed-fields.mdx). */
export interface ComputedFieldModel {
  name: string;
  fn: PgFunction;
  tableArgIndex: number;
  sessionArgIndex: number | undefined;
  /** Scalar results are described as a pseudo column (type, scalar) for casts and comparisons. */
  returns: { kind: 'scalar'; column: ColumnModel } | { kind: 'table'; target: string };
}

/** A tracked function returning SETOF a tracked table: root fields `<fn>` and `<fn>_aggregate`. */
export interface FunctionModel {
  fn: PgFunction;
  rootName: string;
  target: string;
  inputArgs: PgFunctionArg[];
  sessionArgIndex: number | undefined;
}

export interface Model {
  tables: Map<string, TableModel>;
  functions: FunctionModel[];
  roles: string[];
  /** Inconsistencies skipped while building (Hasura would list them as inconsistent objects). */
  warnings: string[];
}

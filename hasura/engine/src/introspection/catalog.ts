/** What the engine knows about a PostgreSQL table, read from pg_catalog (introspect.ts). */
export interface PgTypeRef {
  schema: string;
  name: string;
  /** pg_type.typcategory: 'N' numeric, 'S' string, 'B' boolean, 'A' array, 'U' user (json, uuid) … */
  category: string;
  /** For arrays: the element type. */
  elem?: { schema: string; name: string };
}

export interface PgColumn {
  name: string;
  type: PgTypeRef;
  nullable: boolean;
  hasDefault: boolean;
  position: number;
  /** The column's PostgreSQL comment (`col_description`): Hasura's `rciDescription`. */
  description?: string | null;
}

export interface PgConstraint {
  name: string;
  kind: 'p' | 'u' | 'f';
  columns: string[];
  ref?: { schema: string; name: string; columns: string[] };
}

export interface PgTable {
  schema: string;
  name: string;
  /** pg_class.relkind: r table, p partitioned, v view, m matview, f foreign. */
  kind: string;
  columns: PgColumn[];
  constraints: PgConstraint[];
}

export type Catalog = Map<string, PgTable>;
export const tableKey = (schema: string, name: string): string => `${schema}.${name}`;

export interface PgFunctionArg { name: string; type: PgTypeRef; hasDefault: boolean }

export interface PgFunction {
  schema: string;
  name: string;
  args: PgFunctionArg[];
  returnsSet: boolean;
  returnType: PgTypeRef;
  /** 'c' when the return type is a composite (a table's row type). */
  returnTypType: string;
  volatility: string;
}

export type FunctionCatalog = Map<string, PgFunction>;

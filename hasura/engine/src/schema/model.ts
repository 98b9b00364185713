import type { PgColumn, PgFunction, PgFunctionArg, PgTypeRef } from '../introspection/catalog.ts';
import type { EnumValue } from '../introspection/enums.ts';

/** A tracked table as the engine serves it: catalog facts + metadata (names, rels, permissions). */
export interface ColumnModel {
  name: string;
  gqlName: string;
  type: PgTypeRef;
  scalar: string;
  nullable: boolean;
  pg: PgColumn;
  /**
   * Hasura's `ciDescription` (Table/API.hs `extractColumnConfiguration`): the column_config
   * `comment` when the metadata gives a string (an empty one: none), else the PostgreSQL comment.
   */
  description?: string;
  /**
   * Set when the column references an enum table through a one-column foreign key: its GraphQL
   * type is the enum `<enum table>_enum` (and `scalar` is that name, for `<scalar>_comparison_exp`).
   */
  enumOf?: EnumModel;
}

/** The GraphQL enum of an enum table (docs schema/postgres/enums.mdx). */
export interface EnumModel {
  typeName: string;
  values: EnumValue[];
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
  /**
   * An inherited role's permission (docs auth/authorization/inherited-roles.mdx) is the union of
   * its parents': `parts` are the parents' own permissions (flattened through parents that are
   * inherited roles themselves), and `redact` maps each column / scalar computed field that not
   * every part grants to the filter under which it is visible — elsewhere it reads as null
   * (RQL/Types/Roles/Internal.hs `FieldAccessFilter`, the "redaction expression").
   */
  parts?: PermPart[];
  redact?: Map<string, unknown>;
}

/** One parent permission inside an inherited role's union. */
export interface PermPart { filter: unknown; columns: Set<string>; computedFields: Set<string> }

/** Insert permission (docs syntax-defs.mdx "InsertPermission"; docs/research/hasura-v2.md §B.2). */
export interface InsertPerm {
  columns: Set<string>;
  check: unknown;
  /** Column presets: a static value or a session variable name (`x-hasura-user-id`). */
  set: Record<string, unknown>;
  backendOnly: boolean;
}

/** Update permission ("UpdatePermission"): `filter` is the pre-, `check` the post-condition. */
export interface UpdatePerm {
  columns: Set<string>;
  filter: unknown;
  check: unknown;
  set: Record<string, unknown>;
  backendOnly: boolean;
}

export interface DeletePerm { filter: unknown; backendOnly: boolean }

/** Unique or primary-key constraint: the `<id>_constraint` enum values. */
export interface UniqueConstraint { name: string; columns: string[] }

export type MutationRootName = 'insert' | 'insert_one' | 'update' | 'update_by_pk' | 'update_many' | 'delete' | 'delete_by_pk';

export interface TableModel {
  key: string;
  schema: string;
  name: string;
  /** `<id>`: custom_name, else `schema_table` (or `table` in public). */
  id: string;
  rootNames: { select: string; select_by_pk: string; select_aggregate: string; select_stream: string } & Record<MutationRootName, string>;
  /** Tables, and views PostgreSQL reports as insertable/updatable (`isMutable`, docs/research/hasura-v2.md §A.4). */
  mutable: { insert: boolean; update: boolean; delete: boolean };
  uniqueConstraints: UniqueConstraint[];
  insertPerms: Map<string, InsertPerm>;
  updatePerms: Map<string, UpdatePerm>;
  deletePerms: Map<string, DeletePerm>;
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
  /**
   * The function's other arguments: the field's `args` (`<field>_<table>_args`). A computed field
   * with any cannot be used in filters, ordering or permissions (docs computed-fields.mdx).
   */
  inputArgs: PgFunctionArg[];
  /** Scalar results are described as a pseudo column (type, scalar) for casts and comparisons. */
  returns: { kind: 'scalar'; column: ColumnModel } | { kind: 'table'; target: string };
}

/**
 * A tracked function returning rows of a tracked table (docs schema/postgres/custom-functions.mdx):
 * `<fn>` and, for SETOF, `<fn>_aggregate`, on query_root or (VOLATILE, `exposed_as: mutation`)
 * on mutation_root.
 */
export interface FunctionModel {
  fn: PgFunction;
  rootName: string;
  target: string;
  inputArgs: PgFunctionArg[];
  sessionArgIndex: number | undefined;
  exposedAs: 'query' | 'mutation';
  /** False for a function returning one row of the table: the field is then one nullable object. */
  returnsSet: boolean;
  /** Roles given `pg_create_function_permission` (and inherited roles whose parents have it). */
  permissions: Set<string>;
}

export interface Model {
  tables: Map<string, TableModel>;
  functions: FunctionModel[];
  roles: string[];
  /** Inconsistencies skipped while building (Hasura would list them as inconsistent objects). */
  warnings: string[];
  /** Objects left out of the schema, in get_inconsistent_metadata's shape. */
  inconsistent: InconsistentObject[];
  /** HASURA_GRAPHQL_INFER_FUNCTION_PERMISSIONS: query functions open to roles that may select their table. */
  inferFunctionPermissions?: boolean;
}

/** One entry of `get_inconsistent_metadata` (RQL/Types/Metadata/Object.hs `InconsistentMetadata`). */
export interface InconsistentObject {
  definition: unknown;
  name: string;
  reason: string;
  type: string;
  /** `inherited role permission inconsistency` objects name the entity instead of a definition. */
  entity?: { permission_type: string; source: string; table: string };
}

/**
 * Hasura's `ConflictingInheritedPermission` (RQL/Types/Metadata/Object.hs): its `imObjectIds` are
 * empty, so it never counts as a *new* inconsistency that refuses a metadata change — the setup
 * that creates it succeeds and `get_inconsistent_metadata` reports it.
 */
export const inheritedPermissionInconsistency = 'inherited role permission inconsistency';

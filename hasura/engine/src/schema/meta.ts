import type { ColumnModel, ComputedFieldModel, DeletePerm, FunctionModel, InsertPerm, RelModel, SelectPerm, TableModel, UpdatePerm } from './model.ts';

/**
 * What a schema field means to the compiler; attached as `extensions.hasura` on graphql-js fields,
 * so validation hands the compiler the field definitions it resolved.
 */
export type FieldMeta =
  | { kind: 'select' | 'select_by_pk' | 'select_aggregate' | 'select_stream'; table: TableModel; perm: SelectPerm | undefined }
  | { kind: 'function' | 'function_aggregate'; fnm: FunctionModel; table: TableModel; perm: SelectPerm | undefined }
  | { kind: 'column'; column: ColumnModel }
  | { kind: 'computed'; cf: ComputedFieldModel; target: TableModel | undefined; perm: SelectPerm | undefined }
  | { kind: 'objrel' | 'arrrel' | 'arragg'; rel: RelModel; target: TableModel; perm: SelectPerm | undefined }
  | { kind: 'aggregate' | 'nodes' | 'count' }
  | { kind: 'aggop'; op: AggOp }
  | { kind: 'placeholder' }
  | { kind: 'insert' | 'insert_one'; table: TableModel; perm: SelectPerm | undefined; ins: InsertPerm; upd: UpdatePerm | undefined }
  | { kind: 'update' | 'update_by_pk' | 'update_many'; table: TableModel; perm: SelectPerm | undefined; upd: UpdatePerm }
  | { kind: 'delete' | 'delete_by_pk'; table: TableModel; perm: SelectPerm | undefined; del: DeletePerm }
  | { kind: 'affected_rows' | 'returning' };

export const AGG_OPS = ['avg', 'max', 'min', 'stddev', 'stddev_pop', 'stddev_samp', 'sum', 'var_pop', 'var_samp', 'variance'] as const;
export type AggOp = (typeof AGG_OPS)[number];

export function fieldMeta(ext: Readonly<Record<string, unknown>> | null | undefined): FieldMeta | undefined {
  return (ext?.hasura as FieldMeta | undefined) ?? undefined;
}

export const meta = (m: FieldMeta): { hasura: FieldMeta } => ({ hasura: m });

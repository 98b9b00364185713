import {
  GraphQLEnumType, GraphQLInputObjectType, GraphQLInt, GraphQLList, GraphQLNonNull, GraphQLObjectType, GraphQLString,
  type GraphQLFieldConfigArgumentMap, type GraphQLFieldConfigMap, type GraphQLInputFieldConfigMap, type GraphQLInputType,
} from 'graphql';
import { meta } from './meta.ts';
import type { ColumnModel, DeletePerm, InsertPerm, TableModel, UpdatePerm } from './model.ts';
import { isJsonb, isNumeric } from './scalars.ts';
import type { RoleTypes } from './root-fields.ts';

/**
 * mutation_root fields and their input types (GraphQL/Schema/Mutation.hs, Update.hs,
 * Backends/Postgres/Schema/OnConflict.hs; names in docs/research/hasura-v2.md §A.1, permissions in §B.2).
 */
export interface MutationPerms {
  ins(t: TableModel): InsertPerm | undefined;
  upd(t: TableModel): UpdatePerm | undefined;
  del(t: TableModel): DeletePerm | undefined;
}

/** The admin role may write every column, unchecked. */
export const adminInsert = (t: TableModel): InsertPerm => ({ columns: new Set(t.columns.map((c) => c.name)), check: {}, set: {}, backendOnly: false });
export const adminUpdate = (t: TableModel): UpdatePerm => ({ columns: new Set(t.columns.map((c) => c.name)), filter: {}, check: {}, set: {}, backendOnly: false });
export const adminDelete = (): DeletePerm => ({ filter: {}, backendOnly: false });

/**
 * A role's mutation permissions; `backend_only` ones only with the admin secret and
 * `x-hasura-use-backend-only-permissions: true` (docs auth/authorization/permissions/backend-only.mdx).
 */
export function mutationPerms(role: string | null, backendOnly: boolean): MutationPerms {
  const ok = <P extends { backendOnly: boolean }>(p: P | undefined): P | undefined => (p && (!p.backendOnly || backendOnly) ? p : undefined);
  return {
    ins: (t) => (!t.mutable.insert ? undefined : role === null ? adminInsert(t) : ok(t.insertPerms.get(role))),
    upd: (t) => (!t.mutable.update ? undefined : role === null ? adminUpdate(t) : ok(t.updatePerms.get(role))),
    del: (t) => (!t.mutable.delete ? undefined : role === null ? adminDelete() : ok(t.deletePerms.get(role))),
  };
}

const sortMap = <T>(m: Record<string, T>): Record<string, T> => {
  const out: Record<string, T> = {};
  for (const k of Object.keys(m).sort()) out[k] = m[k]!;
  return out;
};

const label = (t: TableModel): string => (t.schema === 'public' ? t.name : `${t.schema}.${t.name}`);

/** jsonb operators of `update_<id>`: argument → input type suffix, description, field type. */
const JSONB_OPS = [
  ['_append', 'append', 'append existing jsonb value of filtered columns with new jsonb value'],
  ['_delete_at_path', 'delete_at_path', 'delete the field or element with specified path (for JSON arrays, negative integers count from the end)'],
  ['_delete_elem', 'delete_elem', 'delete the array element with specified index (negative integers count from the end). throws an error if top level container is not an array'],
  ['_delete_key', 'delete_key', 'delete key/value pair or string element. key/value pairs are matched based on their key value'],
  ['_prepend', 'prepend', 'prepend existing jsonb value of filtered columns with new jsonb value'],
] as const;
export const UPDATE_OPS = ['_set', '_inc', ...JSONB_OPS.map((o) => o[0])] as const;

export function mutationFields(types: RoleTypes, perms: MutationPerms): GraphQLFieldConfigMap<unknown, unknown> {
  const { model, permOf, objectType, boolExp, columnType } = types;
  const cache = new Map<string, GraphQLInputObjectType | GraphQLEnumType | GraphQLObjectType | null>();
  const cached = <T extends GraphQLInputObjectType | GraphQLEnumType | GraphQLObjectType | null>(name: string, make: () => T): T => {
    if (cache.has(name)) return cache.get(name) as T;
    const v = make();
    cache.set(name, v);
    return v;
  };
  const colType = (c: ColumnModel): GraphQLInputType => columnType(c);
  const updCols = (t: TableModel, p: UpdatePerm): ColumnModel[] => t.columns.filter((c) => p.columns.has(c.name) && !(c.name in p.set));

  const constraintEnum = (t: TableModel): GraphQLEnumType => cached(`${t.id}_constraint`, () => new GraphQLEnumType({
    name: `${t.id}_constraint`,
    description: `unique or primary key constraints on table "${label(t)}"`,
    values: sortMap(Object.fromEntries(t.uniqueConstraints.map((c) => [c.name, {
      value: c.name, description: `unique or primary key constraint on columns ${c.columns.map((x) => `"${x}"`).join(', ')}`,
    }]))),
  }));

  const updateColumnEnum = (t: TableModel, p: UpdatePerm): GraphQLEnumType => cached(`${t.id}_update_column`, () => {
    const cols = t.columns.filter((c) => p.columns.has(c.name));
    return new GraphQLEnumType({
      name: `${t.id}_update_column`,
      description: `update columns of table "${label(t)}"`,
      values: cols.length === 0
        ? { _PLACEHOLDER: { value: '_PLACEHOLDER', description: 'placeholder (do not use)' } }
        : sortMap(Object.fromEntries(cols.map((c) => [c.gqlName, { value: c.name, description: 'column name' }]))),
    });
  });

  /** `on_conflict` needs an update permission and a unique constraint (OnConflict.hs `onConflictFieldParser`). */
  const onConflict = (t: TableModel): GraphQLInputObjectType | null => cached(`${t.id}_on_conflict`, () => {
    const p = perms.upd(t);
    if (!p || t.uniqueConstraints.length === 0) return null;
    return new GraphQLInputObjectType({
      name: `${t.id}_on_conflict`,
      description: `on_conflict condition type for table "${label(t)}"`,
      fields: () => ({
        constraint: { type: new GraphQLNonNull(constraintEnum(t)) },
        update_columns: { type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(updateColumnEnum(t, p)))), defaultValue: [] },
        where: { type: boolExp(t) },
      }),
    });
  });

  const insertInput = (t: TableModel): GraphQLInputObjectType | null => cached(`${t.id}_insert_input`, () => {
    const p = perms.ins(t);
    if (!p) return null;
    return new GraphQLInputObjectType({
      name: `${t.id}_insert_input`,
      description: `input type for inserting data into table "${label(t)}"`,
      fields: () => {
        const f: GraphQLInputFieldConfigMap = {};
        // Preset columns are not inputs (`insColsWithoutPresets`, Permission.hs).
        for (const c of t.columns) if (p.columns.has(c.name) && !(c.name in p.set)) f[c.gqlName] = { type: colType(c) };
        for (const r of t.rels) {
          const target = model.tables.get(r.target)!;
          const nested = r.kind === 'object' ? objRelInput(target) : arrRelInput(target);
          if (nested) f[r.name] = { type: nested };
        }
        return sortMap(f);
      },
    });
  });

  const relInput = (t: TableModel, kind: 'obj' | 'arr'): GraphQLInputObjectType | null => cached(`${t.id}_${kind}_rel_insert_input`, () => {
    if (!insertInput(t)) return null;
    return new GraphQLInputObjectType({
      name: `${t.id}_${kind}_rel_insert_input`,
      description: `input type for inserting ${kind === 'obj' ? 'object' : 'array'} relation for remote table "${label(t)}"`,
      fields: () => {
        const item = new GraphQLNonNull(insertInput(t)!);
        const f: GraphQLInputFieldConfigMap = { data: { type: kind === 'obj' ? item : new GraphQLNonNull(new GraphQLList(item)) } };
        const oc = onConflict(t);
        if (oc) f.on_conflict = { type: oc, description: 'upsert condition' };
        return f;
      },
    });
  });
  const objRelInput = (t: TableModel) => relInput(t, 'obj');
  const arrRelInput = (t: TableModel) => relInput(t, 'arr');

  const columnsInput = (name: string, description: string, cols: ColumnModel[], type: (c: ColumnModel) => GraphQLInputType): GraphQLInputObjectType | null =>
    cached(name, () => (cols.length === 0 ? null : new GraphQLInputObjectType({
      name, description, fields: sortMap(Object.fromEntries(cols.map((c) => [c.gqlName, { type: type(c) }]))),
    })));

  /** `_set`, `_inc` and the jsonb operators, as arguments of update_<id> and fields of <id>_updates. */
  const updateOperators = (t: TableModel, p: UpdatePerm): GraphQLInputFieldConfigMap => {
    const cols = updCols(t, p);
    const out: GraphQLInputFieldConfigMap = {};
    const set = columnsInput(`${t.id}_set_input`, `input type for updating data in table "${label(t)}"`, cols, colType);
    if (set) out._set = { type: set, description: 'sets the columns of the filtered rows to the given values' };
    const inc = columnsInput(`${t.id}_inc_input`, `input type for incrementing numeric columns in table "${label(t)}"`, cols.filter((c) => isNumeric(c.type)), colType);
    if (inc) out._inc = { type: inc, description: 'increments the numeric columns with given value of the filtered values' };
    const jsonb = cols.filter((c) => isJsonb(c.type));
    for (const [arg, suffix, description] of JSONB_OPS) {
      const ty = (c: ColumnModel): GraphQLInputType =>
        suffix === 'delete_key' ? GraphQLString : suffix === 'delete_elem' ? GraphQLInt
          : suffix === 'delete_at_path' ? new GraphQLList(new GraphQLNonNull(GraphQLString)) : colType(c);
      const input = columnsInput(`${t.id}_${suffix}_input`, description, jsonb, ty);
      if (input) out[arg] = { type: input, description };
    }
    return out;
  };

  const mutationResponse = (t: TableModel): GraphQLObjectType => cached(`${t.id}_mutation_response`, () => new GraphQLObjectType({
    name: `${t.id}_mutation_response`,
    description: `response of any mutation on the table "${label(t)}"`,
    fields: () => {
      const f: GraphQLFieldConfigMap<unknown, unknown> = {
        affected_rows: { type: new GraphQLNonNull(GraphQLInt), description: 'number of rows affected by the mutation', extensions: meta({ kind: 'affected_rows' }) },
      };
      // `returning` only with a select permission (docs/research/hasura-v2.md §A.4).
      if (permOf(t)) f.returning = {
        type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(objectType(t)))),
        description: 'data from the rows affected by the mutation', extensions: meta({ kind: 'returning' }),
      };
      return f;
    },
  }));

  const pkArgs = (t: TableModel): GraphQLFieldConfigArgumentMap | undefined => {
    const sel = permOf(t);
    const pk = t.pk.map((n) => t.colByName.get(n)!);
    // by_pk fields need select permission on every primary-key column (`primaryKeysArguments`).
    if (!sel || pk.length === 0 || !pk.every((c) => sel.columns.has(c.name))) return undefined;
    return sortMap(Object.fromEntries(pk.map((c) => [c.gqlName, { type: new GraphQLNonNull(colType(c)) }])));
  };

  const f: GraphQLFieldConfigMap<unknown, unknown> = {};
  for (const t of model.tables.values()) {
    const sel = permOf(t);
    const ins = perms.ins(t);
    const upd = perms.upd(t);
    const del = perms.del(t);
    const where = (what: string) => ({ type: new GraphQLNonNull(boolExp(t)), description: `filter the rows which have to be ${what}` });
    if (ins) {
      const input = new GraphQLNonNull(insertInput(t)!);
      const oc = onConflict(t);
      const conflictArg: GraphQLFieldConfigArgumentMap = oc ? { on_conflict: { type: oc, description: 'upsert condition' } } : {};
      const m = { table: t, perm: sel, ins, upd };
      f[t.rootNames.insert] = {
        type: mutationResponse(t), description: `insert data into the table: "${label(t)}"`,
        args: { objects: { type: new GraphQLNonNull(new GraphQLList(input)), description: 'the rows to be inserted' }, ...conflictArg },
        extensions: meta({ kind: 'insert', ...m }),
      };
      if (sel) f[t.rootNames.insert_one] = {
        type: objectType(t), description: `insert a single row into the table: "${label(t)}"`,
        args: { object: { type: input, description: 'the row to be inserted' }, ...conflictArg },
        extensions: meta({ kind: 'insert_one', ...m }),
      };
    }
    if (upd) {
      const ops = updateOperators(t, upd);
      const m = { table: t, perm: sel, upd };
      f[t.rootNames.update] = {
        type: mutationResponse(t), description: `update data of the table: "${label(t)}"`,
        args: sortMap({ ...ops, where: where('updated') }), extensions: meta({ kind: 'update', ...m }),
      };
      const pk = pkArgs(t);
      if (pk) {
        const pkInput = cached(`${t.id}_pk_columns_input`, () => new GraphQLInputObjectType({
          name: `${t.id}_pk_columns_input`, description: `primary key columns input for table: ${t.name}`,
          fields: Object.fromEntries(Object.entries(pk).map(([k, a]) => [k, { type: a.type }])),
        }))!;
        f[t.rootNames.update_by_pk] = {
          type: objectType(t), description: `update single row of the table: "${label(t)}"`,
          args: sortMap({ ...ops, pk_columns: { type: new GraphQLNonNull(pkInput) } }), extensions: meta({ kind: 'update_by_pk', ...m }),
        };
      }
      const updates = cached(`${t.id}_updates`, () => new GraphQLInputObjectType({
        name: `${t.id}_updates`,
        fields: () => sortMap({ ...ops, where: { type: new GraphQLNonNull(boolExp(t)), description: 'filter the rows which have to be updated' } }),
      }))!;
      f[t.rootNames.update_many] = {
        type: new GraphQLList(mutationResponse(t)), description: `update multiples rows of table: "${label(t)}"`,
        args: { updates: { type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(updates))), description: 'updates to execute, in order' } },
        extensions: meta({ kind: 'update_many', ...m }),
      };
    }
    if (del) {
      const m = { table: t, perm: sel, del };
      f[t.rootNames.delete] = {
        type: mutationResponse(t), description: `delete data from the table: "${label(t)}"`,
        args: { where: where('deleted') }, extensions: meta({ kind: 'delete', ...m }),
      };
      const pk = pkArgs(t);
      if (pk) f[t.rootNames.delete_by_pk] = {
        type: objectType(t), description: `delete single row from the table: "${label(t)}"`,
        args: pk, extensions: meta({ kind: 'delete_by_pk', ...m }),
      };
    }
  }
  return sortMap(f);
}

import { argGqlNames } from './function-args.ts';
import {
  GraphQLInputObjectType, GraphQLList, GraphQLNonNull,
  type GraphQLFieldConfigArgumentMap, type GraphQLFieldConfigMap, type GraphQLInputType, type GraphQLObjectType,
  type GraphQLEnumType, type GraphQLScalarType,
} from 'graphql';
import { meta } from './meta.ts';
import type { ColumnModel, Model, SelectPerm, TableModel } from './model.ts';
import { argScalarName } from './scalars.ts';
import { streamField, streamRootName } from './stream.ts';

/**
 * query_root / subscription_root fields per table (`<id>`, `<id>_by_pk`, `<id>_aggregate`, honouring
 * `custom_root_fields` and the permission's `query_root_fields` / `subscription_root_fields`) and per
 * tracked function (GraphQL/Schema/Build.hs `buildTableQueryAndSubscriptionFields`).
 */
/** The per-role type builders root fields are made from (cached: one GraphQL type per name). */
export interface RoleTypes {
  model: Model;
  /** The role the schema is for; null for admin. */
  role: string | null;
  permOf(t: TableModel): SelectPerm | undefined;
  objectType(t: TableModel): GraphQLObjectType;
  aggregateType(t: TableModel): GraphQLObjectType;
  selectArgs(t: TableModel): GraphQLFieldConfigArgumentMap;
  boolExp(t: TableModel): GraphQLInputObjectType;
  scalarType(name: string): GraphQLScalarType;
  /** A column's GraphQL type: its scalar, or the enum of the enum table it references. */
  columnType(c: ColumnModel): GraphQLScalarType | GraphQLEnumType;
}

const argsCaches = new WeakMap<RoleTypes, Map<string, GraphQLInputObjectType>>();
function fnArgsCache(types: RoleTypes): Map<string, GraphQLInputObjectType> {
  let m = argsCaches.get(types);
  if (!m) { m = new Map(); argsCaches.set(types, m); }
  return m;
}

const sortMap = <T>(m: Record<string, T>): Record<string, T> => {
  const out: Record<string, T> = {};
  for (const k of Object.keys(m).sort()) out[k] = m[k]!;
  return out;
};


export function rootFields(types: RoleTypes, which: 'query' | 'subscription'): GraphQLFieldConfigMap<unknown, unknown> {
  const { model, permOf, objectType, aggregateType, selectArgs, scalarType, columnType } = types;
  const f: GraphQLFieldConfigMap<unknown, unknown> = {};
  for (const t of model.tables.values()) {
    const perm = permOf(t);
    if (!perm) continue;
    const allowed = which === 'query' ? perm.queryRootFields : perm.subscriptionRootFields;
    const ok = (k: string): boolean => !allowed || allowed.includes(k);
    const label = t.schema === 'public' ? t.name : `${t.schema}.${t.name}`;
    if (ok('select')) f[t.rootNames.select] = {
      type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(objectType(t)))), args: selectArgs(t),
      description: `fetch data from the table: "${label}"`, extensions: meta({ kind: 'select', table: t, perm }),
    };
    if (perm.allowAggregations && ok('select_aggregate')) f[t.rootNames.select_aggregate] = {
      type: new GraphQLNonNull(aggregateType(t)), args: selectArgs(t),
      description: `fetch aggregated fields from the table: "${label}"`, extensions: meta({ kind: 'select_aggregate', table: t, perm }),
    };
    const pkCols = t.pk.map((n) => t.colByName.get(n)!);
    if (pkCols.length > 0 && pkCols.every((c) => perm.columns.has(c.name)) && ok('select_by_pk')) {
      const args: GraphQLFieldConfigArgumentMap = {};
      for (const c of pkCols) args[c.gqlName] = { type: new GraphQLNonNull(columnType(c)) };
      f[t.rootNames.select_by_pk] = {
        type: objectType(t), args: sortMap(args),
        description: `fetch data from the table: "${label}" using primary key columns`, extensions: meta({ kind: 'select_by_pk', table: t, perm }),
      };
    }
    // Streaming subscriptions (schema/stream.ts): the subscription root only.
    const stream = which === 'subscription' && ok('select_stream') ? streamField(types, t, perm, label) : undefined;
    if (stream) f[streamRootName(t)] = stream;
  }
  Object.assign(f, functionFields(types, 'query'));
  return sortMap(f);
}

/**
 * Tracked functions' root fields exposed as `exposedAs` (GraphQL/Schema.hs
 * `buildQueryAndSubscriptionFields` / `buildMutationFields`): for admin; for a role with a
 * function permission; and, for query functions only, for any role that can select from the
 * returning table (HASURA_GRAPHQL_INFER_FUNCTION_PERMISSIONS, default true; when false, query
 * functions too need a function permission). A function exposed
 * as a mutation always needs a function permission ("Note [Function Permissions]").
 */
export function functionFields(types: RoleTypes, exposedAs: 'query' | 'mutation'): GraphQLFieldConfigMap<unknown, unknown> {
  const { model, permOf, objectType, aggregateType, selectArgs, scalarType } = types;
  const f: GraphQLFieldConfigMap<unknown, unknown> = {};
  for (const fnm of model.functions) {
    if (fnm.exposedAs !== exposedAs) continue;
    if (types.role !== null && !fnm.permissions.has(types.role) && (exposedAs === 'mutation' || model.inferFunctionPermissions === false)) continue;
    const t = model.tables.get(fnm.target)!;
    const perm = permOf(t);
    if (!perm) continue;
    const args = selectArgs(t);
    if (fnm.inputArgs.length > 0) {
      let argsType = fnArgsCache(types).get(fnm.rootName);
      if (!argsType) {
        argsType = new GraphQLInputObjectType({
          name: `${fnm.rootName}_args`,
          fields: Object.fromEntries(fnm.inputArgs.map((a, i) => [argGqlNames(fnm.inputArgs)[i]!, { type: scalarType(argScalarName(a.type)) as GraphQLInputType }])),
        });
        fnArgsCache(types).set(fnm.rootName, argsType);
      }
      args.args = { type: fnm.inputArgs.some((a) => !a.hasDefault) ? new GraphQLNonNull(argsType) : argsType, description: `input parameters for function "${fnm.fn.name}"` };
    }
    const sorted = sortMap(args);
    f[fnm.rootName] = {
      type: fnm.returnsSet ? new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(objectType(t)))) : objectType(t), args: sorted,
      description: `execute function "${fnm.fn.name}" which returns "${t.name}"`, extensions: meta({ kind: 'function', fnm, table: t, perm }),
    };
    if (perm.allowAggregations && fnm.returnsSet) f[`${fnm.rootName}_aggregate`] = {
      type: new GraphQLNonNull(aggregateType(t)), args: sorted,
      description: `execute function "${fnm.fn.name}" and query aggregates on result of table type "${t.name}"`, extensions: meta({ kind: 'function_aggregate', fnm, table: t, perm }),
    };
  }
  return sortMap(f);
}

import { argGqlNames } from './function-args.ts';
import {
  GraphQLBoolean, GraphQLEnumType, GraphQLFloat, GraphQLInputObjectType, GraphQLInt, GraphQLList, GraphQLNonNull,
  GraphQLObjectType, GraphQLScalarType, GraphQLSchema, GraphQLString,
  type GraphQLFieldConfigArgumentMap, type GraphQLFieldConfigMap, type GraphQLInputFieldConfigMap, type GraphQLInputType,
  type GraphQLOutputType, type GraphQLScalarType as Scalar,
} from 'graphql';
import { comparisonType } from './comparison.ts';
import { isGeoTypeName, parseGeoJson } from './geojson.ts';
import { AGG_OPS, meta, type AggOp } from './meta.ts';
import type { ColumnModel, ComputedFieldModel, Model, SelectPerm, TableModel } from './model.ts';
import { argScalarName, scalarName } from './scalars.ts';
import { isComparable, isJson, isNumeric } from './scalars.ts';
import { functionFields, rootFields, type RoleTypes } from './root-fields.ts';
import { mutationFields, mutationPerms } from './mutation-fields.ts';

/** The admin role bypasses permissions: every column, aggregations, no filter. */
export function adminPerm(t: TableModel): SelectPerm {
  return { columns: new Set(t.columns.map((c) => c.name)), computedFields: new Set(t.computed.keys()), filter: {}, limit: undefined, allowAggregations: true, queryRootFields: undefined, subscriptionRootFields: undefined };
}

const BUILTIN_SCALARS: Record<string, Scalar> = { Int: GraphQLInt, String: GraphQLString, Boolean: GraphQLBoolean, Float: GraphQLFloat };
const customScalars = new Map<string, GraphQLScalarType>();
export function scalarType(name: string): Scalar {
  const b = BUILTIN_SCALARS[name];
  if (b) return b;
  let s = customScalars.get(name);
  if (!s) {
    // geometry/geography take GeoJSON, checked and normalised while the operation is validated
    // (`parseInput`, called by validation/values.ts), as Hasura's column parser does (GeoJSON.hs).
    s = new GraphQLScalarType({ name, extensions: isGeoTypeName(name) ? { parseInput: parseGeoJson } : {} });
    customScalars.set(name, s);
  }
  return s;
}

const sortMap = <T>(m: Record<string, T>): Record<string, T> => {
  const out: Record<string, T> = {};
  for (const k of Object.keys(m).sort()) out[k] = m[k]!;
  return out;
};

/** Order-by directions (Postgres/Instances/Schema.hs `orderByOperators`; docs/research/hasura-v2.md §A.3). */
const orderByEnum = new GraphQLEnumType({
  name: 'order_by',
  description: 'column ordering options',
  values: {
    asc: { value: 'asc', description: 'in ascending order, nulls last' },
    asc_nulls_first: { value: 'asc_nulls_first', description: 'in ascending order, nulls first' },
    asc_nulls_last: { value: 'asc_nulls_last', description: 'in ascending order, nulls last' },
    desc: { value: 'desc', description: 'in descending order, nulls first' },
    desc_nulls_first: { value: 'desc_nulls_first', description: 'in descending order, nulls first' },
    desc_nulls_last: { value: 'desc_nulls_last', description: 'in descending order, nulls last' },
  },
});


/**
 * Builds one role's schema (`GraphQL/Schema/{Build,Select,OrderBy,BoolExp,Mutation}.hs`); `role` null =
 * admin. `backendOnly`: the request may use `backend_only` mutation permissions.
 */
export function buildRoleSchema(model: Model, role: string | null, backendOnly = false): GraphQLSchema {
  const types = roleTypes(model, role);
  // A role with no mutation permission has no mutation_root ("no mutations exist", docs/research/hasura-v2.md §A.4).
  const m = { ...mutationFields(types, mutationPerms(role, backendOnly)), ...functionFields(types, 'mutation') };
  const q = rootFields(types, 'query');
  if (Object.keys(q).length === 0) q.no_queries_available = { type: new GraphQLNonNull(GraphQLString), extensions: meta({ kind: 'placeholder' }) };
  const s = rootFields(types, 'subscription');
  const schema = new GraphQLSchema({
    query: new GraphQLObjectType({ name: 'query_root', fields: q }),
    mutation: Object.keys(m).length ? new GraphQLObjectType({ name: 'mutation_root', fields: sortMap(m) }) : undefined,
    subscription: Object.keys(s).length ? new GraphQLObjectType({ name: 'subscription_root', fields: s }) : undefined,
  });
  // `__schema.types` sorted by name, as Hasura's introspection (Introspect.hs) lists them.
  const config = schema.toConfig();
  return new GraphQLSchema({ ...config, types: [...config.types].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) });
}

function roleTypes(model: Model, role: string | null): RoleTypes {
  const permOf = (t: TableModel): SelectPerm | undefined => (role === null ? adminPerm(t) : t.perms.get(role));
  const cmpCache = new Map<string, GraphQLInputObjectType>();
  const objects = new Map<string, GraphQLObjectType>();
  const boolExps = new Map<string, GraphQLInputObjectType>();
  const orderBys = new Map<string, GraphQLInputObjectType>();
  const selectCols = new Map<string, GraphQLEnumType | null>();
  const aggregates = new Map<string, GraphQLObjectType>();
  const aggOrderBys = new Map<string, GraphQLInputObjectType>();

  const visibleCols = (t: TableModel): ColumnModel[] => {
    const p = permOf(t);
    return p ? t.columns.filter((c) => p.columns.has(c.name)) : [];
  };
  const visibleRels = (t: TableModel) => t.rels.filter((r) => {
    const target = model.tables.get(r.target);
    return target && permOf(target);
  });
  const enums = new Map<string, GraphQLEnumType>();
  /** `<enum table>_enum`: one value per row, the comment column as its description (EnumValues.hs). */
  const enumType = (e: NonNullable<ColumnModel['enumOf']>): GraphQLEnumType => {
    let t = enums.get(e.typeName);
    if (!t) {
      t = new GraphQLEnumType({ name: e.typeName, values: Object.fromEntries(e.values.map((v) => [v.value, { value: v.value, description: v.comment }])) });
      enums.set(e.typeName, t);
    }
    return t;
  };
  const colType = (c: ColumnModel): Scalar | GraphQLEnumType => (c.enumOf ? enumType(c.enumOf) : scalarType(c.scalar));
  const visibleComputed = (t: TableModel): ComputedFieldModel[] => {
    const p = permOf(t);
    if (!p) return [];
    // A permission lists scalar computed fields; one returning SETOF a table is governed by that
    // table's select permission instead (computed_fields_permission.yaml: `get_articles` is not
    // listed for `user`, yet selectable; Hasura's `SelPermDef` computed_fields holds scalars).
    return [...t.computed.values()].filter((c) => (c.returns.kind === 'scalar'
      ? p.computedFields.has(c.name) : !!permOf(model.tables.get(c.returns.target)!)));
  };
  /** Filters and ordering take only computed fields without input arguments (docs computed-fields.mdx). */
  const filterableComputed = (t: TableModel): ComputedFieldModel[] => visibleComputed(t).filter((c) => c.inputArgs.length === 0);
  const cfArgTypes = new Map<string, GraphQLInputObjectType>();
  /**
   * `args: <field>_<table>_args` for a computed field's input arguments (Schema/Select.hs
   * `computedFieldFunctionArgs`: named after the field and table, so a function that is also
   * tracked keeps its own `<function>_args`); required when any argument has no default.
   */
  const computedArgs = (t: TableModel, c: ComputedFieldModel): GraphQLFieldConfigArgumentMap => {
    if (c.inputArgs.length === 0) return {};
    const name = `${c.name}_${t.id}_args`;
    let ty = cfArgTypes.get(name);
    if (!ty) {
      ty = new GraphQLInputObjectType({
        name,
        fields: Object.fromEntries(c.inputArgs.map((a, i) => [argGqlNames(c.inputArgs)[i]!, { type: scalarType(argScalarName(a.type)) as GraphQLInputType }])),
      });
      cfArgTypes.set(name, ty);
    }
    return { args: { type: c.inputArgs.some((a) => !a.hasDefault) ? new GraphQLNonNull(ty) : ty, description: `input parameters for computed field "${c.name}" defined on table "${t.name}"` } };
  };
  const opColumns = (t: TableModel, op: AggOp): ColumnModel[] =>
    visibleCols(t).filter((c) => !c.enumOf && (op === 'max' || op === 'min' ? isComparable(c.type) : isNumeric(c.type)));
  /**
   * Scalar computed fields the role may select, in aggregates (Schema/Select.hs
   * `tableAggregationFields`, `supportsAggregateComputedFields` for Postgres): numeric ones under
   * every operator, comparable ones under max/min (`onlyNumComputedFields`/`onlyComparableComputedFields`).
   */
  const opComputed = (t: TableModel, op: AggOp): ComputedFieldModel[] =>
    visibleComputed(t).filter((c) => c.returns.kind === 'scalar' && !c.returns.column.enumOf
      && (isNumeric(c.returns.column.type) || ((op === 'max' || op === 'min') && isComparable(c.returns.column.type))));
  const opFieldType = (c: ColumnModel, op: AggOp): Scalar | GraphQLEnumType =>
    op === 'max' || op === 'min' || op === 'sum' ? colType(c) : GraphQLFloat;

  const selectColumn = (t: TableModel): GraphQLEnumType | null => {
    if (selectCols.has(t.key)) return selectCols.get(t.key)!;
    const cols = visibleCols(t);
    const e = cols.length === 0 ? null : new GraphQLEnumType({
      name: `${t.id}_select_column`,
      description: `select columns of table "${t.name}"`,
      values: sortMap(Object.fromEntries(cols.map((c) => [c.gqlName, { value: c.name, description: 'column name' }]))),
    });
    selectCols.set(t.key, e);
    return e;
  };

  const boolExp = (t: TableModel): GraphQLInputObjectType => {
    let b = boolExps.get(t.key);
    if (b) return b;
    b = new GraphQLInputObjectType({
      name: `${t.id}_bool_exp`,
      description: `Boolean expression to filter rows from the table "${t.name}". All fields are combined with a logical 'AND'.`,
      fields: () => {
        const f: GraphQLInputFieldConfigMap = {
          _and: { type: new GraphQLList(new GraphQLNonNull(boolExp(t))) },
          _not: { type: boolExp(t) },
          _or: { type: new GraphQLList(new GraphQLNonNull(boolExp(t))) },
        };
        for (const c of visibleCols(t)) f[c.gqlName] = { type: comparisonType(c, colType(c), cmpCache, scalarType) };
        for (const r of visibleRels(t)) {
          const target = model.tables.get(r.target)!;
          f[r.name] = { type: boolExp(target) };
          if (r.kind === 'array' && permOf(target)?.allowAggregations) f[`${r.name}_aggregate`] = { type: aggBoolExp(target) };
        }
        for (const c of filterableComputed(t)) {
          f[c.name] = c.returns.kind === 'scalar'
            ? { type: comparisonType(c.returns.column, colType(c.returns.column), cmpCache, scalarType) }
            : { type: boolExp(model.tables.get(c.returns.target)!) };
        }
        return sortMap(f);
      },
    });
    boolExps.set(t.key, b);
    return b;
  };

  /** Aggregation predicates (`<id>_aggregate_bool_exp`, GraphQL/Schema/BoolExp/AggregationPredicates.hs): count only. */
  const aggBoolExps = new Map<string, GraphQLInputObjectType>();
  const aggBoolExp = (t: TableModel): GraphQLInputObjectType => {
    let a = aggBoolExps.get(t.key);
    if (a) return a;
    const sc = selectColumn(t);
    const intCmp = comparisonType({ scalar: 'Int', type: { schema: 'pg_catalog', name: 'int4', category: 'N' } } as ColumnModel, GraphQLInt, cmpCache);
    const count = new GraphQLInputObjectType({
      name: `${t.id}_aggregate_bool_exp_count`,
      fields: () => sortMap({
        ...(sc ? { arguments: { type: new GraphQLList(new GraphQLNonNull(sc)) } } : {}),
        distinct: { type: GraphQLBoolean },
        filter: { type: boolExp(t) },
        predicate: { type: new GraphQLNonNull(intCmp) },
      }),
    });
    a = new GraphQLInputObjectType({ name: `${t.id}_aggregate_bool_exp`, fields: { count: { type: count } } });
    aggBoolExps.set(t.key, a);
    return a;
  };

  const opOrderBy = (t: TableModel, op: AggOp): GraphQLInputObjectType | undefined => {
    const cols = opColumns(t, op);
    if (cols.length === 0) return undefined;
    return new GraphQLInputObjectType({
      name: `${t.id}_${op}_order_by`,
      description: `order by ${op}() on columns of table "${t.name}"`,
      fields: sortMap(Object.fromEntries(cols.map((c) => [c.gqlName, { type: orderByEnum }]))),
    });
  };

  const aggOrderBy = (t: TableModel): GraphQLInputObjectType => {
    let a = aggOrderBys.get(t.key);
    if (a) return a;
    a = new GraphQLInputObjectType({
      name: `${t.id}_aggregate_order_by`,
      description: `order by aggregate values of table "${t.name}"`,
      fields: () => {
        const f: GraphQLInputFieldConfigMap = { count: { type: orderByEnum } };
        for (const op of AGG_OPS) { const o = opOrderBy(t, op); if (o) f[op] = { type: o }; }
        return sortMap(f);
      },
    });
    aggOrderBys.set(t.key, a);
    return a;
  };

  const orderBy = (t: TableModel): GraphQLInputObjectType => {
    let o = orderBys.get(t.key);
    if (o) return o;
    o = new GraphQLInputObjectType({
      name: `${t.id}_order_by`,
      description: `Ordering options when selecting data from "${t.name}".`,
      fields: () => {
        const f: GraphQLInputFieldConfigMap = {};
        for (const c of visibleCols(t)) f[c.gqlName] = { type: orderByEnum };
        for (const r of visibleRels(t)) {
          const target = model.tables.get(r.target)!;
          if (r.kind === 'object') f[r.name] = { type: orderBy(target) };
          else if (permOf(target)?.allowAggregations) f[`${r.name}_aggregate`] = { type: aggOrderBy(target) };
        }
        for (const c of filterableComputed(t)) {
          if (c.returns.kind === 'scalar') f[c.name] = { type: orderByEnum };
          else if (permOf(model.tables.get(c.returns.target)!)?.allowAggregations) f[`${c.name}_aggregate`] = { type: aggOrderBy(model.tables.get(c.returns.target)!) };
        }
        return sortMap(f);
      },
    });
    orderBys.set(t.key, o);
    return o;
  };

  const selectArgs = (t: TableModel): GraphQLFieldConfigArgumentMap => {
    const sc = selectColumn(t);
    const args: GraphQLFieldConfigArgumentMap = {};
    if (sc) args.distinct_on = { type: new GraphQLList(new GraphQLNonNull(sc)), description: 'distinct select on columns' };
    args.limit = { type: GraphQLInt, description: 'limit the number of rows returned' };
    args.offset = { type: GraphQLInt, description: 'skip the first n rows. Use only with order_by' };
    args.order_by = { type: new GraphQLList(new GraphQLNonNull(orderBy(t))), description: 'sort the rows by one or more columns' };
    args.where = { type: boolExp(t), description: 'filter the rows returned' };
    return args;
  };

  const objectType = (t: TableModel): GraphQLObjectType => {
    let o = objects.get(t.key);
    if (o) return o;
    o = new GraphQLObjectType({
      name: t.id,
      description: `columns and relationships of "${t.schema === 'public' ? t.name : `${t.schema}.${t.name}`}"`,
      fields: () => {
        const f: GraphQLFieldConfigMap<unknown, unknown> = {};
        for (const c of visibleCols(t)) {
          const ty = colType(c);
          f[c.gqlName] = {
            type: c.nullable ? ty : new GraphQLNonNull(ty),
            args: isJson(c.type) ? { path: { type: GraphQLString, description: 'JSON select path' } } : {},
            extensions: meta({ kind: 'column', column: c }),
          };
        }
        for (const r of visibleRels(t)) {
          const target = model.tables.get(r.target)!;
          const perm = permOf(target);
          if (r.kind === 'object') {
            const ty = objectType(target);
            f[r.name] = { type: r.nullable ? ty : new GraphQLNonNull(ty), description: 'An object relationship', extensions: meta({ kind: 'objrel', rel: r, target, perm }) };
          } else {
            f[r.name] = {
              type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(objectType(target)))),
              description: 'An array relationship', args: selectArgs(target), extensions: meta({ kind: 'arrrel', rel: r, target, perm }),
            };
            if (perm?.allowAggregations) {
              f[`${r.name}_aggregate`] = {
                type: new GraphQLNonNull(aggregateType(target)), description: 'An aggregate relationship',
                args: selectArgs(target), extensions: meta({ kind: 'arragg', rel: r, target, perm }),
              };
            }
          }
        }
        for (const c of visibleComputed(t)) {
          if (c.returns.kind === 'scalar') {
            f[c.name] = { type: colType(c.returns.column), args: computedArgs(t, c), description: 'A computed field, executes function ' + JSON.stringify(c.fn.name), extensions: meta({ kind: 'computed', cf: c, target: undefined, perm: undefined }) };
            continue;
          }
          const target = model.tables.get(c.returns.target)!;
          const perm = permOf(target);
          f[c.name] = {
            type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(objectType(target)))), args: sortMap({ ...computedArgs(t, c), ...selectArgs(target) }),
            description: 'A computed field, executes function ' + JSON.stringify(c.fn.name), extensions: meta({ kind: 'computed', cf: c, target, perm }),
          };
          // No `<field>_aggregate`: Hasura gives a table computed field only its list field
          // (Schema/Select.hs `computedFieldPG`, `CFRSetofTable`).
        }
        return sortMap(f);
      },
    });
    objects.set(t.key, o);
    return o;
  };

  const aggregateType = (t: TableModel): GraphQLObjectType => {
    let a = aggregates.get(t.key);
    if (a) return a;
    const sc = selectColumn(t);
    const fieldsType = new GraphQLObjectType({
      name: `${t.id}_aggregate_fields`,
      description: `aggregate fields of "${t.name}"`,
      fields: () => {
        const f: GraphQLFieldConfigMap<unknown, unknown> = {
          count: {
            type: new GraphQLNonNull(GraphQLInt),
            args: sc ? { columns: { type: new GraphQLList(new GraphQLNonNull(sc)) }, distinct: { type: GraphQLBoolean } } : { distinct: { type: GraphQLBoolean } },
            extensions: meta({ kind: 'count' }),
          },
        };
        for (const op of AGG_OPS) {
          const cols = opColumns(t, op);
          const cfs = opComputed(t, op);
          if (cols.length === 0 && cfs.length === 0) continue;
          const opType = new GraphQLObjectType({
            name: `${t.id}_${op}_fields`,
            description: `aggregate ${op} on columns`,
            fields: sortMap({
              ...Object.fromEntries(cols.map((c) => [c.gqlName, { type: opFieldType(c, op) as GraphQLOutputType, extensions: meta({ kind: 'column', column: c }) }])),
              // The computed field's own parser — its type and its `args` — under every operator.
              ...Object.fromEntries(cfs.map((c) => [c.name, {
                type: colType((c.returns as { column: ColumnModel }).column) as GraphQLOutputType, args: computedArgs(t, c),
                description: 'A computed field, executes function ' + JSON.stringify(c.fn.name), extensions: meta({ kind: 'computed', cf: c, target: undefined, perm: undefined }),
              }])),
            }),
          });
          f[op] = { type: opType, extensions: meta({ kind: 'aggop', op }) };
        }
        return sortMap(f);
      },
    });
    a = new GraphQLObjectType({
      name: `${t.id}_aggregate`,
      description: `aggregated selection of "${t.name}"`,
      fields: () => ({
        aggregate: { type: fieldsType, extensions: meta({ kind: 'aggregate' }) },
        nodes: { type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(objectType(t)))), extensions: meta({ kind: 'nodes' }) },
      }),
    });
    aggregates.set(t.key, a);
    return a;
  };

  return { model, role, permOf, objectType, aggregateType, selectArgs, scalarType, columnType: colType, boolExp };
}

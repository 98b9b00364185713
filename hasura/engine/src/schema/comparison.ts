import { GraphQLBoolean, GraphQLInputObjectType, GraphQLList, GraphQLNonNull, GraphQLString, type GraphQLInputFieldConfigMap, type GraphQLInputType } from 'graphql';
import type { ColumnModel } from './model.ts';
import { isArray, isJsonb, isStringType } from './scalars.ts';

/**
 * `<Scalar>_comparison_exp` (Postgres/Instances/Schema.hs `comparisonExps`; docs/research/hasura-v2.md §A.2).
 * One per scalar; the operator set depends on the column's type class.
 */
export function comparisonType(col: ColumnModel, scalar: GraphQLInputType, cache: Map<string, GraphQLInputObjectType>): GraphQLInputObjectType {
  const name = `${col.scalar}_comparison_exp`;
  const hit = cache.get(name);
  if (hit) return hit;
  const nn = new GraphQLNonNull(scalar);
  const fields: GraphQLInputFieldConfigMap = {
    _eq: { type: scalar }, _gt: { type: scalar }, _gte: { type: scalar },
    _in: { type: new GraphQLList(nn) }, _is_null: { type: GraphQLBoolean },
    _lt: { type: scalar }, _lte: { type: scalar }, _neq: { type: scalar }, _nin: { type: new GraphQLList(nn) },
  };
  // An enum reference compares for equality only (`comparisonExps`: the ordering and text
  // operators need a scalar column, `isScalarColumnWhere`).
  if (col.enumOf) for (const op of ['_gt', '_gte', '_lt', '_lte']) delete fields[op];
  else if (isStringType(col.type)) {
    for (const op of ['_like', '_nlike', '_ilike', '_nilike', '_similar', '_nsimilar', '_regex', '_nregex', '_iregex', '_niregex'])
      fields[op] = { type: scalar };
  }
  if (!col.enumOf && isJsonb(col.type)) {
    fields._contains = { type: scalar };
    fields._contained_in = { type: scalar };
    fields._has_key = { type: GraphQLString };
    fields._has_keys_any = { type: new GraphQLList(new GraphQLNonNull(GraphQLString)) };
    fields._has_keys_all = { type: new GraphQLList(new GraphQLNonNull(GraphQLString)) };
  }
  if (!col.enumOf && isArray(col.type)) {
    fields._contains = { type: scalar };
    fields._contained_in = { type: scalar };
  }
  const sorted: GraphQLInputFieldConfigMap = {};
  for (const k of Object.keys(fields).sort()) sorted[k] = fields[k]!;
  const t = new GraphQLInputObjectType({
    name,
    description: `Boolean expression to compare columns of type "${col.scalar}". All fields are combined with logical 'AND'.`,
    fields: sorted,
  });
  cache.set(name, t);
  return t;
}

import {
  GraphQLBoolean, GraphQLFloat, GraphQLInputObjectType, GraphQLInt, GraphQLList, GraphQLNonNull, GraphQLString,
  type GraphQLInputFieldConfigMap, type GraphQLInputType,
} from 'graphql';
import type { ColumnModel } from './model.ts';
import { isArray, isJsonb, isStringType } from './scalars.ts';

/**
 * `<Scalar>_comparison_exp` (Postgres/Instances/Schema.hs `comparisonExps`; docs/research/hasura-v2.md §A.2).
 * One per scalar; the operator set depends on the column's type class.
 */
export function comparisonType(
  col: ColumnModel, scalar: GraphQLInputType, cache: Map<string, GraphQLInputObjectType>, scalarOf?: (name: string) => GraphQLInputType,
): GraphQLInputObjectType {
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
  if (col.enumOf || col.type.name === 'raster') for (const op of ['_gt', '_gte', '_lt', '_lte']) delete fields[op];
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
  if (!col.enumOf && scalarOf) postgisOperators(col, scalar, fields, cache, scalarOf);
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

const castOf: Record<string, string> = { geometry: 'geography', geography: 'geometry' };

/** The same column seen as another type (`_cast`), for that type's comparison expression. */
export function castColumn(col: ColumnModel, typeName: string): ColumnModel {
  const type = { ...col.type, name: typeName };
  return { ...col, type, scalar: typeName, pg: { ...col.pg, type }, enumOf: undefined };
}

function inputType(cache: Map<string, GraphQLInputObjectType>, name: string, fields: () => GraphQLInputFieldConfigMap): GraphQLInputObjectType {
  let t = cache.get(name);
  if (!t) { t = new GraphQLInputObjectType({ name, fields }); cache.set(name, t); }
  return t;
}

/**
 * PostGIS operators (Postgres/Instances/Schema.hs `comparisonExps`: "Ops for Geometry/Geography
 * type", "Ops for Geometry type", "Ops for Raster types") and `_cast` between geometry and
 * geography (`castExp`). Their SQL is in compile/boolexp.ts.
 */
function postgisOperators(
  col: ColumnModel, scalar: GraphQLInputType, fields: GraphQLInputFieldConfigMap,
  cache: Map<string, GraphQLInputObjectType>, scalarOf: (name: string) => GraphQLInputType,
): void {
  const ty = col.type.name;
  if (ty === 'geometry' || ty === 'geography') {
    const what = `${ty} value`;
    fields._st_intersects = { type: scalar, description: `does the column spatially intersect the given ${what}` };
    const dWithin = ty === 'geometry'
      ? inputType(cache, 'st_d_within_input', () => ({ distance: { type: new GraphQLNonNull(GraphQLFloat) }, from: { type: new GraphQLNonNull(scalar) } }))
      : inputType(cache, 'st_d_within_geography_input', () => ({
        distance: { type: new GraphQLNonNull(GraphQLFloat) }, from: { type: new GraphQLNonNull(scalar) },
        use_spheroid: { type: GraphQLBoolean, defaultValue: true },
      }));
    fields._st_d_within = { type: dWithin, description: `is the column within a given distance from the given ${what}` };
    const other = castOf[ty]!;
    const otherCol = castColumn(col, other);
    const castType = inputType(cache, `${ty}_cast_exp`, () => ({ [other]: { type: comparisonType(otherCol, scalarOf(other), cache, scalarOf) } }));
    fields._cast = { type: castType };
  }
  if (ty === 'geometry') {
    const ops: Record<string, string> = {
      _st_contains: 'does the column contain the given geometry value',
      _st_crosses: 'does the column cross the given geometry value',
      _st_equals: 'is the column equal to given geometry value (directionality is ignored)',
      _st_overlaps: "does the column 'spatially overlap' (intersect but not completely contain) the given geometry value",
      _st_touches: 'does the column have atleast one point in common with the given geometry value',
      _st_within: 'is the column contained in the given geometry value',
      _st_3d_intersects: 'does the column spatially intersect the given geometry value in 3D',
    };
    for (const [op, description] of Object.entries(ops)) fields[op] = { type: scalar, description };
    fields._st_3d_d_within = {
      type: inputType(cache, 'st_d_within_input', () => ({ distance: { type: new GraphQLNonNull(GraphQLFloat) }, from: { type: new GraphQLNonNull(scalar) } })),
      description: 'is the column within a given 3D distance from the given geometry value',
    };
  }
  if (ty === 'raster') {
    const geometry = scalarOf('geometry');
    fields._st_intersects_rast = { type: scalar };
    fields._st_intersects_nband_geom = {
      type: inputType(cache, 'st_intersects_nband_geom_input', () => ({ geommin: { type: new GraphQLNonNull(geometry) }, nband: { type: new GraphQLNonNull(GraphQLInt) } })),
    };
    fields._st_intersects_geom_nband = {
      type: inputType(cache, 'st_intersects_geom_nband_input', () => ({ geommin: { type: new GraphQLNonNull(geometry) }, nband: { type: GraphQLInt } })),
    };
  }
}

import {
  GraphQLEnumType, GraphQLInputObjectType, GraphQLList, GraphQLNonNull, GraphQLScalarType, Kind,
  type GraphQLInputType, type ValueNode,
} from 'graphql';
import { QErr, validationFailed } from '../errors.ts';
import type { VariableScope } from './variables.ts';

/**
 * Input coercion with Hasura's messages (GraphQL/Parser/Internal/Input.hs, Parser/Column.hs).
 * Literals and variable values both become plain JSON values; input-object key order is kept
 * (order_by depends on it).
 */
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

function describeNode(n: ValueNode): string {
  switch (n.kind) {
    case Kind.NULL: return 'null';
    case Kind.INT: return 'an integer';
    case Kind.FLOAT: return 'a float';
    case Kind.STRING: return 'a string';
    case Kind.BOOLEAN: return 'a boolean';
    case Kind.ENUM: return 'an enum value';
    case Kind.LIST: return 'a list';
    case Kind.OBJECT: return 'an object';
    default: return 'a variable';
  }
}

/** A JSON-ish view of a literal or a variable's value, so one coercer serves both. */
type Input = { node: ValueNode } | { json: unknown };

const isComparisonOp = (t: GraphQLInputObjectType, field: string): boolean =>
  t.name.endsWith('_comparison_exp') && field !== '_is_null';

export function coerceLiteral(type: GraphQLInputType, node: ValueNode, path: string, vars: VariableScope): unknown {
  return coerce(type, { node }, path, vars);
}

export function coerceJson(type: GraphQLInputType, json: unknown, path: string): unknown {
  return coerce(type, { json }, path, undefined);
}

/** `undefined` = absent (an unset variable): the caller drops the key. */
function coerce(type: GraphQLInputType, input: Input, path: string, vars: VariableScope | undefined, columnInput = false): unknown {
  if ('node' in input && input.node.kind === Kind.VARIABLE) {
    if (!vars) throw validationFailed(path, 'unexpected variable');
    return vars.use(input.node.name.value, type, path);
  }
  const isNull = 'node' in input ? input.node.kind === Kind.NULL : input.json === null || input.json === undefined;
  if (type instanceof GraphQLNonNull) {
    if (isNull) {
      const inner = type.ofType;
      if (inner instanceof GraphQLInputObjectType) throw validationFailed(path, `expected an object for type '${inner.name}', but found null`);
      throw validationFailed(path, `unexpected null value for type '${inner.toString()}'`);
    }
    return coerce(type.ofType, input, path, vars, columnInput);
  }
  if (isNull) return null;
  if (type instanceof GraphQLList) {
    if ('node' in input && input.node.kind === Kind.LIST)
      return input.node.values.map((v, i) => coerce(type.ofType, { node: v }, `${path}[${i}]`, vars));
    if ('json' in input && Array.isArray(input.json))
      return input.json.map((v, i) => coerce(type.ofType, { json: v }, `${path}[${i}]`, vars));
    return [coerce(type.ofType, input, path, vars)];
  }
  if (type instanceof GraphQLInputObjectType) return coerceObject(type, input, path, vars);
  if (type instanceof GraphQLEnumType) {
    const name = 'node' in input ? (input.node.kind === Kind.ENUM ? input.node.value : undefined) : typeof input.json === 'string' ? input.json : undefined;
    const v = name === undefined ? undefined : type.getValue(name);
    // Parser/Internal/Input.hs `enum`: a literal must be an enum value (a string literal is a
    // type mismatch); a variable's JSON string is looked up; either way an unknown name lists the values.
    if (name === undefined) {
      throw validationFailed(path, `expected an enum value for type '${type.name}', but found ${'node' in input ? describeNode(input.node) : describe(input.json)}`);
    }
    if (!v) throw validationFailed(path, `expected one of the values [${type.getValues().map((x) => `'${x.name}'`).join(', ')}] for type '${type.name}', but found '${name}'`);
    return v.value;
  }
  return coerceScalar(type, input, path, columnInput);
}

function coerceObject(type: GraphQLInputObjectType, input: Input, path: string, vars: VariableScope | undefined): Record<string, unknown> {
  const fields = type.getFields();
  const out: Record<string, unknown> = {};
  const entries: Array<[string, Input]> = [];
  if ('node' in input) {
    if (input.node.kind !== Kind.OBJECT) throw validationFailed(path, `expected an object for type '${type.name}', but found ${describeNode(input.node)}`);
    for (const f of input.node.fields) entries.push([f.name.value, { node: f.value }]);
  } else {
    const j = input.json;
    if (typeof j !== 'object' || j === null || Array.isArray(j)) throw validationFailed(path, `expected an object for type '${type.name}', but found ${describe(j)}`);
    for (const [k, v] of Object.entries(j)) entries.push([k, { json: v }]);
  }
  for (const [k, v] of entries) {
    const f = fields[k];
    const p = `${path}.${k}`;
    if (!f) throw validationFailed(p, `field '${k}' not found in type: '${type.name}'`);
    if (Object.prototype.hasOwnProperty.call(out, k)) throw validationFailed(p, `the field '${k}' is specified more than once`);
    const val = coerce(f.type, v, p, vars, COLUMN_INPUT.test(type.name));
    if (val === undefined) continue;
    // `{_eq: null}` is an error by default (HASURA_GRAPHQL_V1_BOOLEAN_NULL_COLLAPSE off; docs/research/hasura-v2.md §A.2).
    if (val === null && isComparisonOp(type, k)) throw validationFailed(p, `unexpected null value for type '${namedOf(f.type)}'`);
    out[k] = val;
  }
  for (const [k, f] of Object.entries(fields)) {
    if (f.type instanceof GraphQLNonNull && !(k in out) && f.defaultValue === undefined)
      throw validationFailed(path, `missing required field '${k}'`);
  }
  return out;
}

function namedOf(t: GraphQLInputType): string {
  let x: GraphQLInputType = t;
  while (x instanceof GraphQLNonNull || x instanceof GraphQLList) x = x.ofType;
  return x.name;
}

function jsonOfNode(n: ValueNode): unknown {
  switch (n.kind) {
    case Kind.INT: return Number(n.value);
    case Kind.FLOAT: return Number(n.value);
    case Kind.STRING: case Kind.ENUM: return n.value;
    case Kind.BOOLEAN: return n.value;
    case Kind.NULL: return null;
    case Kind.LIST: return n.values.map(jsonOfNode);
    case Kind.OBJECT: return Object.fromEntries(n.fields.map((f) => [f.name.value, jsonOfNode(f.value)]));
    default: return null;
  }
}

/**
 * Mutation column values go through the column's JSON parser, so `"32767"` is an Int and `"true"` a
 * Boolean there (insert/basic/insert_various_postgres_types.yaml); PostgreSQL's cast checks the text.
 */
const COLUMN_INPUT = /_(insert|set|inc|pk_columns)_input$/;
const BUILTIN_STRING_OK = new Set(['Int', 'Float', 'Boolean']);

/** Haskell's `show` of a Scientific, as Hasura's bounds message prints it: 2147483648 → 2.147483648e9. */
function scientific(n: number): string {
  const digits = String(Math.abs(n)).replace(/0+$/, '') || '0';
  const exp = String(Math.abs(n)).length - 1;
  return `${n < 0 ? '-' : ''}${digits[0]}.${digits.slice(1) || '0'}e${exp}`;
}

function coerceScalar(type: GraphQLScalarType, input: Input, path: string, columnInput = false): unknown {
  const kind = 'node' in input ? describeNode(input.node) : describe(input.json);
  const raw = 'node' in input ? jsonOfNode(input.node) : input.json;
  if (columnInput && typeof raw === 'string' && BUILTIN_STRING_OK.has(type.name)) return raw;
  switch (type.name) {
    case 'Int': {
      if (typeof raw === 'number' && Number.isInteger(raw) && raw >= INT32_MIN && raw <= INT32_MAX && kind === 'an integer') return raw;
      if (typeof raw === 'number' && Number.isInteger(raw) && kind === 'an integer')
        throw new QErr('parse-failed', `The value ${scientific(raw)} lies outside the bounds or is not an integer. Maybe it is a float, or is there integer overflow?`, path);
      throw validationFailed(path, `expected a 32-bit integer for type 'Int', but found ${kind}`);
    }
    case 'Float':
      if (typeof raw === 'number') return raw;
      throw validationFailed(path, `expected a float for type 'Float', but found ${kind}`);
    case 'String':
      if (typeof raw === 'string') return raw;
      throw validationFailed(path, `expected a string for type 'String', but found ${kind}`);
    case 'Boolean':
      if (typeof raw === 'boolean') return raw;
      throw validationFailed(path, `expected a boolean for type 'Boolean', but found ${kind}`);
    default: {
      // A scalar with its own input parser (geometry/geography: GeoJSON, schema/geojson.ts) reports
      // its failures at the value's path.
      const parse = (type.extensions as { parseInput?: (v: unknown) => unknown }).parseInput;
      if (parse) {
        try { return parse(raw); } catch (e) { throw e instanceof QErr ? e.at(path) : e; }
      }
      // Custom scalars (uuid, bigint, jsonb, timestamptz, …) take any JSON; PostgreSQL's cast checks it.
      // Number literals keep their text so bigint/numeric values beyond 2^53 stay exact.
      if ('node' in input && (input.node.kind === Kind.INT || input.node.kind === Kind.FLOAT)) return input.node.value;
      return raw;
    }
  }
}

/** Hasura's `describeValue` wording for a mismatched input (GraphQL/Parser/Internal/Input.hs). */
function describe(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return 'a string';
  if (typeof v === 'boolean') return 'a boolean';
  if (typeof v === 'number') return Number.isInteger(v) ? 'an integer' : 'a float';
  if (Array.isArray(v)) return 'a list';
  return 'an object';
}

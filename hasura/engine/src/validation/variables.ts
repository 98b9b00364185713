import {
  GraphQLList, GraphQLNonNull, isInputType, Kind, typeFromAST, print,
  type GraphQLInputType, type GraphQLSchema, type GraphQLType, type VariableDefinitionNode,
} from 'graphql';
import { validationFailed } from '../errors.ts';
import { coerceJson, coerceLiteral } from './values.ts';

interface VarDef {
  type: GraphQLInputType; typeText: string; hasNonNullDefault: boolean;
  /** The value given in `variables` (JSON, coerced where it is used), or the coerced default. */
  given?: unknown; value?: unknown; coerced: boolean;
}

/**
 * Declared variables. Defaults are coerced up front; a given value is coerced where it is used,
 * with that location's path, as Hasura's parsers peel variables at their use site (an unknown
 * enum value is reported at `…args.where.col._eq`, upstream graphql_query/enums/
 * select_where_enum_eq_variable_bad_value.yaml); `use` checks each site against the declaration.
 */
export class VariableScope {
  private readonly defs = new Map<string, VarDef>();

  constructor(schema: GraphQLSchema, defs: readonly VariableDefinitionNode[], given: Record<string, unknown>) {
    for (const d of defs) {
      const name = d.variable.name.value;
      const type = typeFromAST(schema, d.type);
      const typeText = print(d.type);
      if (!type || !isInputType(type)) throw validationFailed('$', `variable '${name}' is declared as '${typeText}', which is not an input type`);
      const has = Object.prototype.hasOwnProperty.call(given, name);
      const hasNonNullDefault = !!d.defaultValue && d.defaultValue.kind !== Kind.NULL;
      if (has && given[name] !== undefined) {
        if (given[name] === null && type instanceof GraphQLNonNull) throw validationFailed('$', `null value found for non-nullable type: "${typeText}"`);
        this.defs.set(name, { type, typeText, hasNonNullDefault, given: given[name], coerced: false });
        continue;
      }
      let value: unknown;
      if (d.defaultValue) {
        value = coerceLiteral(type, d.defaultValue, `$.variableValues.${name}`, new VariableScope(schema, [], {}));
      } else if (type instanceof GraphQLNonNull) {
        throw validationFailed('$', `expecting a value for non-nullable variable: "${name}"`);
      }
      this.defs.set(name, { type, typeText, hasNonNullDefault, value, coerced: true });
    }
  }

  use(name: string, location: GraphQLInputType, path: string): unknown {
    const d = this.defs.get(name);
    if (!d) throw validationFailed(path, `unbound variable '${name}'`);
    if (!compatible(d.type, location, d.hasNonNullDefault))
      throw validationFailed(path, `variable '${name}' is declared as '${d.typeText}', but used where '${location.toString()}' is expected`);
    if (!d.coerced) {
      d.value = coerceJson(d.type, d.given, path);
      d.coerced = true;
    }
    return d.value;
  }
}

function compatible(v: GraphQLType, l: GraphQLType, nonNullDefault: boolean): boolean {
  if (l instanceof GraphQLNonNull) {
    if (v instanceof GraphQLNonNull) return compatible(v.ofType, l.ofType, false);
    return nonNullDefault && compatible(v, l.ofType, false);
  }
  if (v instanceof GraphQLNonNull) return compatible(v.ofType, l, false);
  if (l instanceof GraphQLList) return v instanceof GraphQLList && compatible(v.ofType, l.ofType, false);
  if (v instanceof GraphQLList) return false;
  return 'name' in v && 'name' in l && v.name === l.name;
}

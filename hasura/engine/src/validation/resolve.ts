import {
  GraphQLList, GraphQLNonNull, GraphQLObjectType, Kind, getNamedType,
  type DirectiveNode, type DocumentNode, type FieldNode, type FragmentDefinitionNode, type GraphQLField,
  type GraphQLSchema, type OperationDefinitionNode, type SelectionSetNode,
} from 'graphql';
import { validationFailed } from '../errors.ts';
import { coerceLiteral } from './values.ts';
import { VariableScope } from './variables.ts';

/** A field after fragments, directives and variables are resolved and arguments coerced. */
export interface ResolvedField {
  alias: string;
  name: string;
  /** undefined for `__typename`. */
  def: GraphQLField<unknown, unknown> | undefined;
  parentType: GraphQLObjectType;
  args: Record<string, unknown>;
  selection: ResolvedField[];
  path: string;
  nodes: FieldNode[];
}

export interface ResolvedOperation {
  kind: 'query' | 'mutation' | 'subscription';
  node: OperationDefinitionNode;
  fields: ResolvedField[];
  variables: Record<string, unknown>;
}

export interface Limits { maxDepth: number; maxComplexity: number }

interface Group { nodes: FieldNode[]; path: string; stack: string[] }

const KNOWN_FIELD_DIRECTIVES = new Set(['include', 'skip']);

export function pickOperation(doc: DocumentNode, operationName: string | null | undefined): OperationDefinitionNode {
  const ops = doc.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  if (operationName) {
    const op = ops.find((o) => o.name?.value === operationName);
    if (!op) throw validationFailed('$', `no such operation found in the document: "${operationName}"`);
    return op;
  }
  if (ops.length !== 1) throw validationFailed('$', 'exactly one operation has to be present in the document when operationName is not specified');
  return ops[0]!;
}

/** Hasura walks the operation itself (GraphQL/Execute/Inline.hs, Parser/Collect.hs); so do we. */
export function resolveOperation(
  schema: GraphQLSchema, doc: DocumentNode, op: OperationDefinitionNode, variables: Record<string, unknown>, limits: Limits,
): ResolvedOperation {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of doc.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  // Hasura-only `subscription @_multiple_top_level_fields { … }` (Execute.hs), used by its test harness.
  const multi = op.operation === 'subscription' && (op.directives ?? []).some((d) => d.name.value === '_multiple_top_level_fields');
  for (const d of op.directives ?? []) {
    if (multi && d.name.value === '_multiple_top_level_fields') continue;
    // Hasura's `@cached(ttl, refresh)` on queries (cache/cache.ts does the caching; CE ignores it).
    if (op.operation === 'query' && d.name.value === 'cached') continue;
    throw validationFailed('$', KNOWN_FIELD_DIRECTIVES.has(d.name.value)
      ? `directive "${d.name.value}" is not allowed on a ${op.operation}`
      : `directive "${d.name.value}" is not defined in the schema`);
  }
  const root = op.operation === 'query' ? schema.getQueryType() : op.operation === 'mutation' ? schema.getMutationType() : schema.getSubscriptionType();
  if (!root) throw validationFailed('$', op.operation === 'mutation' ? 'no mutations exist' : `no ${op.operation}s exist`);
  const vars = new VariableScope(schema, op.variableDefinitions ?? [], variables ?? {});
  let count = 0;
  const resolveSet = (type: GraphQLObjectType, set: SelectionSetNode, path: string, depth: number, stack: string[]): ResolvedField[] => {
    if (limits.maxDepth > 0 && depth > limits.maxDepth)
      throw validationFailed(path, `the query exceeds the maximum allowed depth of ${limits.maxDepth}`);
    const groups = new Map<string, Group>();
    collect(type, set, `${path}.selectionSet`, stack, groups);
    const out: ResolvedField[] = [];
    for (const [alias, g] of groups) {
      count++;
      if (limits.maxComplexity > 0 && count > limits.maxComplexity)
        throw validationFailed('$', `the query exceeds the maximum allowed complexity of ${limits.maxComplexity}`);
      out.push(resolveField(type, alias, g.nodes, g.path, depth, g.stack));
    }
    return out;
  };

  const collect = (
    type: GraphQLObjectType, set: SelectionSetNode, path: string, stack: string[],
    groups: Map<string, Group>,
  ): void => {
    for (const sel of set.selections) {
      if (!included(sel.directives ?? [], path)) continue;
      if (sel.kind === Kind.FIELD) {
        const key = sel.alias?.value ?? sel.name.value;
        const g = groups.get(key);
        if (g) {
          if (g.nodes[0]!.name.value !== sel.name.value)
            throw validationFailed(path, `the field '${key}' is selected more than once with different definitions`);
          g.nodes.push(sel);
        } else groups.set(key, { nodes: [sel], path: `${path}.${key}`, stack });
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        const tc = sel.typeCondition?.name.value;
        if (tc && tc !== type.name) throw validationFailed(path, `inline fragment is expected on type '${type.name}', but found '${tc}'`);
        collect(type, sel.selectionSet, path, stack, groups);
      } else {
        const name = sel.name.value;
        const frag = fragments.get(name);
        if (!frag) throw validationFailed(path, `reference to undefined fragment '${name}'`);
        const i = stack.indexOf(name);
        if (i >= 0) {
          const names = stack.slice(i);
          const list = names.length === 1 ? names[0]! : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]!}`;
          throw validationFailed(path, `the fragment definition(s) ${list} form a cycle`);
        }
        const tc = frag.typeCondition.name.value;
        if (tc !== type.name) throw validationFailed(path, `fragment '${name}' is defined on '${tc}' but used on '${type.name}'`);
        collect(type, frag.selectionSet, `${path}.${name}.selectionSet`, [...stack, name], groups);
      }
    }
  };

  const included = (directives: readonly DirectiveNode[], path: string): boolean => {
    const seen = new Set<string>();
    const dups = new Set<string>();
    for (const d of directives) {
      const n = d.name.value;
      if (!KNOWN_FIELD_DIRECTIVES.has(n)) throw validationFailed(path, `directive "${n}" is not defined in the schema`);
      if (seen.has(n)) dups.add(n);
      seen.add(n);
    }
    if (dups.size) throw validationFailed(path, `the following directives are used more than once: ${[...dups].join(', ')}`);
    let keep = true;
    for (const d of directives) {
      const arg = d.arguments?.find((a) => a.name.value === 'if');
      if (!arg) throw validationFailed(path, `missing required field 'if'`);
      const v = coerceLiteral(new GraphQLNonNull(schema.getType('Boolean') as never), arg.value, `${path}.${d.name.value}.if`, vars);
      if (d.name.value === 'skip' && v === true) keep = false;
      if (d.name.value === 'include' && v === false) keep = false;
    }
    return keep;
  };

  const resolveField = (type: GraphQLObjectType, alias: string, nodes: FieldNode[], path: string, depth: number, stack: string[]): ResolvedField => {
    const node = nodes[0]!;
    const name = node.name.value;
    if (name === '__typename') return { alias, name, def: undefined, parentType: type, args: {}, selection: [], path, nodes };
    const def = type.getFields()[name] ?? (type === root && (name === '__schema' || name === '__type') ? schema.getQueryType()!.getFields()[name] : undefined);
    if (name === '__schema' || name === '__type') {
      if (type !== root || op.operation !== 'query') throw validationFailed(path, `field '${name}' not found in type: '${type.name}'`);
      return { alias, name, def: undefined, parentType: type, args: {}, selection: [], path, nodes };
    }
    if (!def) throw validationFailed(path, `field '${name}' not found in type: '${type.name}'`);
    const args: Record<string, unknown> = {};
    for (const a of node.arguments ?? []) {
      const ad = def.args.find((x) => x.name === a.name.value);
      if (!ad) throw validationFailed(path, `'${name}' has no argument named '${a.name.value}'`);
      if (a.name.value in args) throw validationFailed(path, `the argument '${a.name.value}' is specified more than once`);
      const v = coerceArg(name, a.name.value, ad.type, a.value, `${path}.args.${a.name.value}`);
      if (v !== undefined) args[a.name.value] = v;
    }
    for (const ad of def.args)
      if (ad.type instanceof GraphQLNonNull && args[ad.name] === undefined) throw validationFailed(`${path}.args`, `missing required field '${ad.name}'`);
    const named = getNamedType(def.type);
    let selection: ResolvedField[] = [];
    if (named instanceof GraphQLObjectType) {
      const sets = nodes.map((n) => n.selectionSet).filter((s): s is SelectionSetNode => !!s);
      if (sets.length === 0) throw validationFailed(path, `missing selection set for '${named.name}'`);
      const merged: SelectionSetNode = { kind: Kind.SELECTION_SET, selections: sets.flatMap((s) => s.selections) };
      selection = resolveSet(named, merged, path, depth + 1, stack);
    } else if (nodes.some((n) => n.selectionSet)) {
      throw validationFailed(path, `unexpected subselection set for non-object field`);
    }
    return { alias, name, def, parentType: type, args, selection, path, nodes };
  };

  const coerceArg = (field: string, arg: string, type: Parameters<typeof coerceLiteral>[0], value: Parameters<typeof coerceLiteral>[1], path: string): unknown => {
    // limit/offset: non-negative Int32; offset also accepts a numeric string (docs/research/hasura-v2.md §A.3).
    if ((arg === 'limit' || arg === 'offset') && !(type instanceof GraphQLNonNull) && !(type instanceof GraphQLList) && type.toString() === 'Int') {
      const v = value.kind === Kind.VARIABLE ? vars.use(value.name.value, type, path) : value.kind === Kind.INT ? Number(value.value) : value.kind === Kind.STRING ? value.value : value.kind === Kind.NULL ? null : value;
      if (v === null || v === undefined) return v;
      const n = arg === 'offset' && typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
      if (typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 2147483647) return n;
      const kind = typeof n === 'number' ? 'an integer' : typeof n === 'string' ? 'a string' : 'an object';
      throw validationFailed(path, `expected a non-negative 32-bit integer for type 'Int', but found ${kind}`);
    }
    void field;
    return coerceLiteral(type, value, path, vars);
  };

  const fields = resolveSet(root, op.selectionSet, '$', 1, []);
  if (op.operation === 'subscription' && !multi && fields.length > 1)
    throw validationFailed('$', 'subscriptions must select one top level field');
  return { kind: op.operation, node: op, fields, variables };
}

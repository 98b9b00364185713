/**
 * `GET /api/swagger/json`: the OpenAPI 3.0 document of the REST endpoints, as upstream's
 * Server/OpenAPI.hs `buildOpenAPI` builds it from the admin schema (checked by
 * server/tests-py/queries/openapi/*.yaml): one path item per URL (`:var` → `{var}`), one
 * operation per method with the `x-hasura-admin-secret` header parameter, a query/path parameter
 * per scalar variable, a JSON request body for POST/PUT/PATCH, and the response schema of the
 * selection; non-inlined scalars, enums and input objects are declared under
 * components.schemas, non-null ones with a `!` suffix. An endpoint whose query no longer fits the
 * schema (an inconsistent collection query, allowed in metadata) is still listed, with the fields
 * that do fit, and the analysis' messages are appended to `info.description` as upstream's
 * `formattedMessages` (upstream test_openapi.py `test_inconsistent_schema_openAPI`).
 */
import {
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isObjectType,
  isInterfaceType,
  isScalarType,
  Kind,
  typeFromAST,
  valueFromASTUntyped,
  type GraphQLSchema,
  type GraphQLType,
  type GraphQLInputType,
  type GraphQLOutputType,
  type SelectionSetNode,
  type FragmentDefinitionNode,
  type GraphQLNamedType,
} from 'graphql';
import type { ResolvedEndpoint } from './endpoints.ts';
import { diagnoseOperation } from '../allowlist/validate.ts';

type Schema = Record<string, unknown>;

/** getReferenceScalarInfo: OpenAPI type, pattern, inline? */
function referenceScalar(name: string): [string, string | undefined, boolean] | undefined {
  switch (name.toLowerCase()) {
    case 'int': return ['integer', undefined, true];
    case 'float': case 'double': return ['number', undefined, true];
    case 'uuid': return ['string', '[a-f0-9]{8}-[a-f0-9]{4}-4[a-f0-9]{3}-[89aAbB][a-f0-9]{3}-[a-f0-9]{12}', false];
    case 'bool': case 'boolean': return ['boolean', undefined, true];
    case 'string': case 'id': return ['string', undefined, true];
    default: return undefined;
  }
}

class Builder {
  readonly components: Record<string, Schema> = {};
  constructor(readonly schema: GraphQLSchema) {}

  private declare(name: string, nullable: boolean, s: Schema): Schema {
    const ref = nullable ? name : `${name}!`;
    this.components[ref] = s;
    return { $ref: `#/components/schemas/${ref}` };
  }

  /** applyModifiers: lists wrap, the named type decides the rest. */
  private modifiers(t: GraphQLType, named: (n: GraphQLNamedType, nullable: boolean) => Schema, nullable = true): Schema {
    if (isNonNullType(t)) return this.modifiers(t.ofType, named, false);
    if (isListType(t)) return { nullable, type: 'array', items: this.modifiers(t.ofType, named) };
    return named(t as GraphQLNamedType, nullable);
  }

  private scalarOrEnum(n: GraphQLNamedType, nullable: boolean): Schema {
    if (isEnumType(n)) {
      return this.declare(n.name, nullable, { title: n.name, enum: n.getValues().map((v) => v.name), nullable, ...(n.description ? { description: n.description } : {}) });
    }
    const ref = referenceScalar(n.name);
    const base: Schema = { title: n.name, nullable };
    if (!ref) return this.declare(n.name, nullable, { ...base, ...(n.description ? { description: n.description } : {}) });
    const s: Schema = { ...base, type: ref[0], ...(ref[1] ? { pattern: ref[1] } : {}) };
    return ref[2] ? s : this.declare(n.name, nullable, s);
  }

  input(t: GraphQLInputType, seen = new Set<string>()): Schema {
    return this.modifiers(t, (n, nullable) => {
      if (!isInputObjectType(n)) return this.scalarOrEnum(n, nullable);
      const ref = nullable ? n.name : `${n.name}!`;
      // withCircular: a type already being built is referenced, not expanded again.
      if (seen.has(ref)) return { $ref: `#/components/schemas/${ref}` };
      seen.add(ref);
      const properties: Record<string, Schema> = {};
      for (const f of Object.values(n.getFields())) properties[f.name] = this.input(f.type, seen);
      return this.declare(n.name, nullable, { title: n.name, ...(n.description ? { description: n.description } : {}), properties, type: 'object', nullable });
    });
  }

  selection(parent: GraphQLNamedType, set: SelectionSetNode, fragments: Map<string, FragmentDefinitionNode>): Schema {
    const properties: Record<string, Schema> = {};
    const visit = (s: SelectionSetNode) => {
      for (const sel of s.selections) {
        if (sel.kind === Kind.FIELD) {
          if (sel.name.value === '__typename' || !(isObjectType(parent) || isInterfaceType(parent))) continue;
          const def = parent.getFields()[sel.name.value];
          if (!def) continue;
          // Fields of the same response name merge (GraphQL's field merging; upstream's Structure is a map).
          const key = sel.alias?.value ?? sel.name.value;
          properties[key] = merge(properties[key], this.output(def.type, sel.selectionSet, fragments));
        } else if (sel.kind === Kind.INLINE_FRAGMENT) {
          visit(sel.selectionSet);
        } else {
          const f = fragments.get(sel.name.value);
          if (f) visit(f.selectionSet);
        }
      }
    };
    visit(set);
    return { properties };
  }

  private output(t: GraphQLOutputType, set: SelectionSetNode | undefined, fragments: Map<string, FragmentDefinitionNode>): Schema {
    return this.modifiers(t, (n, nullable) => {
      if (!set || !(isObjectType(n) || isInterfaceType(n))) return this.scalarOrEnum(n, nullable);
      // An empty `properties` is left out, as Swagger's encoding of an empty map does.
      const sel = this.selection(n, set, fragments);
      return { ...(Object.keys(sel.properties as object).length ? sel : {}), title: n.name, type: 'object', ...(n.description ? { description: n.description } : {}), nullable };
    });
  }
}

export function buildOpenApi(schema: GraphQLSchema, endpoints: ResolvedEndpoint[]): Record<string, unknown> {
  const b = new Builder(schema);
  const paths: Record<string, Record<string, unknown>> = {};
  const sorted = [...endpoints].sort((x, y) => (x.meta.url < y.meta.url ? -1 : x.meta.url > y.meta.url ? 1 : 0));
  let warnings = '';
  for (const e of sorted) {
    const url = `/api/rest/${e.segments.map((s) => (s.startsWith(':') ? `{${s.slice(1)}}` : s)).join('/')}`;
    const pathVars = e.segments.filter((s) => s.startsWith(':')).map((s) => s.slice(1));
    const fragments = new Map<string, FragmentDefinitionNode>();
    const root = e.op.operation === 'mutation' ? schema.getMutationType() : schema.getQueryType();
    const vars = [...(e.op.variableDefinitions ?? [])].map((v) => ({ name: v.variable.name.value, type: typeFromAST(schema, v.type) as GraphQLInputType | undefined, node: v }));
    const params: Schema[] = [{ schema: { type: 'string' }, in: 'header', name: 'x-hasura-admin-secret', description: 'Your x-hasura-admin-secret will be used for authentication of the API request.' }];
    for (const v of [...vars].sort((x, y) => (x.name < y.name ? -1 : 1))) {
      if (!v.type || isListType(isNonNullType(v.type) ? v.type.ofType : v.type)) continue;
      const named = getNamedType(v.type);
      const ref = isScalarType(named) ? referenceScalar(named.name) : undefined;
      if (!ref) continue;
      const defaultValue = v.node.defaultValue ? valueFromASTUntyped(v.node.defaultValue) : undefined;
      const inPath = pathVars.includes(v.name);
      const required = !(!isNonNullType(v.type) || defaultValue !== undefined) || inPath;
      const description = inPath ? `_"${v.name}" is required as part of the path_` : required ? `_"${v.name}" is required (enter it either in parameters or request body)_` : undefined;
      params.push({
        ...(description ? { description } : {}),
        in: inPath ? 'path' : 'query',
        name: v.name,
        required,
        schema: { ...(defaultValue !== undefined ? { default: defaultValue } : {}), type: ref[0], ...(ref[1] ? { pattern: ref[1] } : {}) },
      });
    }
    const messages = diagnoseOperation(schema, e.op, fragments);
    for (const method of e.meta.methods) {
      // buildEndpoint runs per method and its messages are concatenated per URL: once per method.
      if (messages.length) warnings += `\n\nEndpoint "${e.meta.name}":${messages.map((m) => `\n- ⚠️ ${m}`).join('')}`;
      const op: Record<string, unknown> = {
        summary: e.meta.name,
        description: `${e.meta.comment ?? ''}***\nThe GraphQl query for this endpoint is:\n\`\`\` graphql\n${e.query}\n\`\`\``,
        parameters: params,
      };
      if (vars.length && ['POST', 'PUT', 'PATCH'].includes(method)) {
        const properties: Record<string, Schema> = {};
        let required = false;
        for (const v of vars) {
          if (!v.type) continue;
          let s = b.input(v.type);
          const defaultValue = v.node.defaultValue ? valueFromASTUntyped(v.node.defaultValue) : undefined;
          if (defaultValue !== undefined) {
            const deref = typeof s.$ref === 'string' ? b.components[(s.$ref as string).slice('#/components/schemas/'.length)] : s;
            s = { ...deref, default: defaultValue };
          }
          const named = getNamedType(v.type);
          const knownScalar = !isListType(isNonNullType(v.type) ? v.type.ofType : v.type) && isScalarType(named) && !!referenceScalar(named.name);
          if (!(defaultValue !== undefined || !isNonNullType(v.type) || knownScalar)) required = true;
          properties[v.name] = s;
        }
        op.requestBody = { content: { 'application/json': { schema: { type: 'object', properties } } }, description: 'Query parameters can also be provided in the request body as a JSON object', required };
      }
      const response = root ? b.selection(root, e.op.selectionSet, fragments) : { properties: {} };
      op.responses = { '200': { content: { 'application/json': { schema: response } }, description: `Responses for ${method} ${url}` } };
      (paths[url] ??= {})[method.toLowerCase()] = op;
    }
  }
  return {
    openapi: '3.0.0',
    info: { version: '', title: 'Rest Endpoints', description: `This OpenAPI specification is automatically generated by Hasura.${warnings}` },
    ...(Object.keys(paths).length ? { paths } : {}),
    components: Object.keys(b.components).length ? { schemas: sortKeys(b.components) } : {},
  };
}

/** Two schemas of one response key: their object properties (at any list depth) merged. */
function merge(a: Schema | undefined, b: Schema): Schema {
  if (!a) return b;
  const out: Schema = { ...a };
  if (a.properties && b.properties) {
    const props: Record<string, Schema> = { ...(a.properties as Record<string, Schema>) };
    for (const [k, v] of Object.entries(b.properties as Record<string, Schema>)) props[k] = merge(props[k], v);
    out.properties = props;
  }
  if (a.items && b.items) out.items = merge(a.items as Schema, b.items as Schema);
  return out;
}

const sortKeys = <T>(o: Record<string, T>): Record<string, T> => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/**
 * Metadata-time validation of query collections, as Hasura's schema cache does it on every
 * metadata change (RQL/Types/SchemaCache/Build.hs `getInconsistentQueryCollections`, called from
 * RQL/DDL/Schema/Cache.hs `buildSchemaCacheRule`): every query of every collection is checked
 * against the admin schema with upstream's static analysis (GraphQL/Analyse.hs
 * `diagnoseGraphQLQuery`), and one that no longer fits — a table untracked, a column dropped, a
 * typo — is an inconsistent object of type `query_collections`, named
 * `query_collections <query> in <collection>`, its reason listing the analysis errors and the REST
 * endpoints and global allow-list that use it. Upstream keeps the query (and its endpoint) in
 * metadata; a metadata change that makes one newly inconsistent is refused
 * (admin/consistency.ts `newInconsistencyError`). Checked by upstream
 * server/tests-py/queries/endpoints/endpoint_query_validation.yaml (test/rest/upstream) and
 * test_openapi.py `test_inconsistent_schema_openAPI` (the same analysis' messages in the OpenAPI
 * description, rest/openapi.ts).
 *
 * The analysis is deliberately shallower than GraphQL validation, as upstream's: field names,
 * selection sets and variable types only — arguments are not checked ("TODO: check field
 * arguments?" in Analyse.hs), so a query with a wrong argument is consistent here as there and
 * fails when it runs.
 */
import {
  getNamedType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  isScalarType,
  isUnionType,
  Kind,
  parse,
  print,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type TypeNode,
} from 'graphql';
import type { Metadata } from '../contract.ts';
import type { InconsistentObject } from '../schema/model.ts';
import type { Queryable } from '../sql/sql.ts';
import { buildRoleSchema } from '../schema/build-role.ts';
import { rqlModel } from '../admin/rql.ts';
import { resolveEndpoints } from '../rest/endpoints.ts';
import { collectionsOf, inlineAllowlist, type InlinedAllowlist } from './allowlist.ts';

/** Hasura's root type names (Analyse.hs `queryRootName` …): the analysis looks them up by name. */
const ROOTS = { query: 'query_root', mutation: 'mutation_root', subscription: 'subscription_root' } as const;

class Diagnosis extends Error {}

/** englishList "and" (Server/Utils.hs). */
function englishList(xs: string[]): string {
  if (xs.length <= 1) return xs.join('');
  if (xs.length === 2) return `${xs[0]} and ${xs[1]}`;
  return `${xs.slice(0, -1).join(', ')}, and ${xs[xs.length - 1]}`;
}

/**
 * getSingleOperation (GraphQL/Transport/HTTP/Protocol.hs) without an operation name, then the
 * fragment checks of inlineSelectionSet (GraphQL/Execute/Inline.hs): the one operation, or the
 * error upstream reports for the document.
 */
export function singleOperation(doc: DocumentNode): { op: OperationDefinitionNode; fragments: Map<string, FragmentDefinitionNode> } | { error: string } {
  const ops = doc.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  if (ops.length !== 1) return { error: 'exactly one operation has to be present in the document when operationName is not specified' };
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of doc.definitions) {
    if (d.kind !== Kind.FRAGMENT_DEFINITION) continue;
    if (fragments.has(d.name.value)) return { error: `multiple definitions for fragment "${d.name.value}"` };
    fragments.set(d.name.value, d);
  }
  // Inline.hs: a spread of an undefined fragment, or spreads forming a cycle, fail the document.
  const visit = (set: SelectionSetNode, stack: string[]): string | undefined => {
    for (const s of set.selections) {
      if (s.kind === Kind.FRAGMENT_SPREAD) {
        const name = s.name.value;
        const at = stack.indexOf(name);
        if (at >= 0) return `the fragment definition(s) ${englishList([name, ...stack.slice(0, at).reverse()])} form a cycle`;
        const def = fragments.get(name);
        if (!def) return `reference to undefined fragment "${name}"`;
        const err = visit(def.selectionSet, [name, ...stack]);
        if (err) return err;
      } else if (s.selectionSet) {
        const err = visit(s.selectionSet, stack);
        if (err) return err;
      }
    }
    return undefined;
  };
  const err = visit(ops[0]!.selectionSet, []);
  return err ? { error: err } : { op: ops[0]!, fragments };
}

/** A field's type as upstream's analysis compares it (modifiers included). */
type FieldInfo = { type: string; kind: 'scalar' | 'enum' | 'object'; selection?: Map<string, FieldInfo> };

/**
 * analyzeGraphQLQuery's errors (Analyse.hs `diagnoseGraphQLQuery`), rendered as upstream's `render`:
 * `<path>: <diagnosis>`, the path `$` then field (alias-less) names.
 */
export function diagnoseOperation(schema: GraphQLSchema, op: OperationDefinitionNode, fragments: Map<string, FragmentDefinitionNode>): string[] {
  const errors: string[] = [];
  const record = (path: string[], msg: string) => errors.push(`${path.join('.')}: ${msg}`);
  /** withCatchAndRecord: a failing branch is recorded and yields nothing. */
  const attempt = <T>(path: string[], fn: () => T): T | undefined => {
    try {
      return fn();
    } catch (err) {
      if (!(err instanceof Diagnosis)) throw err;
      record(path, err.message);
      return undefined;
    }
  };
  const lookup = (name: string): GraphQLNamedType | undefined => schema.getType(name) ?? undefined;

  // Types print in GraphQL notation (`[t!]!`) where upstream prints Haskell's `show` of its GType.
  const mergeFields = (name: string, a: FieldInfo, b: FieldInfo): FieldInfo => {
    if (a.kind !== b.kind || a.type !== b.type) {
      throw new Diagnosis(`field '${name}' seen with two different types: ${a.type} and ${b.type}`);
    }
    if (a.kind !== 'object') return a;
    const merged = new Map(a.selection);
    for (const [k, v] of b.selection ?? []) {
      const prev = merged.get(k);
      merged.set(k, prev ? mergeFields(k, prev, v) : v);
    }
    return { ...a, selection: merged };
  };

  const objectSelection = (obj: GraphQLObjectType, set: SelectionSetNode, path: string[]): Map<string, FieldInfo> => {
    const isRoot = (Object.values(ROOTS) as string[]).includes(obj.name);
    const found: Array<[string, FieldInfo]> = [];
    const selection = (s: SelectionSetNode['selections'][number]): void => {
      if (s.kind === Kind.INLINE_FRAGMENT) {
        // Upstream analyses an inline fragment's selections against the enclosing object.
        for (const x of s.selectionSet.selections) selection(x);
        return;
      }
      if (s.kind === Kind.FRAGMENT_SPREAD) {
        // getSingleOperation inlined spreads before the analysis: the same as an inline fragment.
        for (const x of fragments.get(s.name.value)?.selectionSet.selections ?? []) selection(x);
        return;
      }
      const fieldPath = [...path, s.name.value];
      const info = attempt(fieldPath, () => {
        const name = s.name.value;
        // Reserved fields upstream allows without a definition (`systemFields`).
        let typeNode: { type: string; named: string } | undefined;
        if (name === '__typename') typeNode = { type: 'String!', named: 'String' };
        else if (isRoot && name === '__schema') typeNode = { type: '__Schema!', named: '__Schema' };
        else if (isRoot && name === '__type') typeNode = { type: '__Type!', named: '__Type' };
        else {
          const def = obj.getFields()[name];
          if (!def) throw new Diagnosis(`field '${name}' not found in object '${obj.name}'`);
          typeNode = { type: String(def.type), named: getNamedType(def.type).name };
        }
        const t = lookup(typeNode.named);
        if (!t) throw new Diagnosis(`type '${typeNode.named}' not found in the schema`);
        if (isInputObjectType(t)) throw new Diagnosis(`input object '${t.name}' cannot be used for output`);
        if (isScalarType(t) || isEnumType(t)) {
          if (s.selectionSet) throw new Diagnosis(`${isScalarType(t) ? 'scalar' : 'enum'} '${t.name}' does not accept a selection set`);
          return { type: typeNode.type, kind: isScalarType(t) ? 'scalar' : 'enum' } as FieldInfo;
        }
        // Unions and interfaces are not analysed upstream ("TODO: implement").
        if (isUnionType(t) || isInterfaceType(t) || !isObjectType(t)) return undefined;
        if (!s.selectionSet) throw new Diagnosis(`object of type '${t.name}' must have a selection set`);
        return { type: typeNode.type, kind: 'object', selection: objectSelection(t, s.selectionSet, fieldPath) } as FieldInfo;
      });
      if (info) found.push([s.alias?.value ?? s.name.value, info]);
    };
    for (const s of set.selections) selection(s);
    // HashMap.unionWithM mergeFields: a key selected twice must agree with itself.
    const out = new Map<string, FieldInfo>();
    for (const [k, v] of found) {
      const prev = out.get(k);
      out.set(k, prev ? mergeFields(k, prev, v) : v);
    }
    return out;
  };

  attempt(['$'], () => {
    const rootName = ROOTS[op.operation];
    const root = lookup(rootName);
    if (!root) throw new Diagnosis(`type '${rootName}' not found in the schema`);
    if (!isObjectType(root)) throw new Diagnosis('the root type is not an object');
    return objectSelection(root, op.selectionSet, ['$']);
  });

  // analyzeVariables: each variable's type must exist and be an input type (input objects' fields
  // are graphql-js types of the same schema, so they resolve by construction).
  const baseName = (t: TypeNode): string => (t.kind === Kind.NAMED_TYPE ? t.name.value : baseName(t.type));
  for (const v of op.variableDefinitions ?? []) {
    attempt(['$', v.variable.name.value], () => {
      const name = baseName(v.type);
      const t = lookup(name);
      if (!t) throw new Diagnosis(`type '${name}' not found in the schema`);
      if (isObjectType(t)) throw new Diagnosis(`object '${name}' cannot be used in an input type`);
      if (isInterfaceType(t)) throw new Diagnosis(`interface '${name}' cannot be used in an input type`);
      if (isUnionType(t)) throw new Diagnosis(`union '${name}' cannot be used in an input type`);
    });
  }
  return errors;
}

/** The analysis of a query text: upstream's messages, [] when it fits the schema. */
export function diagnoseQuery(schema: GraphQLSchema, query: string): string[] {
  let doc: DocumentNode;
  try {
    doc = parse(query);
  } catch (err) {
    // create_query_collection refuses such text; a hand-edited metadata file may still hold one.
    return [(err as Error).message];
  }
  const single = singleOperation(doc);
  if ('error' in single) return [single.error];
  return diagnoseOperation(schema, single.op, single.fragments);
}

const dquoteList = (xs: string[]) => xs.map((x) => `"${x}"`).join(', ');

/**
 * getInconsistentQueryCollections: one inconsistent object per collection query the admin schema
 * does not admit. `endpoints` are the REST endpoints by name with their query text, `allowlist`
 * the inlined global allow-list (normalised documents).
 */
export function inconsistentQueryCollections(
  md: Metadata,
  adminSchema: GraphQLSchema,
  endpoints: Array<{ name: string; query: string }>,
  allowlist: InlinedAllowlist,
): InconsistentObject[] {
  const out: InconsistentObject[] = [];
  for (const c of collectionsOf(md).values()) {
    for (const q of c.definition?.queries ?? []) {
      if (!q || typeof q.query !== 'string') continue;
      const errors = diagnoseQuery(adminSchema, q.query);
      if (errors.length === 0) continue;
      // formatError: errors and endpoint names come out reversed (`dquoteList . reverse`).
      let reason = `Inconsistent object: In query collection "${c.name}" the query "${q.name}" is invalid with the following error(s): ${dquoteList([...errors].reverse())}`;
      // inRESTEndpoints compares the endpoint's query with this one (by text, as GQLQueryWithText's Eq).
      const using = endpoints.filter((e) => e.query === q.query).map((e) => e.name);
      if (using.length) reason += `. This query is being used in the following REST endpoint(s): ${dquoteList([...using].reverse())}`;
      // inAllowList compares the allow-list's normalised documents with the query as written.
      let raw: string | undefined;
      try { raw = print(parse(q.query)); } catch { raw = undefined; }
      if (raw !== undefined && allowlist.global.has(raw)) reason += '. This query is in allowlist.';
      out.push({ definition: { name: q.name, query: q.query }, name: `query_collections ${q.name} in ${c.name}`, reason, type: 'query_collections' });
    }
  }
  return out;
}

/**
 * The collection queries `md` makes inconsistent on the database state `db` sees (a transaction
 * whose DDL has not committed yet): the admin schema built from that state, as the engine would
 * build it on reload. [] when there are no collections, or when that schema cannot be built (the
 * reload reports what breaks it).
 */
export async function brokenCollectionQueries(db: Queryable, md: Metadata): Promise<InconsistentObject[]> {
  if (collectionsOf(md).size === 0) return [];
  let schema: GraphQLSchema;
  try {
    schema = buildRoleSchema(await rqlModel(db, md), null, false);
  } catch {
    return [];
  }
  const endpoints = resolveEndpoints(md).all.map((e) => ({ name: e.meta.name, query: e.query }));
  return inconsistentQueryCollections(md, schema, endpoints, inlineAllowlist(md));
}

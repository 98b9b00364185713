/**
 * RESTified endpoints (docs/docs/restified/overview.mdx; docs/docs/api-reference/metadata-api/
 * restified-endpoints.mdx): `rest_endpoints` metadata resolved against the query collections as
 * Hasura's schema cache does (RQL/DDL/Schema/Cache.hs `buildRESTEndpoints`/`resolveEndpoint`,
 * the `DuplicateRestVariables`, `InvalidRestSegments` and `AmbiguousRestEndpoints`
 * inconsistencies), and matched per request as RQL/Types/Endpoint/Trie.hs `matchPath` does.
 * Messages are upstream's, as server/tests-py/queries/endpoints/*.yaml check them.
 * Collection queries are checked against the admin schema at each metadata change as upstream's
 * `getInconsistentQueryCollections` does in ../allowlist/validate.ts (docs/engine-serving.md); an
 * endpoint whose query is inconsistent stays routed, as upstream keeps it in its trie.
 */
import { Kind, parse, type DocumentNode, type OperationDefinitionNode } from 'graphql';
import type { Metadata } from '../contract.ts';
import type { InconsistentObject } from '../schema/model.ts';
import { collectionsOf } from '../allowlist/allowlist.ts';

export const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
export type Method = (typeof METHODS)[number];

/** An endpoint as stored in metadata (`rest_endpoints.yaml`). */
export interface EndpointMetadata {
  name: string;
  url: string;
  methods: Method[];
  definition: { query: { collection_name: string; query_name: string } };
  comment?: string | null;
}

/** An endpoint whose query was found: what a request runs. */
export interface ResolvedEndpoint {
  meta: EndpointMetadata;
  /** URL split on `/`; `:name` segments are variables. */
  segments: string[];
  query: string;
  doc: DocumentNode;
  op: OperationDefinitionNode;
}

const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

export function endpointsOf(md: Metadata): EndpointMetadata[] {
  return asArray(md.rest_endpoints).filter((e): e is EndpointMetadata => !!e && typeof (e as EndpointMetadata).name === 'string');
}

/** The endpoint as upstream's `toJSON (EndpointMetadata …)` prints it in inconsistencies. */
function endpointJson(e: EndpointMetadata, definition: unknown = e.definition): Record<string, unknown> {
  return { definition, url: e.url, methods: e.methods, name: e.name, comment: e.comment ?? null };
}

/** A JSON object whose `name` (for dedup in MetadataService) is not part of its JSON, as upstream's ambiguity report has none. */
function unnamed(obj: Record<string, unknown>, name: string): InconsistentObject {
  Object.defineProperty(obj, 'name', { value: name, enumerable: false });
  return obj as unknown as InconsistentObject;
}

const variablesOf = (segments: string[]) => segments.filter((s) => s.startsWith(':')).map((s) => s.slice(1));

/** Two endpoints both answer some request: same length, every segment pair compatible, a method in common. */
function ambiguous(a: ResolvedEndpoint, b: ResolvedEndpoint): boolean {
  if (a.segments.length !== b.segments.length) return false;
  if (!a.meta.methods.some((m) => b.meta.methods.includes(m))) return false;
  return a.segments.every((s, i) => s === b.segments[i] || s.startsWith(':') || b.segments[i]!.startsWith(':'));
}

export interface Endpoints {
  all: ResolvedEndpoint[];
  inconsistent: InconsistentObject[];
}

export function resolveEndpoints(md: Metadata): Endpoints {
  const collections = collectionsOf(md);
  const inconsistent: InconsistentObject[] = [];
  const resolved: ResolvedEndpoint[] = [];
  const report = (e: EndpointMetadata, reason: string) =>
    inconsistent.push({ definition: endpointJson(e), reason, name: `rest_endpoint ${e.name}`, type: 'rest_endpoint' });
  for (const e of endpointsOf(md)) {
    const segments = String(e.url).split('/');
    // Upstream checks these on every endpoint (they are not dropped from the trie, only reported).
    if (segments.some((s) => s === '' || s === ':')) report(e, `Empty segments or unnamed variables are not allowed: ${e.url}`);
    const vars = variablesOf(segments);
    if (new Set(vars).size !== vars.length) report(e, `Duplicate variables found in endpoint path: ${e.url}`);
    const ref = e.definition?.query;
    const fail = (msg: string) => report(e, `Inconsistent object: in endpoint ${e.name}: ${msg}`);
    const coll = ref && collections.get(ref.collection_name);
    if (!coll) {
      fail(`collection with name ${ref?.collection_name} does not exist`);
      continue;
    }
    const listed = coll.definition?.queries?.find((q) => q.name === ref.query_name);
    if (!listed) {
      fail(`query with name ${ref.query_name} does not exist in collection ${ref.collection_name}`);
      continue;
    }
    let doc: DocumentNode;
    try {
      doc = parse(listed.query);
    } catch (err) {
      fail(`query with name ${ref.query_name} does not parse: ${(err as Error).message}`);
      continue;
    }
    const defs = doc.definitions;
    if (defs.length === 0) { fail(`query with name ${ref.query_name} has no definitions.`); continue; }
    if (defs.length > 1 || defs[0]!.kind !== Kind.OPERATION_DEFINITION) { fail(`query with name ${ref.query_name} has multiple definitions.`); continue; }
    const op = defs[0] as OperationDefinitionNode;
    if (op.operation === 'subscription') { fail(`query with name ${ref.query_name} is a subscription`); continue; }
    resolved.push({ meta: e, segments, query: listed.query, doc, op });
  }
  // AmbiguousRestEndpoints: one report per maximal group of endpoints that overlap one member.
  const groups: ResolvedEndpoint[][] = [];
  for (const a of resolved) {
    const group = resolved.filter((b) => b === a || ambiguous(a, b));
    if (group.length > 1) groups.push(group);
  }
  const maximal = groups.filter((g, i) => !groups.some((h, j) => j !== i && h.length >= g.length && g.every((x) => h.includes(x)) && (h.length > g.length || j < i)));
  for (const g of maximal) {
    const sorted = [...g].sort((x, y) => (x.meta.url < y.meta.url ? -1 : x.meta.url > y.meta.url ? 1 : 0));
    const reason = `Ambiguous URL paths: ${sorted.map((x) => x.meta.url).join(', ')}`;
    inconsistent.push(unnamed({ reason, conflicts: sorted.map((x) => endpointJson(x.meta, { query: x.query })) }, `ambiguous ${sorted.map((x) => x.meta.name).join(',')}`));
  }
  return { all: resolved, inconsistent };
}

export type Match =
  | { kind: 'found'; endpoint: ResolvedEndpoint; params: Array<[string, string]> }
  | { kind: 'not-found' }
  | { kind: 'method'; allowed: Method[] }
  | { kind: 'ambiguous' };

/** upstream `matchPath`: literal and variable segments, then the method. */
export function matchEndpoint(all: ResolvedEndpoint[], method: string, path: string[]): Match {
  const byPath = all.filter((e) => e.segments.length === path.length && e.segments.every((s, i) => s.startsWith(':') || s === path[i]));
  if (byPath.length === 0) return { kind: 'not-found' };
  const byMethod = byPath.filter((e) => (e.meta.methods as string[]).includes(method));
  if (byMethod.length === 0) return { kind: 'method', allowed: [...new Set(byPath.flatMap((e) => e.meta.methods))] };
  if (byMethod.length > 1) return { kind: 'ambiguous' };
  const endpoint = byMethod[0]!;
  const params: Array<[string, string]> = [];
  endpoint.segments.forEach((s, i) => { if (s.startsWith(':')) params.push([s.slice(1), path[i]!]); });
  return { kind: 'found', endpoint, params };
}

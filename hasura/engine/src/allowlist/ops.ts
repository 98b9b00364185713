/**
 * Query collections and the allow-list as metadata operations (docs/docs/api-reference/
 * metadata-api/query-collections.mdx; upstream RQL/DDL/QueryCollection.hs and
 * RQL/Types/Allowlist.hs for the argument parsing, messages and paths, which
 * server/tests-py/test_allowlist_queries.py checks). Pure edits of the metadata JSON, like ops.ts.
 */
import { parse } from 'graphql';
import type { Metadata } from '../contract.ts';
import { alreadyExists, badRequest, notExists } from '../errors.ts';
import type { Args, MetadataOp } from '../admin/ops.ts';
import type { AllowlistEntry, AllowlistScope, CollectionQuery, QueryCollection } from './allowlist.ts';

const collections = (m: Metadata): QueryCollection[] => (Array.isArray(m.query_collections) ? (m.query_collections as QueryCollection[]) : []);
const allowlist = (m: Metadata): AllowlistEntry[] => (Array.isArray(m.allowlist) ? (m.allowlist as AllowlistEntry[]) : []);
/** Empty lists leave the export, as Hasura's does. */
function setList(m: Metadata, key: 'query_collections' | 'allowlist', list: unknown[]): void {
  if (list.length) m[key] = list;
  else delete m[key];
}

function requiredString(args: Args, key: string, path = '$.args'): string {
  const v = args[key];
  if (v === undefined || v === null) throw badRequest('parse-failed', `key "${key}" not found`, path);
  if (typeof v !== 'string') throw badRequest('parse-failed', `parsing Text failed, expected String, but encountered ${Array.isArray(v) ? 'Array' : typeof v === 'object' ? 'Object' : typeof v === 'number' ? 'Number' : 'Boolean'}`, `${path}.${key}`);
  return v;
}

/** A listed query's text must parse as a GraphQL document (GQLQueryWithText's FromJSON). */
function listedQuery(v: unknown, path: string): CollectionQuery {
  const o = (v && typeof v === 'object' ? v : {}) as Args;
  const name = requiredString(o, 'name', path);
  const query = requiredString(o, 'query', path);
  try {
    parse(query);
  } catch (err) {
    throw badRequest('parse-failed', (err as Error).message.replace(/^Syntax Error: /, ''), `${path}.query`);
  }
  return { name, query };
}

function getCollection(m: Metadata, name: string, path = '$.args'): QueryCollection {
  const c = collections(m).find((x) => x.name === name);
  if (!c) throw notExists(`query collection with name "${name}" does not exist`).at(path);
  return c;
}

const createQueryCollection: MetadataOp = (m, args) => {
  const name = requiredString(args, 'name');
  if (collections(m).some((c) => c.name === name)) throw alreadyExists(`query collection with name "${name}" already exists`).at('$.args.name');
  const def = (args.definition && typeof args.definition === 'object' ? args.definition : {}) as Args;
  const queries = (Array.isArray(def.queries) ? def.queries : []).map((q, i) => listedQuery(q, `$.args.definition.queries[${i}]`));
  // addCollectionP2: duplicate query names are refused.
  const seen = new Set<string>();
  const dups = new Set<string>();
  for (const q of queries) (seen.has(q.name) ? dups : seen).add(q.name);
  if (dups.size) throw badRequest('not-supported', `found duplicate query names ${[...dups].map((d) => `"${d}"`).join(', ')}`, '$.args.definition.queries');
  const entry: QueryCollection = { name, definition: { queries } };
  if (typeof args.comment === 'string') entry.comment = args.comment;
  setList(m, 'query_collections', [...collections(m), entry]);
};

const renameQueryCollection: MetadataOp = (m, args) => {
  const name = requiredString(args, 'name');
  const newName = requiredString(args, 'new_name');
  const c = getCollection(m, name);
  if (collections(m).some((x) => x.name === newName)) throw alreadyExists(`query collection with name "${newName}" already exists`).at('$.args.new_name');
  c.name = newName;
  // Upstream renames the collection only; allow-list entries and endpoints naming the old name
  // then point nowhere and are reported inconsistent, as there.
};

const dropQueryCollection: MetadataOp = (m, args) => {
  const name = requiredString(args, 'collection');
  getCollection(m, name, '$.args.collection');
  if (allowlist(m).some((e) => e.collection === name)) {
    if (args.cascade !== true) {
      throw badRequest(
        'dependency-error',
        `query collection with name "${name}" is present in the allowlist; cannot proceed to drop. please use cascade to confirm you wish to drop it from the allowlist as well`,
        '$.args.collection',
      );
    }
    setList(m, 'allowlist', allowlist(m).filter((e) => e.collection !== name));
  }
  setList(m, 'query_collections', collections(m).filter((c) => c.name !== name));
};

const addQueryToCollection: MetadataOp = (m, args) => {
  const collName = requiredString(args, 'collection_name');
  const queryName = requiredString(args, 'query_name');
  const q = listedQuery({ name: queryName, query: args.query }, '$.args');
  const c = getCollection(m, collName);
  if (c.definition.queries.some((x) => x.name === queryName)) throw alreadyExists(`query with name "${queryName}" already exists in collection "${collName}"`);
  c.definition.queries = [...c.definition.queries, q];
};

const dropQueryFromCollection: MetadataOp = (m, args) => {
  const collName = requiredString(args, 'collection_name');
  const queryName = requiredString(args, 'query_name');
  const c = getCollection(m, collName);
  if (!c.definition.queries.some((x) => x.name === queryName)) throw badRequest('not-found', `query with name "${queryName}" not found in collection "${collName}"`);
  c.definition.queries = c.definition.queries.filter((x) => x.name !== queryName);
};

/** AllowlistScope's FromJSON, its messages and paths. */
function parseScope(v: unknown): AllowlistScope {
  const path = '$.args.scope';
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw badRequest('parse-failed', 'expected Object for AllowlistScope', path);
  const o = v as Args;
  if (!('global' in o)) throw badRequest('parse-failed', 'key "global" not found', path);
  if (typeof o.global !== 'boolean') throw badRequest('parse-failed', 'parsing Bool failed, expected Boolean', `${path}.global`);
  if (o.global) {
    if (o.roles !== undefined && o.roles !== null) throw badRequest('parse-failed', 'roles are not allowed when global is true', path);
    return { global: true };
  }
  if (o.roles === undefined || o.roles === null) throw badRequest('parse-failed', 'key "roles" not found', path);
  if (!Array.isArray(o.roles) || o.roles.some((r) => typeof r !== 'string' || r === '')) throw badRequest('parse-failed', 'expected a list of role names', `${path}.roles`);
  if (o.roles.length === 0) throw badRequest('parse-failed', 'parsing NonEmpty failed, unexpected empty list', `${path}.roles`);
  if (new Set(o.roles).size !== o.roles.length) throw badRequest('parse-failed', 'duplicate roles are not allowed', path);
  return { global: false, roles: o.roles as string[] };
}

const addCollectionToAllowlist: MetadataOp = (m, args) => {
  const collection = requiredString(args, 'collection');
  const scope = args.scope === undefined || args.scope === null ? ({ global: true } as const) : parseScope(args.scope);
  getCollection(m, collection, '$.args.collection');
  // metadataAllowlistInsert: re-adding succeeds with a message and changes nothing.
  if (allowlist(m).some((e) => e.collection === collection)) {
    return { message: `collection "${collection}" already exists in the allowlist, scope ignored; to change scope, use update_scope_of_collection_in_allowlist` };
  }
  setList(m, 'allowlist', [...allowlist(m), { collection, scope }]);
  return undefined;
};

const dropCollectionFromAllowlist: MetadataOp = (m, args) => {
  if (args.collection === undefined || args.collection === null) {
    throw badRequest('parse-failed', 'parsing Hasura.RQL.Types.Allowlist.DropCollectionFromAllowlist(DropCollectionFromAllowlist) failed, key "collection" not found');
  }
  const collection = requiredString(args, 'collection');
  getCollection(m, collection, '$.args.collection');
  if (!allowlist(m).some((e) => e.collection === collection)) throw badRequest('not-found', `collection "${collection}" doesn't exist in the allowlist`);
  setList(m, 'allowlist', allowlist(m).filter((e) => e.collection !== collection));
};

const updateScopeOfCollectionInAllowlist: MetadataOp = (m, args) => {
  const collection = requiredString(args, 'collection');
  if (args.scope === undefined || args.scope === null) throw badRequest('parse-failed', 'key "scope" not found');
  const scope = parseScope(args.scope);
  getCollection(m, collection, '$.args.collection');
  const entry = allowlist(m).find((e) => e.collection === collection);
  if (!entry) throw badRequest('not-found', `collection "${collection}" doesn't exist in the allowlist`);
  entry.scope = scope;
};

/**
 * replace_metadata's parse of `allowlist` (Metadata.hs: an InsOrdHashMap keyed by collection):
 * an entry per collection at most.
 */
export function checkAllowlistEntries(m: Metadata, path: string): void {
  const seen = new Set<string>();
  const dups = new Set<string>();
  for (const e of allowlist(m)) (seen.has(e.collection) ? dups : seen).add(e.collection);
  if (dups.size) throw badRequest('parse-failed', `multiple declarations exist for the following allowlist entries: ${[...dups].join(', ')}`, path);
}

export const allowlistOps: Record<string, MetadataOp> = {
  create_query_collection: createQueryCollection,
  rename_query_collection: renameQueryCollection,
  drop_query_collection: dropQueryCollection,
  add_query_to_collection: addQueryToCollection,
  drop_query_from_collection: dropQueryFromCollection,
  add_collection_to_allowlist: addCollectionToAllowlist,
  drop_collection_from_allowlist: dropCollectionFromAllowlist,
  update_scope_of_collection_in_allowlist: updateScopeOfCollectionInAllowlist,
};

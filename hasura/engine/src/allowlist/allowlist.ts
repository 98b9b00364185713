/**
 * The allow-list (HASURA_GRAPHQL_ENABLE_ALLOWLIST; docs/docs/security/allow-list.mdx): with it on,
 * an operation of any role but `admin` runs only when its document is one of the queries of a
 * query collection on the allow-list. Reproduces upstream's RQL/Types/Allowlist.hs:
 *   - `normalizeQuery`: `__typename` fields are stripped (recursively through fields, not through
 *     inline fragments or fragment spreads, exactly as upstream's `filterSel`) before comparing;
 *   - `inlineAllowlist`: one set for the global entries, one per role for role-scoped ones;
 *   - `allowlistAllowsQuery`: Hasura CE runs `AllowlistModeGlobalOnly` (App.hs
 *     `checkGQLExecution`), so role-scoped entries are kept in metadata but ignored; EE/Cloud run
 *     `AllowlistModeFull` (global ∪ the role's). ENGINE_ALLOWLIST_MODE picks, CE by default.
 * The refusal is Execute.hs `checkQueryInAllowlist`: 400 validation-failed "query is not allowed",
 * internal `{"message": "query is not in any of the allowlists"}`.
 * Upstream compares parsed documents structurally; we compare graphql-js's canonical print of the
 * stripped document, which is the same equivalence (layout, commas and comments do not count)
 * except that `query { x }` and `{ x }` print alike where upstream tells them apart.
 */
import { Kind, parse, print, visit, type DocumentNode, type FieldNode, type SelectionSetNode } from 'graphql';
import { QErr } from '../errors.ts';
import type { Metadata, Session } from '../contract.ts';

export type AllowlistMode = 'off' | 'global' | 'full';

export interface CollectionQuery { name: string; query: string }
export interface QueryCollection { name: string; comment?: string | null; definition: { queries: CollectionQuery[] } }
export type AllowlistScope = { global: true } | { global: false; roles: string[] };
export interface AllowlistEntry { collection: string; scope?: AllowlistScope }

/** upstream `normalizeQuery`: the document with `__typename` fields removed from field selection sets. */
export function normalizeDocument(doc: DocumentNode): string {
  const strip = (set: SelectionSetNode): SelectionSetNode => ({
    ...set,
    selections: set.selections
      .filter((s) => !(s.kind === Kind.FIELD && s.name.value === '__typename'))
      .map((s) => (s.kind === Kind.FIELD && s.selectionSet ? ({ ...s, selectionSet: strip(s.selectionSet) } as FieldNode) : s)),
  });
  const out = visit(doc, {
    OperationDefinition: (node) => ({ ...node, selectionSet: strip(node.selectionSet) }),
    FragmentDefinition: (node) => ({ ...node, selectionSet: strip(node.selectionSet) }),
  });
  return print(out);
}

export interface InlinedAllowlist {
  global: Set<string>;
  perRole: Map<string, Set<string>>;
}

const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** Collections by name from the metadata's `query_collections` (unparseable queries are left out). */
export function collectionsOf(md: Metadata): Map<string, QueryCollection> {
  const out = new Map<string, QueryCollection>();
  for (const c of asArray(md.query_collections) as QueryCollection[]) if (c && typeof c.name === 'string') out.set(c.name, c);
  return out;
}

/** upstream `inlineAllowlist`. */
export function inlineAllowlist(md: Metadata): InlinedAllowlist {
  const collections = collectionsOf(md);
  const queriesOf = (name: string): string[] => {
    const out: string[] = [];
    for (const q of collections.get(name)?.definition?.queries ?? []) {
      try {
        out.push(normalizeDocument(parse(q.query)));
      } catch {
        // create_query_collection refused it; a hand-edited file's bad query allows nothing.
      }
    }
    return out;
  };
  const global = new Set<string>();
  const perRole = new Map<string, Set<string>>();
  for (const e of asArray(md.allowlist) as AllowlistEntry[]) {
    if (!e || typeof e.collection !== 'string') continue;
    const qs = queriesOf(e.collection);
    if (!e.scope || e.scope.global !== false) {
      for (const q of qs) global.add(q);
      continue;
    }
    for (const role of e.scope.roles ?? []) {
      let set = perRole.get(role);
      if (!set) perRole.set(role, (set = new Set()));
      for (const q of qs) set.add(q);
    }
  }
  return { global, perRole };
}

/** Normalised documents already seen (clients repeat the same few; bounded). */
const normalized = new WeakMap<DocumentNode, string>();

/** upstream `checkQueryInAllowlist`: throws Hasura's refusal when `doc` may not run for `session`. */
export function checkAllowlist(mode: AllowlistMode, list: InlinedAllowlist, doc: DocumentNode, session: Session): void {
  // "only for non-admin roles" — the role, not the credential: the admin secret with
  // x-hasura-role: user is checked like any user.
  if (mode === 'off' || session.role === 'admin') return;
  let key = normalized.get(doc);
  if (key === undefined) normalized.set(doc, (key = normalizeDocument(doc)));
  if (list.global.has(key)) return;
  if (mode === 'full' && list.perRole.get(session.role)?.has(key)) return;
  throw new QErr('validation-failed', 'query is not allowed', '$', { message: 'query is not in any of the allowlists' });
}

/**
 * The size of an operation AFTER fragment expansion, computed WITHOUT expanding (issue 11):
 * depth (field nesting), nodes (fields, `__typename` included) and aliases. Each reachable
 * fragment is measured once, its children first (post-order of the fragment graph), so
 * 26 fragments each spreading the next twice — 2^26 fields once inlined — cost 26 small walks and
 * come out as the number 2^26, refused by the limit check, never built.
 *
 * The fragment graph is walked with an explicit stack, so a cycle (`A → B → A`, refused by the
 * spec's NoFragmentCycles rule and by Hasura's inliner, GraphQL/Execute/Inline.hs) is reported
 * here, before anything recurses on it. `@skip`/`@include` are ignored: the count is an upper
 * bound, which is what a guard wants.
 */
import { Kind, type DocumentNode, type FragmentDefinitionNode, type OperationDefinitionNode, type SelectionSetNode } from 'graphql';
import { validationFailed } from '../errors.ts';

export interface Shape {
  depth: number;
  nodes: number;
  aliases: number;
}

/**
 * Field nesting past this is refused whatever the configured depth limit (0 = none): it bounds
 * the recursion of this walk and of the resolver behind it.
 */
export const HARD_MAX_DEPTH = 1000;

/** Fragment names spread anywhere inside `set` (nested fields included), without recursion. */
function spreadsOf(set: SelectionSetNode): string[] {
  const out: string[] = [];
  const stack: SelectionSetNode[] = [set];
  for (let s = stack.pop(); s; s = stack.pop()) {
    for (const sel of s.selections) {
      if (sel.kind === Kind.FRAGMENT_SPREAD) out.push(sel.name.value);
      else if (sel.selectionSet) stack.push(sel.selectionSet);
    }
  }
  return out;
}

/** The cycle message of the resolver (validation/resolve.ts), so both paths answer alike. */
function cycleError(names: string[]): Error {
  const list = names.length === 1 ? names[0]! : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]!}`;
  return validationFailed('$', `the fragment definition(s) ${list} form a cycle`);
}

/**
 * The first fragment cycle in the resolver's order (validation/resolve.ts: fields grouped by
 * response key level by level, fragments spread in place, paths `$.selectionSet.<key>.selectionSet`
 * and `.<fragment>.selectionSet`), with the path where it closes. Bounded: a document that takes
 * more than `budget` steps to reach it gets undefined (the caller then reports it at `$`).
 */
function resolverCycle(op: OperationDefinitionNode, fragments: Map<string, FragmentDefinitionNode>, budget = 20_000): { path: string; names: string[] } | undefined {
  let steps = 0;
  type Group = { sets: SelectionSetNode[]; path: string; stack: string[] };
  const walk = (sets: SelectionSetNode[], path: string, stack: string[], depth = 0): { path: string; names: string[] } | undefined => {
    if (depth > HARD_MAX_DEPTH) return undefined;
    const groups = new Map<string, Group>();
    const collect = (set: SelectionSetNode, at: string, st: string[]): { path: string; names: string[] } | undefined => {
      for (const sel of set.selections) {
        if (++steps > budget) return undefined;
        if (sel.kind === Kind.FIELD) {
          const key = sel.alias?.value ?? sel.name.value;
          const g = groups.get(key) ?? { sets: [], path: `${at}.${key}`, stack: st };
          if (sel.selectionSet) g.sets.push(sel.selectionSet);
          groups.set(key, g);
        } else if (sel.kind === Kind.INLINE_FRAGMENT) {
          const r = collect(sel.selectionSet, at, st);
          if (r) return r;
        } else {
          const name = sel.name.value;
          const i = st.indexOf(name);
          if (i >= 0) return { path: at, names: st.slice(i) };
          const frag = fragments.get(name);
          if (!frag || st.length > HARD_MAX_DEPTH) continue;
          const r = collect(frag.selectionSet, `${at}.${name}.selectionSet`, [...st, name]);
          if (r) return r;
        }
      }
      return undefined;
    };
    for (const set of sets) {
      const r = collect(set, `${path}.selectionSet`, stack);
      if (r) return r;
    }
    for (const g of groups.values()) {
      if (steps > budget) return undefined;
      if (g.sets.length === 0) continue;
      const r = walk(g.sets, g.path, g.stack, depth + 1);
      if (r) return r;
    }
    return undefined;
  };
  return walk([op.selectionSet], '$', []);
}

export function measureOperation(doc: DocumentNode, op: OperationDefinitionNode): Shape {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of doc.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION && !fragments.has(d.name.value)) fragments.set(d.name.value, d);

  // Post-order of the fragments reachable from the operation; 1 = on the DFS path, 2 = done.
  const state = new Map<string, 1 | 2>();
  const order: string[] = [];
  const path: Array<{ name: string; next: string[] }> = [];
  const enter = (name: string) => {
    const frag = fragments.get(name);
    state.set(name, 1);
    path.push({ name, next: frag ? spreadsOf(frag.selectionSet) : [] });
  };
  for (const root of spreadsOf(op.selectionSet)) {
    if (state.has(root)) continue;
    enter(root);
    while (path.length) {
      const top = path[path.length - 1]!;
      const child = top.next.pop();
      if (child === undefined) {
        state.set(top.name, 2);
        order.push(top.name);
        path.pop();
        continue;
      }
      const s = state.get(child);
      if (s === 1) {
        // Hasura reports the cycle its resolver meets first, at that selection set's path
        // (upstream graphql_query/basic/select_query_fragment_cycles.yaml); the DFS above only
        // proves there is one.
        const found = resolverCycle(op, fragments);
        if (found) throw validationFailed(found.path, cycleError(found.names).message);
        throw cycleError(path.slice(path.findIndex((p) => p.name === child)).map((p) => p.name));
      }
      if (s === undefined) enter(child);
    }
  }

  const memo = new Map<string, Shape>();
  const zero: Shape = { depth: 0, nodes: 0, aliases: 0 };
  const shapeOf = (set: SelectionSetNode, level: number): Shape => {
    if (level > HARD_MAX_DEPTH) throw validationFailed('$', `the query exceeds the maximum allowed depth of ${HARD_MAX_DEPTH}`);
    let depth = 0;
    let nodes = 0;
    let aliases = 0;
    for (const sel of set.selections) {
      let s: Shape;
      if (sel.kind === Kind.FIELD) {
        const sub = sel.selectionSet ? shapeOf(sel.selectionSet, level + 1) : zero;
        s = { depth: sub.depth + 1, nodes: sub.nodes + 1, aliases: sub.aliases + (sel.alias ? 1 : 0) };
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        s = shapeOf(sel.selectionSet, level);
      } else {
        // Unknown fragments measure as nothing; the resolver names them.
        s = memo.get(sel.name.value) ?? zero;
      }
      if (s.depth > depth) depth = s.depth;
      nodes += s.nodes;
      aliases += s.aliases;
    }
    return { depth, nodes, aliases };
  };
  for (const name of order) {
    const frag = fragments.get(name);
    memo.set(name, frag ? shapeOf(frag.selectionSet, 1) : zero);
  }
  return shapeOf(op.selectionSet, 1);
}

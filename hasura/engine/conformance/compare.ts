/**
 * Response comparison, a port of upstream's `validate.py` (`check_query`,
 * `assert_graphql_resp_expected`, `collapse_order_not_selset`; docs/research/hasura-v2.md §E.3, docs/hasura-suite.md):
 * objects reached through a field with a sub-selection compare with key order (walking `data`
 * along the first operation's selection set by field name); leaves, `errors` and the top-level
 * response compare without; if the walk fails (aliases ≠ names, fragments…) nothing is ordered.
 * Lists compare in order; numbers by value (and Python's `True == 1`).
 */
import { parse, type SelectionSetNode } from 'graphql';

export interface Difference {
  path: string;
  expected: unknown;
  actual: unknown;
  reason: string;
}

/** The objects (of `data`) whose key order matters, or undefined when the walk fails. */
export function orderedObjects(response: unknown, queryText: string | undefined): Set<object> | undefined {
  if (!queryText || !response || typeof response !== 'object') return undefined;
  const data = (response as { data?: unknown }).data;
  if (!data || typeof data !== 'object') return undefined;
  let sel: SelectionSetNode;
  try {
    const doc = parse(queryText);
    const first = doc.definitions[0];
    if (!first || first.kind !== 'OperationDefinition') return undefined;
    sel = first.selectionSet;
  } catch {
    return undefined;
  }
  const out = new Set<object>();
  const walk = (value: unknown, set: SelectionSetNode): void => {
    if (value === null) return;
    if (Array.isArray(value)) {
      for (const v of value) walk(v, set);
      return;
    }
    if (typeof value !== 'object') throw new Error('expected an object');
    out.add(value);
    for (const s of set.selections) {
      if (s.kind !== 'Field') throw new Error('fragments are not walked');
      const name = s.name.value;
      if (!(name in (value as Record<string, unknown>))) throw new Error(`no key ${name}`);
      if (s.selectionSet) walk((value as Record<string, unknown>)[name], s.selectionSet);
    }
  };
  try {
    walk(data, sel);
    return out;
  } catch {
    return undefined;
  }
}

function typeOf(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

/** First difference between expected and actual, or undefined when equal. */
export function diff(expected: unknown, actual: unknown, ordered: Set<object> | undefined, path = '$'): Difference | undefined {
  if (typeof expected === 'number' || typeof actual === 'number') {
    const e = typeof expected === 'boolean' ? Number(expected) : expected;
    const a = typeof actual === 'boolean' ? Number(actual) : actual;
    return e === a ? undefined : { path, expected, actual, reason: 'value' };
  }
  if (typeOf(expected) !== typeOf(actual)) return { path, expected, actual, reason: 'type' };
  if (Array.isArray(expected)) {
    const a = actual as unknown[];
    if (expected.length !== a.length) return { path, expected, actual, reason: `length ${expected.length} ≠ ${a.length}` };
    for (let i = 0; i < expected.length; i++) {
      const d = diff(expected[i], a[i], ordered, `${path}[${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  if (expected && typeof expected === 'object') {
    const e = expected as Record<string, unknown>;
    const a = actual as Record<string, unknown>;
    const ek = Object.keys(e);
    const ak = Object.keys(a);
    const missing = ek.filter((k) => !(k in a));
    const extra = ak.filter((k) => !(k in e));
    if (missing.length || extra.length) {
      return { path, expected, actual, reason: `keys: missing [${missing.join(', ')}] extra [${extra.join(', ')}]` };
    }
    for (const k of ek) {
      const d = diff(e[k], a[k], ordered, `${path}.${k}`);
      if (d) return d;
    }
    if (ordered?.has(expected) && ek.join('\0') !== ak.join('\0')) {
      return { path, expected: ek, actual: ak, reason: 'key order' };
    }
    return undefined;
  }
  return expected === actual ? undefined : { path, expected, actual, reason: 'value' };
}

const hasErrors = (v: unknown): boolean => {
  if (Array.isArray(v)) return v.some(hasErrors);
  return !!v && typeof v === 'object' && (!!(v as { errors?: unknown }).errors || !!(v as { error?: unknown }).error);
};

/** Compares a whole response body; `errorTextOnly` marks mismatches where both sides are errors. */
export function compareBody(expected: unknown, actual: unknown, queryText: string | undefined): { difference?: Difference; errorTextOnly: boolean } {
  // The walk is done on the expected response (its keys are the query's field names).
  const ordered = Array.isArray(expected) ? undefined : orderedObjects(expected, queryText);
  const difference = diff(expected, actual, ordered);
  if (!difference) return { errorTextOnly: false };
  return { difference, errorTextOnly: hasErrors(expected) && hasErrors(actual) };
}

/** `resp_headers` ⊆ actual headers (names case-insensitive, values exact). */
export function headersSubset(expected: Record<string, unknown> | undefined, actual: Record<string, string>): Difference | undefined {
  if (!expected) return undefined;
  for (const [k, v] of Object.entries(expected)) {
    const got = actual[k.toLowerCase()];
    if (got !== String(v)) return { path: `headers.${k}`, expected: v, actual: got, reason: 'header' };
  }
  return undefined;
}

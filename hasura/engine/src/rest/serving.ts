/**
 * What the engine serves from metadata besides the GraphQL schema, rebuilt with it on every
 * reload (Hasura keeps the same in its schema cache: `scAllowlist`, `scEndpoints`): the inlined
 * allow-list, the resolved REST endpoints, and — for @cached keys — which session variables
 * each role's permissions read.
 */
import type { Metadata } from '../contract.ts';
import type { InconsistentObject } from '../schema/model.ts';
import { inlineAllowlist, type InlinedAllowlist } from '../allowlist/allowlist.ts';
import { resolveEndpoints, type ResolvedEndpoint } from './endpoints.ts';

export interface Serving {
  allowlist: InlinedAllowlist;
  endpoints: ResolvedEndpoint[];
  inconsistent: InconsistentObject[];
  /** Lower-cased `x-hasura-*` names the role's permissions (any table, any kind) refer to. */
  sessionVarsOf(role: string): string[];
}

/** Every `x-hasura-*` string inside a permission definition (filters, checks, presets). */
function collectVars(v: unknown, out: Set<string>): void {
  if (typeof v === 'string') {
    if (/^x-hasura-/i.test(v)) out.add(v.toLowerCase());
  } else if (Array.isArray(v)) {
    for (const x of v) collectVars(x, out);
  } else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      // `set`/`column_presets` keys are columns; their values may be session variables.
      if (/^x-hasura-/i.test(k)) out.add(k.toLowerCase());
      collectVars(x, out);
    }
  }
}

export function buildServing(md: Metadata): Serving {
  const { all, inconsistent } = resolveEndpoints(md);
  const varsByRole = new Map<string, string[]>();
  return {
    allowlist: inlineAllowlist(md),
    endpoints: all,
    inconsistent,
    sessionVarsOf(role) {
      let vars = varsByRole.get(role);
      if (vars) return vars;
      const found = new Set<string>();
      for (const s of md.sources ?? []) {
        for (const t of s.tables ?? []) {
          for (const kind of ['select', 'insert', 'update', 'delete'] as const) {
            for (const p of t[`${kind}_permissions`] ?? []) if (p.role === role) collectVars(p.permission, found);
          }
        }
      }
      vars = [...found].sort();
      varsByRole.set(role, vars);
      return vars;
    },
  };
}

/**
 * What the engine serves from metadata besides the GraphQL schema, rebuilt with it on every
 * reload (Hasura keeps the same in its schema cache: `scAllowlist`, `scEndpoints`): the inlined
 * allow-list, the resolved REST endpoints, and — for @cached keys — which session variables
 * each role's permissions read.
 */
import type { GraphQLSchema } from 'graphql';
import type { Metadata } from '../contract.ts';
import type { InconsistentObject } from '../schema/model.ts';
import { inlineAllowlist, type InlinedAllowlist } from '../allowlist/allowlist.ts';
import { resolveEndpoints, type ResolvedEndpoint } from './endpoints.ts';
import { inconsistentQueryCollections } from '../allowlist/validate.ts';

export interface Serving {
  allowlist: InlinedAllowlist;
  endpoints: ResolvedEndpoint[];
  inconsistent: InconsistentObject[];
  /** Lower-cased `x-hasura-*` names the role's permissions (any table, any kind, its inherited roles' too) refer to; `['*']` = all. */
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

/**
 * `adminSchema`: the schema collection queries are checked against (allowlist/validate.ts), as
 * upstream checks them against its admin introspection; without one they are not checked.
 */
export function buildServing(md: Metadata, adminSchema?: GraphQLSchema): Serving {
  const { all, inconsistent } = resolveEndpoints(md);
  const allowlist = inlineAllowlist(md);
  if (adminSchema) {
    inconsistent.push(...inconsistentQueryCollections(md, adminSchema, all.map((e) => ({ name: e.meta.name, query: e.query })), allowlist));
  }
  const varsByRole = new Map<string, string[]>();
  const wholeSession = JSON.stringify(md).includes('"session_argument"');
  return {
    allowlist,
    endpoints: all,
    inconsistent,
    sessionVarsOf(role) {
      let vars = varsByRole.get(role);
      if (vars) return vars;
      // An inherited role's permissions are its constituents' (docs auth/authorization/inherited-roles):
      // their variables all count, through nested inherited roles too.
      const inherited = new Map<string, string[]>();
      for (const r of (Array.isArray(md.inherited_roles) ? md.inherited_roles : []) as Array<{ role_name?: unknown; role_set?: unknown }>) {
        if (typeof r.role_name === 'string' && Array.isArray(r.role_set)) inherited.set(r.role_name, r.role_set.filter((x): x is string => typeof x === 'string'));
      }
      const roles = new Set<string>();
      const expand = (r: string) => {
        if (roles.has(r)) return;
        roles.add(r);
        for (const c of inherited.get(r) ?? []) expand(c);
      };
      expand(role);
      const found = new Set<string>();
      for (const s of md.sources ?? []) {
        for (const t of s.tables ?? []) {
          for (const kind of ['select', 'insert', 'update', 'delete'] as const) {
            for (const p of t[`${kind}_permissions`] ?? []) if (roles.has(p.role)) collectVars(p.permission, found);
          }
        }
      }
      // A function or computed field with a `session_argument` gets the whole session: then every
      // variable is part of the key ('*'), which can only make keys more specific.
      vars = wholeSession ? ['*'] : [...found].sort();
      varsByRole.set(role, vars);
      return vars;
    },
  };
}

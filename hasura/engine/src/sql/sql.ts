/**
 * A small tagged-template SQL builder in the manner of crystal's pg-sql2: every piece of SQL is a
 * `SQL` node; user data enters only through `value()` (a bind parameter) and names only through
 * `identifier()` (always double-quoted). `compile()` turns a node tree into `{text, values}`.
 */
import type pg from 'pg';

export type SQL = SqlRaw | SqlValue | SqlIdent | SqlList;
interface SqlRaw { readonly k: 'raw'; readonly text: string }
interface SqlValue { readonly k: 'value'; readonly v: unknown }
interface SqlIdent { readonly k: 'ident'; readonly names: readonly string[] }
interface SqlList { readonly k: 'list'; readonly items: readonly SQL[] }

const RAW_CACHE = new Map<string, SqlRaw>();
function raw(text: string): SqlRaw {
  let r = RAW_CACHE.get(text);
  if (!r) {
    r = { k: 'raw', text };
    if (RAW_CACHE.size < 10_000) RAW_CACHE.set(text, r);
  }
  return r;
}

/** sql`SELECT ${x}`: interpolations must be SQL nodes (never plain strings). */
export function sql(strings: TemplateStringsArray, ...parts: SQL[]): SQL {
  const items: SQL[] = [];
  strings.forEach((s, i) => {
    if (s) items.push(raw(s));
    const p = parts[i];
    if (p !== undefined) {
      if (typeof p !== 'object' || p === null || !('k' in p)) throw new TypeError('sql: interpolate SQL nodes only');
      items.push(p);
    }
  });
  return { k: 'list', items };
}

/** A bind parameter ($n). */
export const value = (v: unknown): SQL => ({ k: 'value', v });
/** A (possibly qualified) quoted identifier: identifier('links', 'links') → "links"."links". */
export const identifier = (...names: string[]): SQL => ({ k: 'ident', names });
/** Trusted SQL text written by this engine (keywords, operators); never user input. */
export const keyword = (text: string): SQL => raw(text);
export const join = (items: readonly SQL[], sep: string): SQL => {
  const out: SQL[] = [];
  items.forEach((it, i) => {
    if (i > 0) out.push(raw(sep));
    out.push(it);
  });
  return { k: 'list', items: out };
};
export const TRUE = raw('true');
export const FALSE = raw('false');

export function quoteIdent(name: string): string {
  if (name.includes('\0')) throw new Error('identifier contains NUL');
  return '"' + name.replace(/"/g, '""') + '"';
}

export interface Compiled { text: string; values: unknown[] }

export function compile(node: SQL): Compiled {
  const values: unknown[] = [];
  const out: string[] = [];
  const walk = (n: SQL): void => {
    switch (n.k) {
      case 'raw': out.push(n.text); break;
      case 'value': values.push(n.v); out.push('$' + values.length); break;
      case 'ident': out.push(n.names.map(quoteIdent).join('.')); break;
      case 'list': for (const it of n.items) walk(it); break;
    }
  };
  walk(node);
  return { text: out.join(''), values };
}

/** Anything that runs a query: a pool or a checked-out client. */
export type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

/** Compiles `node` and runs it on `db`. */
export function run<R extends pg.QueryResultRow = Record<string, unknown>>(db: Queryable, node: SQL): Promise<pg.QueryResult<R>> {
  const { text, values } = compile(node);
  return db.query<R>(text, values);
}

/**
 * Hasura's JSONPath subset, one parser for every place Hasura takes one: the `path` argument of
 * json/jsonb columns, and the JWT config's `claims_namespace_path` and `claims_map` paths
 * (`parseJSONPath`, server/src-lib/Hasura/Base/… Data/Parser/JSONPath.hs). Accepted: an optional
 * leading `$` (or a bare first key), `.key`, `[n]`, `["key"]` / `['key']` (backslash escapes),
 * and `.[…]`.
 */
export type JsonPath = Array<string | number>;

const KEY = /^[^.[\]]+/;

/** The path's segments (keys as strings, indices as numbers), or undefined when it does not parse. */
export function parseJsonPath(path: string): JsonPath | undefined {
  const out: JsonPath = [];
  const s = path.trim();
  let i = 0;
  if (s.startsWith('$')) i = 1;
  else {
    const m = KEY.exec(s);
    if (m) { out.push(m[0]); i = m[0].length; }
  }
  while (i < s.length) {
    const ch = s[i];
    if (ch === '.' && s[i + 1] === '[') {
      i += 1;
    } else if (ch === '.') {
      const m = KEY.exec(s.slice(i + 1));
      if (!m) return undefined;
      out.push(m[0]); i += 1 + m[0].length;
    } else if (ch === '[') {
      const rest = s.slice(i + 1);
      const num = /^\s*(\d+)\s*\]/.exec(rest);
      const str = /^\s*"((?:[^"\\]|\\.)*)"\s*\]/.exec(rest) ?? /^\s*'((?:[^'\\]|\\.)*)'\s*\]/.exec(rest);
      if (num) { out.push(Number(num[1])); i += 1 + num[0].length; }
      else if (str) { out.push(str[1]!.replace(/\\(.)/g, '$1')); i += 1 + str[0].length; }
      else return undefined;
    } else return undefined;
  }
  return out;
}

/** The value at `path` in `value` (undefined when any step is missing). */
export function readJsonPath(value: unknown, path: JsonPath): unknown {
  let cur = value;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[seg];
  }
  return cur;
}

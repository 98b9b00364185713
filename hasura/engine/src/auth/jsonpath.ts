/**
 * The JSONPath subset Hasura accepts in `claims_namespace_path` and `claims_map` paths
 * (`$.a.b`, `$['a.b'].c`, `$.a[0]`; JWT.hs uses Data.Aeson.JSONPath with the same forms).
 */
export function parseJsonPath(path: string): Array<string | number> {
  if (!path.startsWith('$')) throw new Error(`invalid JSON path: ${path}`);
  const out: Array<string | number> = [];
  let i = 1;
  while (i < path.length) {
    const ch = path[i];
    if (ch === '.') {
      let j = i + 1;
      while (j < path.length && path[j] !== '.' && path[j] !== '[') j++;
      out.push(path.slice(i + 1, j));
      i = j;
    } else if (ch === '[') {
      const close = path.indexOf(']', i);
      if (close < 0) throw new Error(`invalid JSON path: ${path}`);
      const inner = path.slice(i + 1, close).trim();
      if (/^\d+$/.test(inner)) out.push(Number(inner));
      else if (/^(['"]).*\1$/.test(inner)) out.push(inner.slice(1, -1));
      else throw new Error(`invalid JSON path: ${path}`);
      i = close + 1;
    } else {
      throw new Error(`invalid JSON path: ${path}`);
    }
  }
  return out;
}

export function readJsonPath(value: unknown, path: Array<string | number>): unknown {
  let cur = value;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[seg];
  }
  return cur;
}

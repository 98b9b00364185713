import { validationFailed } from '../validation/errors.ts';

/**
 * The `path` argument of json/jsonb columns: a JSONPath subset (`$`, `.key`, `["key"]`, `[0]`,
 * or a bare key), turned into a `#>` text-array path (Hasura `parseJSONPath`, Hasura/Base/…/JSONPath).
 */
export function jsonPath(path: string, errPath: string): string[] {
  const out: string[] = [];
  let i = 0;
  const s = path.trim();
  if (s.startsWith('$')) i = 1;
  else {
    const m = /^[^.[\]]+/.exec(s);
    if (m) { out.push(m[0]); i = m[0].length; }
  }
  while (i < s.length) {
    const ch = s[i];
    if (ch === '.' && s[i + 1] === '[') {
      i += 1;
    } else if (ch === '.') {
      const m = /^[^.[\]]+/.exec(s.slice(i + 1));
      if (!m) throw validationFailed(errPath, `parse json path error: invalid path ${JSON.stringify(path)}`);
      out.push(m[0]); i += 1 + m[0].length;
    } else if (ch === '[') {
      const rest = s.slice(i + 1);
      const num = /^(\d+)\]/.exec(rest);
      const str = /^"((?:[^"\\]|\\.)*)"\]/.exec(rest) ?? /^'((?:[^'\\]|\\.)*)'\]/.exec(rest);
      if (num) { out.push(num[1]!); i += 1 + num[0].length; }
      else if (str) { out.push(str[1]!.replace(/\\(.)/g, '$1')); i += 1 + str[0].length; }
      else throw validationFailed(errPath, `parse json path error: invalid path ${JSON.stringify(path)}`);
    } else throw validationFailed(errPath, `parse json path error: invalid path ${JSON.stringify(path)}`);
  }
  return out;
}

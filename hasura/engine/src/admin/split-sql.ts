/**
 * run_sql's `no_transaction: true` splits the SQL into statements and runs them one by one, since
 * PostgreSQL runs a multi-statement query string in one implicit transaction (protocol-flow.html
 * "Multiple Statements in a Simple Query"), which would defeat the option. A port of upstream's
 * `splitSQLStatements` (Backends/Postgres/DDL/RunSQL.hs): `;` ends a statement outside quotes,
 * dollar-quoted bodies and comments; comments are dropped; statements are trimmed, empty ones
 * dropped. One deliberate difference: `--` and `/*` inside a quoted string or dollar-quoted body
 * are text here (upstream drops them as comments, which corrupts such a string).
 */
export function splitSqlStatements(text: string): string[] {
  const out: string[] = [];
  let acc = '';
  let inString = false;
  let dollarTag: string | undefined;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    const quoted = inString || dollarTag !== undefined;
    if (!quoted && text.startsWith('--', i)) {
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? text.length : nl + 1;
      continue;
    }
    if (!quoted && text.startsWith('/*', i)) {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 2;
      continue;
    }
    if (c === "'" && dollarTag === undefined) {
      if (text[i + 1] === "'") {
        acc += "''";
        i += 2;
        continue;
      }
      inString = !inString;
      acc += c;
      i++;
      continue;
    }
    if (c === '$' && !inString) {
      if (dollarTag !== undefined) {
        if (text.startsWith(`${dollarTag}$`, i)) {
          acc += `${dollarTag}$`;
          i += dollarTag.length + 1;
          dollarTag = undefined;
          continue;
        }
      } else {
        const m = /^\$([A-Za-z_][A-Za-z_0-9]*)?\$/.exec(text.slice(i));
        if (m) {
          dollarTag = m[0].slice(0, -1);
          acc += m[0];
          i += m[0].length;
          continue;
        }
      }
      acc += c;
      i++;
      continue;
    }
    if (c === ';' && !quoted) {
      out.push(acc);
      acc = '';
      i++;
      continue;
    }
    acc += c;
    i++;
  }
  out.push(acc);
  return out.map((s) => s.trim()).filter((s) => s.length > 0);
}

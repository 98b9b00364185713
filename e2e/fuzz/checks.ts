/**
 * What no answer may contain (issue 11: "a 500 never leaks internals"): stack traces, source file
 * paths, SQL text, addresses of the private services, secrets. A match that the request itself
 * carried is an echo of the client's own input (a validation message quoting the bad value), not a
 * leak, and is ignored.
 */

export interface LeakRule {
  name: string;
  re: RegExp;
}

export const LEAK_RULES: LeakRule[] = [
  { name: 'stack trace', re: /\bat (?:async )?[\w$.<>[\]]+ \((?:file:\/\/|\/|node:)[^)]*:\d+:\d+\)/ },
  { name: 'stack trace', re: /\n\s+at (?:file:\/\/|\/|node:)[^\s]+:\d+:\d+/ },
  { name: 'source path', re: /(?:\/work\/|\/root\/|\/home\/|\/tmp\/linkport|node_modules\/)[\w.@/+-]+/ },
  { name: 'source path', re: /\b[\w/.-]+\.(?:ts|mjs|cjs):\d+(?::\d+)?\b/ },
  { name: 'SQL text', re: /\bSELECT\b[\s\S]{0,300}?\bFROM\s+"?\w+"?\."?\w+/i },
  { name: 'SQL text', re: /\b(?:INSERT\s+INTO|DELETE\s+FROM)\s+"?\w+"?\."?\w+/i },
  { name: 'SQL text', re: /\bUPDATE\s+"?\w+"?\."?\w+"?\s+SET\b/i },
  { name: 'SQL text', re: /\b(?:json_build_object|json_agg|row_to_json)\s*\(/i },
  { name: 'SQL text', re: /\$\d+::(?:text|uuid|int|bigint|jsonb|timestamptz)\b/ },
  { name: 'PostgreSQL parser error', re: /syntax error at or near/i },
  { name: 'Node error internals', re: /\b(?:ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|ERR_[A-Z_]{4,})\b/ },
  { name: 'metrics exposition', re: /^# (?:HELP|TYPE) \w+/m },
  { name: 'private key', re: /-----BEGIN [A-Z ]*PRIVATE KEY-----|"d"\s*:\s*"[\w-]{20,}"/ },
];

export interface Secrets {
  /** Literal strings that must never appear (admin secret, S3 secret key). */
  literals: string[];
  /** host:port of private listeners (services' own ports, PostgreSQL, Redis). */
  privateAddresses: string[];
}

export function findLeak(body: string, requestText: string, secrets: Secrets): string | undefined {
  for (const rule of LEAK_RULES) {
    const m = rule.re.exec(body);
    if (m && !requestText.includes(m[0])) return `${rule.name}: ${JSON.stringify(m[0].slice(0, 160))}`;
  }
  for (const s of secrets.literals) if (s.length >= 8 && body.includes(s)) return 'a server secret';
  for (const a of secrets.privateAddresses) if (body.includes(a) && !requestText.includes(a)) return `private address ${a}`;
  return undefined;
}

/** A short, copyable excerpt of bytes: JSON-escaped, long runs elided. */
export function excerpt(b: Buffer | string | undefined, max = 240): string {
  if (b === undefined) return '';
  const s = typeof b === 'string' ? b : b.toString('latin1');
  const shown = s.length > max ? `${s.slice(0, max)}… (${s.length} bytes)` : s;
  return JSON.stringify(shown).replace(/(.)\1{40,}/g, (run, c: string) => `${c.repeat(8)}…×${run.length}`);
}

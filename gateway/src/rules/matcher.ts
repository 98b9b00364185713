/**
 * Compiles a parsed rule into a predicate over a request, with Traefik v3's matcher semantics
 * (src `pkg/muxer/http/matcher.go`; doc `rules-and-priority.md`):
 *  - Path: exact compare on the routing path; PathPrefix: plain prefix (not segment-aware);
 *    both must start with "/". PathRegexp / HostRegexp / HeaderRegexp / QueryRegexp: Go
 *    `regexp.MatchString`, i.e. unanchored.
 *  - Host: case-insensitive, port ignored, trailing dot tolerated, `*.example.com` matches one label.
 *  - Method: upper-cased, exact. Header(k, v): any value of k equals v. Query(k[, v]): any value.
 *  - ClientIP: the TCP peer address (not X-Forwarded-For), an IP or a CIDR.
 */
import { parseRule, type RuleNode } from './parser.ts';
import { ipMatcher } from '../proxy/ip.ts';

export interface MatchInput {
  method: string;
  /** canonical host: lower case, no port */
  host: string;
  /** the routing path: escaped path with non-reserved %XX decoded (src `mux.go` withRoutingPath) */
  path: string;
  headers: Record<string, string | string[] | undefined>;
  query: URLSearchParams;
  clientIp: string;
}

export type Matcher = (r: MatchInput) => boolean;

export class RuleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RuleError';
  }
}

/** Go RE2 → JS: `(?i)` prefix becomes a flag, `(?P<n>` becomes `(?<n>`. */
export function goRegExp(src: string): RegExp {
  let flags = '';
  let body = src;
  const m = /^\(\?([imsU]+)\)/.exec(body);
  if (m) {
    body = body.slice(m[0].length);
    for (const f of m[1] as string) if (f === 'i' || f === 'm' || f === 's') flags += f;
  }
  body = body.replace(/\(\?P</g, '(?<');
  try {
    return new RegExp(body, flags);
  } catch (err) {
    throw new RuleError(`invalid regexp ${JSON.stringify(src)}: ${(err as Error).message}`);
  }
}

function headerValues(h: MatchInput['headers'], name: string): string[] {
  const v = h[name.toLowerCase()];
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

const arity: Record<string, [number, number]> = {
  Host: [1, 1],
  HostRegexp: [1, 1],
  Path: [1, 1],
  PathPrefix: [1, 1],
  PathRegexp: [1, 1],
  Method: [1, 1],
  Header: [2, 2],
  HeaderRegexp: [2, 2],
  Query: [1, 2],
  QueryRegexp: [1, 2],
  ClientIP: [1, 1],
};

function hostMatcher(value: string): Matcher {
  if (!/^[\x20-\x7e]+$/.test(value)) throw new RuleError(`invalid value "${value}" for Host matcher, non-ASCII characters are not allowed`);
  const want = value.toLowerCase().replace(/\.$/, '');
  if (want === '*') return () => true;
  if (want.startsWith('*.')) {
    const suffix = want.slice(1);
    return (r) => {
      const h = r.host.replace(/\.$/, '');
      return h.endsWith(suffix) && h.length > suffix.length && !h.slice(0, -suffix.length).includes('.');
    };
  }
  return (r) => r.host !== '' && r.host.replace(/\.$/, '') === want;
}

function call(name: string, args: string[]): Matcher {
  const a = arity[name];
  if (!a) throw new RuleError(`unsupported matcher "${name}"`);
  if (args.length < a[0] || args.length > a[1]) throw new RuleError(`unexpected number of parameters for ${name}: ${args.length}`);
  if (args.some((x) => x === '') && name !== 'Query' && name !== 'Header') throw new RuleError(`empty args for matcher ${name}, ${JSON.stringify(args)}`);
  const [first = '', second = ''] = args;
  switch (name) {
    case 'Host':
      return hostMatcher(first);
    case 'HostRegexp': {
      const re = goRegExp(first);
      return (r) => re.test(r.host);
    }
    case 'Path':
    case 'PathPrefix': {
      if (!first.startsWith('/')) throw new RuleError(`path "${first}" does not start with a "/"`);
      return name === 'Path' ? (r) => r.path === first : (r) => r.path.startsWith(first);
    }
    case 'PathRegexp': {
      const re = goRegExp(first);
      return (r) => re.test(r.path);
    }
    case 'Method': {
      const m = first.toUpperCase();
      return (r) => r.method === m;
    }
    case 'Header':
      return (r) => headerValues(r.headers, first).includes(second);
    case 'HeaderRegexp': {
      const re = goRegExp(second);
      return (r) => headerValues(r.headers, first).some((v) => re.test(v));
    }
    case 'Query':
      return (r) => r.query.getAll(first).includes(second);
    case 'QueryRegexp': {
      const re = goRegExp(second);
      return (r) => r.query.has(first) && r.query.getAll(first).some((v) => re.test(v));
    }
    case 'ClientIP': {
      const m = ipMatcher([first]);
      return (r) => m(r.clientIp);
    }
    default:
      throw new RuleError(`unsupported matcher "${name}"`);
  }
}

function build(node: RuleNode): Matcher {
  switch (node.type) {
    case 'call':
      return call(node.name, node.args);
    case 'not': {
      const m = build(node.operand);
      return (r) => !m(r);
    }
    case 'and': {
      const l = build(node.left);
      const rr = build(node.right);
      return (r) => l(r) && rr(r);
    }
    case 'or': {
      const l = build(node.left);
      const rr = build(node.right);
      return (r) => l(r) || rr(r);
    }
  }
}

/** Parses and compiles a rule; throws RuleSyntaxError / RuleError with a useful message. */
export function compileRule(rule: string): Matcher {
  return build(parseRule(rule));
}

/** Default router priority: the rule's length (src `mux.go` GetRulePriority). */
export function rulePriority(rule: string, priority?: number): number {
  return priority && priority !== 0 ? priority : rule.length;
}

const reserved = new Set(":/?#[]@!$&'()*+,;=%".split('').map((c) => c.charCodeAt(0)));

/** src `mux.go` withRoutingPath: decode %XX of unreserved characters, keep reserved ones encoded. */
export function routingPath(rawPath: string): string {
  if (!rawPath.includes('%')) return rawPath;
  return rawPath.replace(/%([0-9A-Fa-f]{2})/g, (all, hex: string) => {
    const code = parseInt(hex, 16);
    if (code >= 0x80 || reserved.has(code)) return all.toUpperCase();
    return String.fromCharCode(code);
  });
}

import fs from 'node:fs';
import path from 'node:path';
import type { RawRequest } from '../raw.ts';
import { graphqlPayload, uuidFrom, type GqlSchemaInfo } from './graphql.ts';
import { NASTY, pct, type Rand } from './rand.ts';

/**
 * Every public route through the gateway: core's and media's from their OpenAPI documents (so a
 * new route is fuzzed without touching this file), the GraphQL endpoint, short links and their
 * password form; then header and path mutations over any of them.
 */

type Schema = Record<string, unknown>;

export interface Route {
  service: 'core' | 'media';
  method: string;
  /** OpenAPI template, e.g. /v1/media/assets/{id}. */
  template: string;
  params: Array<{ name: string; in: string; schema: Schema }>;
  body: Schema | undefined;
  /** The document the schema's $refs resolve in. */
  doc: Schema;
}

export function loadRoutes(repoRoot: string): Route[] {
  const out: Route[] = [];
  for (const [service, file] of [
    ['core', 'core-service/openapi.json'],
    ['media', 'media-service/openapi.json'],
  ] as const) {
    const doc = JSON.parse(fs.readFileSync(path.join(repoRoot, file), 'utf8')) as { paths: Record<string, Record<string, Schema>> };
    for (const [template, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const content = (op.requestBody as { content?: Record<string, { schema?: Schema }> } | undefined)?.content;
        out.push({
          service,
          method: method.toUpperCase(),
          template,
          params: (op.parameters as Route['params'] | undefined) ?? [],
          body: content?.['application/json']?.schema,
          doc: doc as unknown as Schema,
        });
      }
    }
  }
  return out;
}

/** The engine's REST endpoints (hasura/metadata/rest_endpoints.yaml), reached as /v1/links/api/<url>. */
export interface RestEndpoint {
  method: string;
  /** e.g. links/:code */
  url: string;
}

export function loadRestEndpoints(repoRoot: string): RestEndpoint[] {
  // The file is Hasura's flat list (`- comment / definition / methods: [- GET] / name / url`): read
  // line-wise rather than adding a YAML parser to the fuzzer for two keys.
  const text = fs.readFileSync(path.join(repoRoot, 'hasura/metadata/rest_endpoints.yaml'), 'utf8');
  const out: RestEndpoint[] = [];
  let methods: string[] = [];
  let inMethods = false;
  for (const line of text.split('\n')) {
    if (/^\s*methods:\s*$/.test(line)) {
      inMethods = true;
      methods = [];
      continue;
    }
    const m = /^\s*-\s*([A-Z]+)\s*$/.exec(line);
    if (inMethods && m) {
      methods.push(m[1]!);
      continue;
    }
    inMethods = false;
    const u = /^\s*url:\s*(\S+)\s*$/.exec(line);
    if (u) for (const method of methods) out.push({ method, url: u[1]! });
  }
  return out;
}

/** What the fuzzer knows about the stack it fuzzes: credentials and objects to aim at. */
export interface Targets {
  host: string;
  /** Access tokens of the fuzz users (never the benign prober's). */
  tokens: string[];
  refreshTokens: string[];
  apiKeys: string[];
  /** Known ids: assets, API keys, links. */
  ids: string[];
  /** Short codes: plain, password-protected, expired/disabled variants. */
  codes: string[];
  passwordCodes: string[];
  /** When the gateway trusts the fuzzer's address: a fresh X-Forwarded-For per request spreads the rate-limit buckets. */
  spoofClients: boolean;
}

export interface FuzzCase {
  /** Route family for the summary, e.g. `core POST /v1/core/auth/login`, `graphql:fragment-bomb`. */
  family: string;
  req: RawRequest;
  /** True when the request carries a deliberately oversized part (the only place a 413/431 is expected). */
  oversized?: boolean;
  /** Identity headers spoofed on a route that needs a credential, and no credential sent. */
  spoofedIdentityOnly?: boolean;
}

function resolve(doc: Schema, s: Schema | undefined): Schema | undefined {
  let cur = s;
  for (let i = 0; i < 10 && cur && typeof cur.$ref === 'string'; i++) {
    const parts = (cur.$ref as string).replace(/^#\//, '').split('/');
    cur = parts.reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], doc) as Schema | undefined;
  }
  return cur;
}

/** A value for a JSON schema: mostly valid, sometimes each way of being invalid. */
export function fromSchema(r: Rand, doc: Schema, s0: Schema | undefined, depth = 4): unknown {
  const s = resolve(doc, s0);
  if (!s || depth <= 0) return r.json(2);
  if (r.chance(0.08)) return r.pick<unknown>([null, 0, -1, '', [], {}, true, r.nasty(), 1e308, 'x'.repeat(70_000)]);
  const type = Array.isArray(s.type) ? (s.type as string[])[0] : (s.type as string | undefined);
  if (Array.isArray(s.enum)) return r.chance(0.85) ? r.pick(s.enum as unknown[]) : r.nasty();
  if (Array.isArray(s.anyOf) || Array.isArray(s.oneOf)) return fromSchema(r, doc, r.pick((s.anyOf ?? s.oneOf) as Schema[]), depth);
  switch (type) {
    case 'object': {
      const props = (s.properties as Record<string, Schema> | undefined) ?? {};
      const required = new Set((s.required as string[] | undefined) ?? []);
      const o: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(props)) if (required.has(k) ? r.chance(0.92) : r.chance(0.5)) o[k] = fromSchema(r, doc, v, depth - 1);
      if (r.chance(0.15)) o[r.pick(['extra', '__proto__', 'constructor', r.nasty(16)])] = r.json(3);
      return o;
    }
    case 'array': {
      const n = r.weighted([
        [8, r.int(0, 3)],
        [1, r.int(100, 20_000)],
      ]);
      return Array.from({ length: n }, () => fromSchema(r, doc, s.items as Schema | undefined, depth - 1));
    }
    case 'integer':
    case 'number': {
      const min = typeof s.minimum === 'number' ? s.minimum : 0;
      const max = typeof s.maximum === 'number' ? s.maximum : 1_000_000;
      return r.weighted<number | string>([
        [6, r.int(Math.max(min, -(2 ** 31)), Math.min(max, 2 ** 31))],
        [1, r.pick([min - 1, max + 1, 2 ** 53 + 1, -0, 0.5, 1e308])],
        [1, String(r.int(0, 100))],
      ]);
    }
    case 'boolean':
      return r.chance(0.9) ? r.chance(0.5) : r.pick(['true', 1, 'yes']);
    case 'string': {
      const fmt = s.format as string | undefined;
      const maxLength = typeof s.maxLength === 'number' ? s.maxLength : 200;
      if (r.chance(0.1)) return 'y'.repeat(maxLength + r.int(1, 5_000));
      if (fmt === 'uuid') return r.chance(0.8) ? uuidFrom(r) : r.nasty();
      if (fmt === 'email' || /email/i.test(JSON.stringify(s))) return r.chance(0.7) ? `${r.word()}@example.com` : r.nasty();
      if (fmt === 'uri' || fmt === 'url') return r.pick(['https://example.com/a', 'javascript:alert(1)', 'http://[::1', r.nasty()]);
      return r.chance(0.6) ? r.word() + r.word() : r.nasty(Math.min(maxLength, 300));
    }
    default:
      return r.json(3);
  }
}

function spoofHeaders(r: Rand, t: Targets): Array<[string, string]> {
  // A plain client address from TEST-NET-2 when the gateway trusts us (a CDN in front): every
  // request then has its own bucket and reaches the services instead of the rate limiter.
  if (!t.spoofClients || r.chance(0.1)) return [];
  return [['X-Forwarded-For', `198.51.${r.int(0, 255)}.${r.int(1, 254)}`]];
}

function authHeader(r: Rand, t: Targets): Array<[string, string]> {
  const token = t.tokens.length ? r.pick(t.tokens) : undefined;
  const key = t.apiKeys.length ? r.pick(t.apiKeys) : undefined;
  return r.weighted<Array<[string, string]>>([
    [10, token ? [['Authorization', `Bearer ${token}`]] : []],
    [3, key ? [['Authorization', `Bearer ${key}`]] : []],
    [2, []],
    [
      3,
      [
        [
          'Authorization',
          r.pick([
            'Bearer',
            'Bearer ',
            'Basic YWRtaW46YWRtaW4=',
            'Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ4In0.',
            `Bearer ${token ? token.slice(0, -4) + 'AAAA' : 'x'}`,
            `Bearer ${'A'.repeat(r.pick([100, 8_000, 60_000]))}`,
            `Bearer lp_${r.nasty()}`,
            `bearer ${token ?? ''}`,
            `Bearer ${token ?? ''}, Bearer ${key ?? ''}`,
          ]),
        ],
      ],
    ],
  ]);
}

function fillPath(r: Rand, route: Route, t: Targets): string {
  let p = route.template.replace(/\{(\w+)\}/g, () =>
    r.weighted<() => string>([
      [6, () => (t.ids.length ? r.pick(t.ids) : uuidFrom(r))],
      [3, () => uuidFrom(r)],
      [2, () => pct(r.nasty())],
      [1, () => r.pick(['00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff', '%00', '..', '%2e%2e', 'x'.repeat(5_000)])],
    ])(),
  );
  const query = route.params.filter((q) => q.in === 'query');
  if (query.length && r.chance(0.7)) {
    const qs = query
      .filter(() => r.chance(0.6))
      .map((q) => `${pct(q.name)}=${pct(String(fromSchema(r, route.doc, q.schema, 2)))}`);
    if (r.chance(0.1)) qs.push(`${r.pick(['limit', 'cursor', 'status'])}=${r.nasty()}&limit=1&limit=2`);
    if (qs.length) p += `?${qs.join('&')}`;
  }
  return p;
}

function apiCase(r: Rand, route: Route, t: Targets): FuzzCase {
  const headers: Array<[string, string]> = [...spoofHeaders(r, t), ...authHeader(r, t)];
  let body: Buffer | undefined;
  let oversized = false;
  if (route.body || r.chance(0.2)) {
    const shape = r.weighted<() => Buffer>([
      [10, () => Buffer.from(JSON.stringify(fromSchema(r, route.doc, route.body)) ?? 'null', 'utf8')],
      [2, () => Buffer.from(JSON.stringify(r.json(5)) ?? 'null', 'utf8')],
      [1, () => Buffer.from(r.pick(['{', '{"a":', '[', 'nul', '{"a":1}{"b":2}', '\u0000', '{"email": "\ud800"}', r.nasty()]), 'utf8')],
      [
        1,
        () => {
          oversized = true;
          return Buffer.from(JSON.stringify({ pad: 'z'.repeat(r.pick([70_000, 1_100_000, 3_000_000])) }), 'utf8');
        },
      ],
      [1, () => Buffer.from(`${'['.repeat(r.pick([1_000, 30_000]))}${']'.repeat(r.pick([0, 1_000, 30_000]))}`, 'utf8')],
      [1, () => Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x22, 0x61, 0x22, 0x3a, 0xff, 0xfe, 0x7d])],
    ])();
    body = shape;
    headers.push(['Content-Type', r.weighted([[10, 'application/json'], [1, 'text/plain'], [1, 'application/x-www-form-urlencoded'], [1, 'application/json; charset=latin1'], [1, 'multipart/form-data'], [1, r.nasty(20)]])]);
  }
  const method = r.chance(0.9) ? route.method : r.pick(['GET', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD', 'TRACE', 'CONNECT', 'PROPFIND', 'get']);
  return {
    family: `${route.service} ${route.method} ${route.template}`,
    req: { method, path: fillPath(r, route, t), headers, ...(body ? { body } : {}) },
    oversized,
  };
}

function graphqlCase(r: Rand, t: Targets, info: GqlSchemaInfo): FuzzCase {
  const p = graphqlPayload(r, info);
  const headers: Array<[string, string]> = [...spoofHeaders(r, t), ...authHeader(r, t)];
  if (r.chance(0.1)) headers.push(['X-Hasura-Role', r.pick(['admin', 'user', 'anonymous', 'user_readonly', r.nasty()])]);
  if (p.method === 'GET') return { family: `graphql:${p.shape}`, req: { method: 'GET', path: `/v1/links/graphql?${p.query ?? ''}`, headers } };
  if (p.contentType) headers.push(['Content-Type', p.contentType]);
  return { family: `graphql:${p.shape}`, req: { method: 'POST', path: '/v1/links/graphql', headers, body: p.body }, oversized: p.body.length > 2 * 1024 * 1024 };
}

const BROWSER_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';

function hostileCode(r: Rand): string {
  return r.weighted<() => string>([
    [3, () => pct(r.nasty())],
    [1, () => 'a'.repeat(r.pick([64, 65, 5_000, 60_000]))],
    [1, () => `${r.word()}+`],
    [1, () => `${r.word()}/qr.${r.pick(['svg', 'png', 'gif', 'svg.png'])}`],
    [1, () => r.pick(['ping', 'health/ready', 'metrics', 'dashboard', 'debug', 'livez', 'readyz', 'favicon.ico', 'robots.txt', '.well-known/x'])],
    [1, () => r.pick(['%ED%A0%80', '%F0%9F%98', '%C0%AE%C0%AE', '%2F', '%5C', '%u0041', '%%', '%'])],
  ])();
}

function redirectCase(r: Rand, t: Targets): FuzzCase {
  const headers: Array<[string, string]> = [...spoofHeaders(r, t), ['User-Agent', r.chance(0.8) ? BROWSER_UA : r.nasty()]];
  const code = r.weighted<() => string>([
    [4, () => (t.codes.length ? r.pick(t.codes) : r.word())],
    [3, () => (t.passwordCodes.length ? r.pick(t.passwordCodes) : r.word())],
    [4, () => hostileCode(r)],
  ])();
  if (t.passwordCodes.length && r.chance(0.4)) {
    // The password form: urlencoded as a browser posts it, then everything a browser would not.
    const target = r.pick(t.passwordCodes);
    const pw = r.weighted<() => string>([
      [5, () => r.word()],
      [2, () => r.nasty()],
      [1, () => 'p'.repeat(r.pick([1_000, 100_000, 2_000_000]))],
    ])();
    const body = r.weighted<() => Buffer>([
      [6, () => Buffer.from(`password=${pct(pw)}`, 'utf8')],
      [1, () => Buffer.from(`password=a&password=b&password=${pct(pw)}`, 'utf8')],
      [1, () => Buffer.from(`password=%ff%fe%ZZ&${'x=1&'.repeat(r.pick([10, 10_000]))}`, 'utf8')],
      [1, () => Buffer.from(JSON.stringify({ password: pw }), 'utf8')],
    ])();
    headers.push(['Content-Type', r.weighted([[8, 'application/x-www-form-urlencoded'], [1, 'application/json'], [1, 'multipart/form-data; boundary=--x'], [1, 'text/plain; charset=utf-7']])]);
    return { family: 'redirect POST password', req: { method: 'POST', path: `/${target}${r.chance(0.2) ? `?${pct(r.nasty())}` : ''}`, headers, body }, oversized: body.length > 64 * 1024 };
  }
  const suffix = r.weighted([[8, ''], [1, '+'], [1, '/qr.svg'], [1, '/qr.png'], [1, `?${pct(r.nasty())}=${pct(r.nasty())}`]]);
  const method = r.weighted([[10, 'GET'], [2, 'HEAD'], [1, r.pick(['PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE', 'FOO'])]]);
  return { family: `redirect ${method === 'GET' || method === 'HEAD' ? method : 'other-method'}`, req: { method, path: `/${code}${suffix}`, headers } };
}

/** Header mutations over a base request: huge, many, duplicated, bad bytes, spoofed forwarding. */
function mutateHeaders(r: Rand, base: FuzzCase): FuzzCase {
  const h = [...base.req.headers];
  const kind = r.int(0, 7);
  let oversized = base.oversized ?? false;
  let spoofedIdentityOnly = false;
  let name: string;
  switch (kind) {
    case 0:
      oversized = true;
      h.push([r.pick(['X-Big', 'Cookie', 'User-Agent', 'Referer']), 'h'.repeat(r.pick([8_000, 17_000, 70_000, 400_000]))]);
      name = 'huge';
      break;
    case 1:
      for (let i = 0, n = r.pick([100, 1_000, 5_000]); i < n; i++) h.push([`X-H${i}`, String(i)]);
      oversized = true;
      name = 'many';
      break;
    case 2: {
      const dup = r.pick(['Host', 'Content-Type', 'Authorization', 'X-Request-Id', 'Cookie', 'Origin']);
      h.push([dup, r.nasty()], [dup, r.nasty()]);
      name = `duplicated`;
      break;
    }
    case 3:
      h.push([r.pick(['X-Bad', 'User-Agent', 'Accept-Language', 'X-Request-Id', 'Cookie']), Buffer.from([0x61, 0xff, 0xfe, 0x80, 0xc0, 0xae, 0x62])]);
      if (r.chance(0.3)) h.push(['X-Nul', Buffer.from([0x61, 0x00, 0x62])]);
      name = 'bad-bytes';
      break;
    case 4:
      for (const k of ['X-Forwarded-For', 'X-Real-IP', 'Forwarded', 'X-Forwarded-Host', 'X-Forwarded-Proto', 'CF-Connecting-IP', 'CF-IPCountry', 'True-Client-IP']) {
        if (r.chance(0.5)) h.push([k, r.pick(['127.0.0.1', '::1', '10.0.0.1', 'unknown', '1.2.3.4, 127.0.0.1', 'for=evil;proto=https', 'ZZ', 'XX', 'https', r.nasty()])]);
      }
      name = 'spoofed-forwarding';
      break;
    case 5: {
      // Identity headers only forwardAuth may set, with no credential: must never authenticate.
      const stripped = h.filter(([k]) => k.toLowerCase() !== 'authorization');
      h.length = 0;
      h.push(...stripped);
      for (const [k, v] of [
        ['X-User-Id', '00000000-0000-0000-0000-000000000001'],
        ['X-User-Role', 'admin'],
        ['X-Auth-Method', 'jwt'],
        ['X-Auth-Scopes', 'links:read links:write'],
        ['X-Hasura-Role', 'admin'],
        ['X-Hasura-Admin-Secret', 'guess'],
        ['X-Hasura-User-Id', '00000000-0000-0000-0000-000000000001'],
      ] as const)
        h.push([k, v]);
      spoofedIdentityOnly = true;
      name = 'spoofed-identity';
      break;
    }
    case 6:
      // Framing conflicts (request smuggling): both length headers, or two lengths.
      h.push(...r.pick<Array<[string, string]>>([
        [['Transfer-Encoding', 'chunked'], ['Content-Length', '5']],
        [['Content-Length', '0'], ['Content-Length', '10']],
        [['Transfer-Encoding', 'chunked, identity']],
        [['Content-Length', '-1']],
        [['Content-Length', '99999999999999999999']],
        [['Expect', '100-continue']],
        [['Upgrade', 'h2c'], ['Connection', 'Upgrade, HTTP2-Settings']],
      ]));
      name = 'framing';
      break;
    default:
      h.push([r.pick(['Accept', 'Accept-Encoding', 'Origin', 'Range', 'If-None-Match', 'Content-Encoding']), r.pick([...NASTY, 'gzip, br, zstd', 'bytes=0-0,1-1,2-2', 'null', '*', 'gzip'])]);
      name = 'odd-values';
  }
  return { family: `headers:${name}`, req: { ...base.req, headers: h }, oversized, spoofedIdentityOnly };
}

const PRIVATE = ['/metrics', '/health/ready', '/health/live', '/v1/core/auth/verify', '/v1/metadata', '/v1/query', '/v2/query', '/v1/graphql', '/v1/core/health/ready', '/v1/media/metrics', '/v1/core/console'];

/** Path mutations: encodings, traversal, lone surrogates, huge, absolute-form. */
function pathCase(r: Rand, t: Targets, routes: Route[]): FuzzCase {
  const base = r.pick([...PRIVATE, '/v1/core/me', '/v1/media/assets', '/v1/links/graphql', `/${t.codes[0] ?? 'abc'}`, ...routes.map((x) => x.template)]);
  const mutated = r.weighted<() => string | Buffer>([
    [2, () => base.replace(/[a-z]/, (c) => `%${c.charCodeAt(0).toString(16)}`)],
    [2, () => base.replace(/\//g, () => r.pick(['/', '//', '/./', '/%2f', '/%2F', '/;x=1/', '/%2e/']))],
    [2, () => `${base}${r.pick(['%00', '/..', '/%2e%2e', '/%2e%2e/%2e%2e/etc/passwd', '/../../../../etc/passwd', '%2f..%2f..', '\\..\\..', '?', '#x', '.json', '~', '+', '%20', '%'])}`],
    [1, () => `/v1/core/${r.pick(['..', '%2e%2e', '%252e%252e', '.%2e'])}/${r.pick(['metrics', 'health/ready', 'v1/metadata', 'etc/passwd'])}`],
    [1, () => Buffer.concat([Buffer.from(base), Buffer.from([0xed, 0xa0, 0x80])])],
    [1, () => `${base}/%ED%A0%80`],
    [1, () => `${base}/${'x'.repeat(r.pick([5_000, 9_000, 70_000]))}`],
    [1, () => Buffer.from(`/${r.pick(['é', 'ünï', '𝕃', '\u202e', '日本'])}${base}`, 'utf8')],
    [1, () => r.pick(['*', '', 'http://evil.example/v1/core/me', '//evil.example/', 'v1/core/me', '/\t', '/ /', `${base}?${'a=1&'.repeat(5_000)}`])],
  ])();
  const method = r.weighted([[6, 'GET'], [1, 'POST'], [1, 'HEAD'], [1, 'OPTIONS'], [1, 'DELETE']]);
  const headers: Array<[string, string]> = [...spoofHeaders(r, t), ...(r.chance(0.5) ? authHeader(r, t) : [])];
  return { family: 'paths', req: { method, path: mutated, headers } };
}

/** The engine's REST endpoints through the gateway: hostile path params, query variables, bodies, methods. */
function restCase(r: Rand, t: Targets, rest: RestEndpoint[]): FuzzCase {
  const ep = r.pick(rest);
  const headers: Array<[string, string]> = [...spoofHeaders(r, t), ...authHeader(r, t)];
  const url = ep.url.replace(/:(\w+)/g, () =>
    r.weighted<() => string>([
      [4, () => (t.ids.length ? r.pick(t.ids) : uuidFrom(r))],
      [2, () => (t.codes.length ? r.pick(t.codes) : r.word())],
      [3, () => pct(r.nasty())],
      [1, () => r.pick(['', '%00', '..', '%2e%2e', '%2F', 'x'.repeat(5_000), '%ED%A0%80', 'null', '-1', '1e308'])],
    ])(),
  );
  let p = `/v1/links/api/${url}${r.chance(0.1) ? r.pick(['/', '/extra', '//', '%2f..%2f..%2fv1%2fmetadata']) : ''}`;
  if (r.chance(0.4)) {
    // Hasura reads query parameters as variables: wrong types, arrays, repeats, huge.
    const name = r.pick(['limit', 'offset', 'code', 'id', 'where', r.word()]);
    p += `?${pct(name)}=${pct(r.pick(['1', '-1', 'abc', '1.5', '99999999999999999999', '{"_eq":1}', '[]', r.nasty(), 'z'.repeat(3_000)]))}${r.chance(0.3) ? `&${pct(name)}=2` : ''}`;
  }
  let body: Buffer | undefined;
  let oversized = false;
  if (ep.method !== 'GET' || r.chance(0.15)) {
    body = r.weighted<() => Buffer>([
      [5, () => Buffer.from(JSON.stringify({ destination: r.pick(['https://example.com/r', 'javascript:alert(1)', r.nasty()]), code: r.chance(0.5) ? r.word() : r.nasty(), title: r.nasty(), object: r.json(3), _set: r.json(2) }), 'utf8')],
      [2, () => Buffer.from(JSON.stringify(r.json(5)) ?? 'null', 'utf8')],
      [2, () => Buffer.from(r.pick(['{', '[', '{"a":', 'null', '"x"', '{"destination":1e999}', '\u0000', r.nasty()]), 'utf8')],
      [
        1,
        () => {
          oversized = true;
          return Buffer.from(JSON.stringify({ destination: 'https://example.com/', title: 't'.repeat(r.pick([70_000, 3_000_000])) }), 'utf8');
        },
      ],
    ])();
    headers.push(['Content-Type', r.weighted([[8, 'application/json'], [1, 'text/plain'], [1, 'multipart/form-data'], [1, r.nasty(20)]])]);
  }
  const method = r.chance(0.85) ? ep.method : r.pick(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD', 'TRACE', 'PROPFIND']);
  return { family: `links-rest ${ep.method} ${ep.url}`, req: { method, path: p, headers, ...(body ? { body } : {}) }, oversized };
}

const CSV_HEAD = 'code,destination,title,description,tags,expires_at,max_clicks';

/** Transfer imports: the raw body route (CSV, JSON, multipart, binary, huge) with its query. */
function importCase(r: Rand, t: Targets): FuzzCase {
  const headers: Array<[string, string]> = [...spoofHeaders(r, t), ...authHeader(r, t)];
  let oversized = false;
  const row = () => [r.chance(0.7) ? r.word() : r.nasty(30), r.pick(['https://example.com/i', 'ftp://x', '', r.nasty()]), `"${r.nasty().replace(/"/g, '""')}"`, r.nasty(), r.pick(['a;b', '"', '']), r.pick(['2030-01-01T00:00:00Z', 'yesterday', '']), r.pick(['1', '-1', 'x', ''])].join(',');
  const [kind, body] = r.weighted<() => [string, Buffer]>([
    [4, () => ['csv', Buffer.from(`${r.chance(0.9) ? CSV_HEAD : r.nasty()}\n${Array.from({ length: r.int(0, 20) }, row).join(r.pick(['\n', '\r\n', '\r']))}`, 'utf8')]],
    [1, () => ['csv', Buffer.from(`${CSV_HEAD}\n"unterminated,${'x'.repeat(r.pick([10, 200_000]))}`, 'utf8')]],
    [1, () => ['csv', Buffer.from(`${CSV_HEAD}\n${'a,'.repeat(r.pick([100, 50_000]))}`, 'utf8')]],
    [1, () => ['csv', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`${CSV_HEAD}\nx\u0000y,https://example.com/,\ud800\n`, 'utf8'), Buffer.from([0xff, 0xfe, 0x00])])]],
    [3, () => ['json', Buffer.from(JSON.stringify(r.chance(0.6) ? { links: Array.from({ length: r.int(0, 10) }, () => ({ code: r.word(), destination: r.pick(['https://example.com/j', r.nasty()]), tags: r.json(2) })) } : r.json(5)) ?? 'null', 'utf8')]],
    [2, () => ['json', Buffer.from(r.pick(['{', '[', '{"links":', '{"links":[{"code":', `${'['.repeat(50_000)}`, 'null', '""']), 'utf8')]],
    [1, () => ['multipart', Buffer.from(`--b\r\nContent-Disposition: form-data; name="file"; filename="../../etc/passwd"\r\nContent-Type: text/csv\r\n\r\n${CSV_HEAD}\nz,https://example.com/\r\n--b--\r\n`, 'utf8')]],
    [1, () => ['binary', Buffer.from(Array.from({ length: r.int(1, 4_000) }, () => r.int(0, 255)))]],
    [
      1,
      () => {
        // Past the import limit (TRANSFER_MAX_IMPORT_BYTES, 50 MiB by default): must be a 413, never a 5xx.
        oversized = true;
        return ['huge', Buffer.alloc(r.pick([3 * 1024 * 1024, 51 * 1024 * 1024]), 0x61)];
      },
    ],
  ])();
  headers.push([
    'Content-Type',
    kind === 'multipart'
      ? r.pick(['multipart/form-data; boundary=b', 'multipart/form-data'])
      : r.weighted([[6, kind === 'json' ? 'application/json' : 'text/csv'], [1, 'application/octet-stream'], [1, 'text/csv; charset=utf-16'], [1, r.nasty(20)]]),
  ]);
  const q: string[] = [];
  if (r.chance(0.8)) q.push(`format=${pct(r.weighted([[6, kind === 'json' ? 'json' : 'csv'], [1, r.pick(['xml', 'CSV', '', r.nasty()])]]))}`);
  if (r.chance(0.5)) q.push(`dry_run=${pct(r.pick(['true', 'false', '1', 'yes', r.nasty()]))}`);
  const method = r.chance(0.9) ? 'POST' : r.pick(['PUT', 'PATCH', 'GET', 'DELETE']);
  return { family: `transfer-import ${kind}`, req: { method, path: `/v1/core/transfer/imports${q.length ? `?${q.join('&')}` : ''}`, headers, body }, oversized };
}

/** The web app's static files through the gateway: traversal, encoded dots, NUL, odd methods. */
function appCase(r: Rand, t: Targets): FuzzCase {
  const p = r.weighted<() => string | Buffer>([
    [2, () => r.pick(['/', '/app', '/app/', '/app/index.html', '/app/links', '/app/assets/', '/app/favicon.ico'])],
    [3, () => `/app/${r.pick(['..', '%2e%2e', '%2E%2E', '.%2e', '%252e%252e', '..%2f', '..%5c', '..\\', '%c0%ae%c0%ae'])}/${r.pick(['', '..', '%2e%2e'])}/${r.pick(['etc/passwd', 'package.json', '.env', 'web/src/main.ts', 'launcher/src/cli.ts'])}`],
    [2, () => `/app/${r.pick(['index.html%00.png', '%00', 'a%00b', '.git/config', '.env', '.well-known/x', 'assets/../../package.json', 'assets/%2e%2e/%2e%2e/package.json', '%2f%2fetc%2fpasswd', '//etc/passwd'])}`],
    [1, () => Buffer.concat([Buffer.from('/app/'), Buffer.from([0x00, 0x2e, 0x2e, 0xff, 0xed, 0xa0, 0x80])])],
    [1, () => `/app/${'a/'.repeat(r.pick([50, 2_000]))}x`],
    [1, () => `/app/${pct(r.nasty())}`],
    [1, () => `/app/assets/${r.word()}.${r.pick(['js', 'css', 'map', 'svg', 'js.gz', 'br'])}${r.pick(['', '?v=1', '#x'])}`],
  ])();
  const headers: Array<[string, string]> = [...spoofHeaders(r, t)];
  if (r.chance(0.3)) headers.push([r.pick(['Range', 'If-None-Match', 'If-Modified-Since', 'Accept-Encoding']), r.pick(['bytes=0-0,1-1,2-2', 'bytes=99999999-', 'bytes=-0', '*', 'W/"x"', 'Thu, 01 Jan 1970 00:00:00 GMT', 'gzip, br', 'nonsense', r.nasty()])]);
  const method = r.weighted([[8, 'GET'], [2, 'HEAD'], [1, r.pick(['POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE', 'PROPFIND'])]]);
  return { family: `app ${method === 'GET' || method === 'HEAD' ? method : 'other-method'}`, req: { method, path: p, headers } };
}

export function httpCase(r: Rand, t: Targets, routes: Route[], info: GqlSchemaInfo, rest: RestEndpoint[] = []): FuzzCase {
  const base = r.weighted<() => FuzzCase>([
    [rest.length ? 3 : 0, () => restCase(r, t, rest)],
    [2, () => importCase(r, t)],
    [2, () => appCase(r, t)],
    [9, () => graphqlCase(r, t, info)],
    [7, () => apiCase(r, r.pick(routes.filter((x) => x.service === 'core')), t)],
    [5, () => apiCase(r, r.pick(routes.filter((x) => x.service === 'media')), t)],
    [6, () => redirectCase(r, t)],
    [3, () => pathCase(r, t, routes)],
  ])();
  return r.chance(0.18) ? mutateHeaders(r, base) : base;
}

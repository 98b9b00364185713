import {
  buildClientSchema,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLObjectType,
  type GraphQLSchema,
  type IntrospectionQuery,
} from 'graphql';
import { pct, type Rand } from './rand.ts';

/**
 * GraphQL documents from a grammar- and schema-aware generator. The schema is the live one (an
 * introspection of the role the fuzzer runs as), so the valid-looking share of the traffic reaches
 * the planner and PostgreSQL rather than stopping at validation; the hostile shapes are those of
 * issue 11 and of Hasura's own limits (depth, node count after fragment expansion, fragment cycles,
 * aliases, batches, request and variables size).
 */

export interface GqlPayload {
  /** The shape, for the summary table (`graphql:<shape>`). */
  shape: string;
  /** The HTTP body as sent (JSON unless the shape is about the envelope). */
  body: Buffer;
  contentType: string;
  method?: 'GET' | 'POST';
  /** For GET: the query string. */
  query?: string;
}

export interface GqlSchemaInfo {
  schema: GraphQLSchema | undefined;
}

export function schemaInfo(introspection: IntrospectionQuery | undefined): GqlSchemaInfo {
  try {
    return { schema: introspection ? buildClientSchema(introspection) : undefined };
  } catch {
    return { schema: undefined };
  }
}

/** A random (version 4 shaped) uuid from the seeded source, so a case reproduces exactly. */
export function uuidFrom(r: Rand): string {
  const h = Array.from({ length: 32 }, () => r.int(0, 15).toString(16)).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20)}`;
}

const json = (v: unknown) => Buffer.from(JSON.stringify(v), 'utf8');
const gql = (shape: string, query: unknown, extra: Record<string, unknown> = {}): GqlPayload => ({
  shape,
  body: json({ query, ...extra }),
  contentType: 'application/json',
});

/** A GraphQL string literal: JSON's escapes are GraphQL's too (lone surrogates come out as \uXXXX). */
const lit = (s: string) => JSON.stringify(s);

function fields(t: GraphQLObjectType): Array<GraphQLField<unknown, unknown>> {
  return Object.values(t.getFields());
}

/** An input literal of type `t`; sometimes deliberately of the wrong type. */
export function valueLiteral(r: Rand, t: GraphQLInputType, depth: number): string {
  if (r.chance(0.06)) return r.pick(['null', '1', '"x"', '[]', '{}', 'true', '$undeclared', 'ENUM_NOPE', lit(r.nasty())]);
  if (isNonNullType(t)) return valueLiteral(r, t.ofType, depth);
  if (isListType(t)) {
    if (depth <= 0) return '[]';
    return `[${Array.from({ length: r.int(0, 3) }, () => valueLiteral(r, t.ofType, depth - 1)).join(', ')}]`;
  }
  if (isEnumType(t)) return r.pick(t.getValues()).name;
  if (isInputObjectType(t)) {
    if (depth <= 0) return '{}';
    const fs = Object.values(t.getFields());
    const picked = fs.filter(() => r.chance(0.3)).slice(0, 4);
    if (picked.length === 0 && fs.length) picked.push(r.pick(fs));
    return `{${picked.map((f) => `${f.name}: ${valueLiteral(r, f.type, depth - 1)}`).join(', ')}}`;
  }
  if (isScalarType(t)) {
    switch (t.name) {
      case 'Int':
        return r.pick(['0', '1', '-1', '10', '100', '2147483647', '2147483648', '-2147483649', '99999999999999999999']);
      case 'Float':
        return r.pick(['0.5', '1e308', '-1e-308', '1.0', '3']);
      case 'Boolean':
        return r.pick(['true', 'false']);
      case 'uuid':
        return lit(r.pick(['00000000-0000-0000-0000-000000000000', uuidFrom(r), 'not-a-uuid', r.nasty()]));
      case 'bigint':
      case 'numeric':
        return r.pick(['"1"', '1', '"9223372036854775808"', '"-1"', '"1e5"', '"NaN"']);
      case 'timestamptz':
      case 'date':
        return lit(r.pick(['2026-01-01', '2026-01-01T00:00:00Z', 'infinity', '-infinity', '0001-01-01', '294277-01-01', 'yesterday', r.nasty()]));
      case 'jsonb':
        return r.pick(['{}', '{a: 1}', '[1, 2]', '"s"', '{a: {b: {c: [1, {d: null}]}}}']);
      default:
        return lit(r.chance(0.5) ? r.word() : r.nasty());
    }
  }
  return 'null';
}

/** A selection set over `t`, `depth` levels deep at most. */
export function selection(r: Rand, t: GraphQLObjectType, depth: number, width = 4): string {
  const fs = fields(t);
  const n = r.int(1, Math.min(width, Math.max(1, fs.length)));
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    const f = r.pick(fs);
    const named = getNamedType(f.type);
    const alias = r.chance(0.15) ? `a${i}_${r.int(0, 99)}: ` : '';
    const args = f.args.length && r.chance(0.5) ? `(${f.args.filter(() => r.chance(0.5)).map((a) => `${a.name}: ${valueLiteral(r, a.type, 3)}`).join(', ')})` : '';
    const argsText = args === '()' ? '' : args;
    if (isLeafType(named)) parts.push(`${alias}${f.name}${argsText}`);
    else if (isObjectType(named)) {
      if (depth <= 1) parts.push(`${alias}${f.name}${argsText} { __typename }`);
      else parts.push(`${alias}${f.name}${argsText} { ${selection(r, named, depth - 1, width)} }`);
    } else parts.push(`${alias}${f.name}${argsText} { __typename }`);
  }
  if (r.chance(0.1)) parts.push(`__typename @include(if: ${r.pick(['true', 'false'])})`);
  return parts.join(' ');
}

function rootOf(s: GraphQLSchema | undefined, op: 'query' | 'mutation' | 'subscription'): GraphQLObjectType | undefined {
  if (!s) return undefined;
  return (op === 'query' ? s.getQueryType() : op === 'mutation' ? s.getMutationType() : s.getSubscriptionType()) ?? undefined;
}

/** A schema-shaped operation (valid or nearly), `op` chosen by the caller. */
export function operation(r: Rand, info: GqlSchemaInfo, op: 'query' | 'mutation' | 'subscription', maxDepth = 4): string {
  const root = rootOf(info.schema, op);
  if (!root) return `${op} { __typename }`;
  return `${op} ${r.chance(0.5) ? `Op${r.int(0, 9)} ` : ''}{ ${selection(r, root, r.int(1, maxDepth), op === 'subscription' ? 1 : 4)} }`;
}

/** Object fields that lead to object types again: the path a deep query walks. */
function deepPath(r: Rand, info: GqlSchemaInfo, depth: number): string {
  let t = rootOf(info.schema, 'query');
  const open: string[] = [];
  for (let i = 0; i < depth && t; i++) {
    const next = fields(t).filter((f) => isObjectType(getNamedType(f.type)));
    if (next.length === 0) break;
    const f = r.pick(next);
    open.push(f.name);
    t = getNamedType(f.type) as GraphQLObjectType;
  }
  if (open.length < depth) {
    // The schema ran out of object fields: pad with introspection's own recursion (type.ofType…).
    const pad = depth - open.length;
    return `{ ${open.join(' { ')}${open.length ? ' { ' : ''}__schema { types { ${'ofType { '.repeat(pad)}name${' }'.repeat(pad)} } }${' }'.repeat(open.length)} }`;
  }
  return `{ ${open.join(' { ')} { __typename }${' }'.repeat(open.length)} }`;
}

const SYNTAX_TOKENS = ['{', '}', '(', ')', '[', ']', ':', '...', '@', '$', '!', '=', '|', '&', ',', '#', '"', '"""', 'query', 'mutation', 'subscription', 'fragment', 'on', 'links_links', '__schema', '__type', 'id', 'true', 'null', '0', '1e', '-', '\\u', '\n', '\u0000', '\ud800'];

export function graphqlPayload(r: Rand, info: GqlSchemaInfo): GqlPayload {
  return r.weighted<() => GqlPayload>([
    [10, () => gql('valid', operation(r, info, r.pick(['query', 'query', 'mutation'] as const)))],
    [
      4,
      () => {
        // Deep: past the depth limit, and far past it (a recursive-descent parser's stack).
        const depth = r.pick([8, 15, 40, 200, 2_000, 20_000]);
        if (depth > 200 || r.chance(0.3)) return gql(`deep-${depth > 200 ? 'huge' : 'nested'}`, `{ ${'a { '.repeat(depth)}b${' }'.repeat(depth)} }`);
        return gql('deep-schema', deepPath(r, info, depth));
      },
    ],
    [
      4,
      () => {
        // Wide and aliased: many root fields, or one field under thousands of aliases.
        const n = r.pick([100, 1_000, 5_000, 30_000]);
        const field = r.pick(['__typename', 'links_links(limit: 1) { id }', 'links_links { code }', '__schema { queryType { name } }']);
        return gql(`aliases-${n}`, `{ ${Array.from({ length: n }, (_, i) => `a${i}: ${field}`).join(' ')} }`);
      },
    ],
    [
      5,
      () => {
        // Fragment bomb (issue 11 §1): each fragment spreads the next k times: k^n fields after expansion.
        const n = r.pick([10, 20, 26, 40, 60]);
        const k = r.pick([2, 3, 5]);
        const root = rootOf(info.schema, 'query')?.name ?? 'query_root';
        const leaf = r.pick(['__typename', 'links_links { id code }']);
        const frags = Array.from({ length: n }, (_, i) =>
          i === n - 1 ? `fragment F${i} on ${root} { ${leaf} }` : `fragment F${i} on ${root} { ${Array.from({ length: k }, () => `...F${i + 1}`).join(' ')} }`,
        );
        return gql(`fragment-bomb`, `query { ...F0 } ${frags.join(' ')}`);
      },
    ],
    [
      3,
      () => {
        // Fragment cycles: direct, long, and through inline fragments.
        const root = rootOf(info.schema, 'query')?.name ?? 'query_root';
        const n = r.int(1, 50);
        const frags = Array.from({ length: n }, (_, i) => `fragment C${i} on ${root} { __typename ...C${(i + 1) % n} ... on ${root} { ...C${(i + 2) % n} } }`);
        return gql('fragment-cycle', `query { ...C0 } ${frags.join(' ')}`);
      },
    ],
    [
      3,
      () => {
        // Huge literals: strings past the body limit and just under it, big numbers, deep list literals.
        const kind = r.int(0, 3);
        if (kind === 0) {
          const size = r.pick([100_000, 1_000_000, 2_200_000]);
          return gql(`huge-string-${size}`, `{ links_links(where: {code: {_eq: ${lit('x'.repeat(size))}}}) { id } }`);
        }
        if (kind === 1) return gql('huge-number', `{ links_links(limit: ${'9'.repeat(r.pick([20, 400, 100_000]))}) { id } }`);
        if (kind === 2) {
          const d = r.pick([100, 5_000, 50_000]);
          return gql('deep-list-literal', `{ links_links(where: {code: {_in: ${'['.repeat(d)}"a"${']'.repeat(d)}}}) { id } }`);
        }
        const d = r.pick([100, 5_000]);
        return gql('deep-object-literal', `{ links_links(where: ${'{_and: '.repeat(d)}{}${'}'.repeat(d)}) { id } }`);
      },
    ],
    [
      3,
      () => {
        // Batches (an array of operations), small to far over the batch limit.
        const n = r.pick([2, 10, 100, 1_000, 5_000]);
        const ops = Array.from({ length: n }, () => ({ query: r.chance(0.8) ? operation(r, info, 'query', 2) : r.nasty() }));
        return { shape: `batch-${n}`, body: json(ops), contentType: 'application/json' };
      },
    ],
    [
      4,
      () => {
        // Odd variables: wrong types, undeclared, deep and huge, prototype keys, not an object at all.
        const q = 'query V($code: String, $n: Int, $w: links_links_bool_exp) { links_links(where: $w, limit: $n) { id code } c: links_links(where: {code: {_eq: $code}}) { id } }';
        const d = r.pick([10, 1_000, 10_000]);
        // Written as text: JSON.stringify itself overflows the stack on 10,000 levels.
        const deep = `{"w": ${'{"_and": ['.repeat(d)}{}${']}'.repeat(d)}}`;
        if (r.chance(0.15)) return { shape: 'odd-variables', body: Buffer.from(`{"query": ${JSON.stringify(q)}, "variables": ${deep}}`, 'utf8'), contentType: 'application/json' };
        const variables = r.pick<unknown>([
          { code: r.nasty(), n: r.pick([1, -1, 1e308, 2 ** 31, '5', null]) },
          { w: { code: { _like: r.nasty() } } },
          { w: { code: { _regex: r.pick(['(a+)+$', '(?:a|a)*b', '[', '\\']) } } },
          { code: 'x'.repeat(r.pick([1_000, 300_000, 3_000_000])) },
          JSON.parse('{"__proto__": {"polluted": 1}, "constructor": {"prototype": {"x": 1}}}'),
          [1, 2, 3],
          'variables',
          42,
          { undeclared: true, n: { nested: [] } },
          r.json(6),
        ]);
        return gql('odd-variables', q, { variables });
      },
    ],
    [
      3,
      () => {
        // Directives: repeated, unknown, on every node.
        const n = r.pick([5, 100, 3_000]);
        return gql(`directives-${n}`, `{ links_links { id ${'@include(if: true) '.repeat(n)} code @skip(if: false) @nope(x: 1) } }`);
      },
    ],
    [
      4,
      () => {
        // Token soup and truncated documents: the lexer and parser on garbage.
        const base = operation(r, info, 'query');
        if (r.chance(0.4)) return gql('truncated', base.slice(0, r.int(0, base.length)));
        const n = r.int(1, 400);
        return gql('syntax-soup', Array.from({ length: n }, () => (r.chance(0.8) ? r.pick(SYNTAX_TOKENS) : r.nasty(8))).join(r.pick([' ', '', '\n'])));
      },
    ],
    [
      3,
      () => {
        // Operation selection: several operations, a missing or mismatched or non-string name.
        const doc = `query A { __typename } query B { links_links { id } } mutation C { __typename }`;
        return gql('operation-name', doc, r.pick([{}, { operationName: 'Z' }, { operationName: 42 }, { operationName: null }, { operationName: 'C' }, { operationName: r.nasty() }]));
      },
    ],
    [
      3,
      () => {
        // Introspection, deep and wide (often disabled for non-admin roles in Hasura deployments).
        const n = r.pick([3, 8, 30]);
        return gql('introspection', `{ __schema { types { name fields { name args { name type { ${'ofType { '.repeat(n)}name${' }'.repeat(n)} } } } } __type(name: ${lit(r.nasty())}) { name } }`);
      },
    ],
    [
      2,
      () => gql('subscription-over-http', operation(r, info, 'subscription')),
    ],
    [
      4,
      () => {
        // The envelope itself: not JSON, wrong types, other content types, GET with a query string.
        const kind = r.int(0, 6);
        const doc = operation(r, info, 'query', 2);
        switch (kind) {
          case 0:
            return { shape: 'envelope-not-json', body: Buffer.from(r.pick(['{', '{"query": ', 'null', '[]', '"x"', '{"query": "{__typename}"}}', r.nasty()]), 'utf8'), contentType: 'application/json' };
          case 1:
            return gql('envelope-query-type', r.pick<unknown>([null, 1, [], {}, true, ['{ __typename }']]));
          case 2:
            return { shape: 'envelope-graphql-ct', body: Buffer.from(doc, 'utf8'), contentType: 'application/graphql' };
          case 3:
            return { shape: 'envelope-text-plain', body: json({ query: doc }), contentType: r.pick(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', '', 'application/json; charset=utf-16', 'application/json; charset=\u0000']) };
          case 4:
            return { shape: 'envelope-get', body: Buffer.alloc(0), contentType: '', method: 'GET', query: `query=${pct(doc)}&variables=${pct(r.nasty())}` };
          case 5:
            return gql('envelope-persisted', null, { extensions: { persistedQuery: { version: 1, sha256Hash: r.nasty() } } });
          default:
            return { shape: 'envelope-bad-utf8', body: Buffer.concat([Buffer.from('{"query": "{ links_links(where: {code: {_eq: \\"'), Buffer.from([0xff, 0xfe, 0xc0, 0xae, 0xed, 0xa0, 0x80]), Buffer.from('\\"}}) { id } }"}')]), contentType: 'application/json' };
        }
      },
    ],
  ])();
}

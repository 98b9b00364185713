/**
 * Query response caching: the `@cached(ttl: Int, refresh: Boolean)` directive on a query, as
 * Hasura Cloud / Enterprise Edition do it (docs/docs/caching/{caching-config,how-it-works,
 * caching-metrics}.mdx). Hasura CE (what docker-compose.yml runs) accepts the directive and caches
 * nothing — this engine does the same when it has no Redis; with one (HASURA_GRAPHQL_REDIS_URL,
 * as EE, or REDIS_URL) it behaves as EE:
 *   - key = hash of the query text (whitespace ignored: graphql-js's canonical print), the operation
 *     name, the variables, the role and the values of the session variables the role's permissions
 *     use (rest/serving.ts `sessionVarsOf`); the family key is the same without the variables;
 *   - `ttl` defaults to 60 s and is capped at HASURA_GRAPHQL_CACHE_MAX_ENTRY_TTL; `refresh: true`
 *     (a literal) skips the lookup and stores the fresh answer;
 *   - responses carry `X-Hasura-Query-Cache-Key`, `X-Hasura-Query-Family-Cache-Key` and
 *     `Cache-Control: max-age=<seconds left>`; only answers without errors are stored;
 *   - `POST /pro/cache/clear` (admin), `?key=` or `?family=` to clear one entry or one family;
 *   - `hasura_cache_request_count{status="hit"|"miss"}`.
 * Redis trouble never fails a query: it is answered uncached (no cache headers) and counted in
 * `engine_query_cache_unavailable_total`; the client reconnects by itself.
 */
import { createHash } from 'node:crypto';
import { Kind, parse, print, type ArgumentNode, type DocumentNode, type OperationDefinitionNode } from 'graphql';
import client from 'prom-client';
import type { Redis } from '@linkport/common';
import type { ExecuteOptions, GraphQLEngine, GraphQLRequest, GraphQLResponse, Session } from '../contract.ts';
import type { Serving } from '../rest/serving.ts';

export const DEFAULT_TTL_SECONDS = 60;
const PREFIX = 'lp:qcache:';

export interface CachedResult {
  response: GraphQLResponse;
  headers?: Record<string, string>;
}

export interface QueryCacheOptions {
  redis?: Redis | undefined;
  maxTtlSeconds: number;
  serving: () => Serving | undefined;
  registry?: client.Registry | undefined;
  /** Told once per outage (the first failing command after a success). */
  onUnavailable?: (err: Error) => void;
}

interface Directive { ttl: number; refresh: boolean }

/** The `@cached` directive of the operation that runs, if any (an unparsable or ambiguous request is the engine's to refuse). */
export function cachedDirective(req: GraphQLRequest, maxTtl: number): { doc: DocumentNode; op: OperationDefinitionNode; directive: Directive } | undefined {
  if (!req.query.includes('@cached')) return undefined;
  let doc: DocumentNode;
  try {
    doc = parse(req.query, { maxTokens: 100_000 });
  } catch {
    return undefined;
  }
  const ops = doc.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const op = req.operationName ? ops.find((o) => o.name?.value === req.operationName) : ops.length === 1 ? ops[0] : undefined;
  if (!op || op.operation !== 'query') return undefined;
  const d = op.directives?.find((x) => x.name.value === 'cached');
  if (!d) return undefined;
  const arg = (name: string): ArgumentNode | undefined => d.arguments?.find((a) => a.name.value === name);
  let ttl = DEFAULT_TTL_SECONDS;
  const ttlArg = arg('ttl')?.value;
  if (ttlArg?.kind === Kind.INT) ttl = Number(ttlArg.value);
  else if (ttlArg?.kind === Kind.VARIABLE && typeof req.variables?.[ttlArg.name.value] === 'number') ttl = req.variables[ttlArg.name.value] as number;
  ttl = Math.max(1, Math.min(Math.trunc(ttl), maxTtl));
  // docs: `refresh` must be a literal to force a refresh (a variable only changes the key).
  const refreshArg = arg('refresh')?.value;
  return { doc, op, directive: { ttl, refresh: refreshArg?.kind === Kind.BOOLEAN && refreshArg.value } };
}

/** JSON with object keys sorted, so equal variables give equal keys whatever their order. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  return JSON.stringify(v ?? null);
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

export class QueryCache {
  private readonly redis: Redis | undefined;
  private readonly maxTtl: number;
  private readonly serving: () => Serving | undefined;
  private readonly requests: client.Counter<'status'>;
  private readonly unavailable: client.Counter;
  private readonly onUnavailable: ((err: Error) => void) | undefined;
  private healthy = true;

  constructor(opts: QueryCacheOptions) {
    this.redis = opts.redis;
    this.maxTtl = opts.maxTtlSeconds;
    this.serving = opts.serving;
    this.onUnavailable = opts.onUnavailable;
    const registers = opts.registry ? [opts.registry] : [];
    this.requests = new client.Counter({ name: 'hasura_cache_request_count', help: '@cached requests by outcome (hit: from the cache, miss: from the database), as Hasura EE', labelNames: ['status'], registers });
    this.unavailable = new client.Counter({ name: 'engine_query_cache_unavailable_total', help: '@cached requests answered uncached because Redis failed', registers });
  }

  get enabled(): boolean {
    return this.redis !== undefined;
  }

  /** The cache key and family of a request as `session` sends it. */
  keys(req: GraphQLRequest, session: Session, doc: DocumentNode): { key: string; family: string } {
    const used = this.serving()?.sessionVarsOf(session.role) ?? ['*'];
    const vars = used.includes('*') ? Object.keys(session.vars).filter((v) => v !== 'x-hasura-role').sort() : used;
    const family = sha(canonical([print(doc), req.operationName ?? null, session.role, vars.map((v) => [v, session.vars[v] ?? null])]));
    return { family, key: sha(`${family}\0${canonical(req.variables ?? {})}`) };
  }

  private failed(err: unknown): void {
    this.unavailable.inc();
    if (this.healthy) this.onUnavailable?.(err instanceof Error ? err : new Error(String(err)));
    this.healthy = false;
  }

  /** Runs `req`, through the cache when it is a `@cached` query and there is a Redis. */
  async run(engine: GraphQLEngine, req: GraphQLRequest, session: Session, opts: ExecuteOptions = {}): Promise<CachedResult> {
    const found = this.redis ? cachedDirective(req, this.maxTtl) : undefined;
    if (!found || !this.redis) return { response: await engine.execute(req, session, opts) };
    const { key, family } = this.keys(req, session, found.doc);
    const headers = (ttl: number) => ({ 'x-hasura-query-cache-key': key, 'x-hasura-query-family-cache-key': family, 'cache-control': `max-age=${ttl}` });
    if (!found.directive.refresh) {
      try {
        const [[, text], [, pttl]] = (await this.redis.multi().get(PREFIX + key).pttl(PREFIX + key).exec()) as [[unknown, string | null], [unknown, number]];
        this.healthy = true;
        if (text !== null && pttl > 0) {
          this.requests.inc({ status: 'hit' });
          return { response: JSON.parse(text) as GraphQLResponse, headers: headers(Math.max(1, Math.ceil(pttl / 1000))) };
        }
      } catch (err) {
        this.failed(err);
        return { response: await engine.execute(req, session, opts) };
      }
    }
    this.requests.inc({ status: 'miss' });
    const response = await engine.execute(req, session, opts);
    if (response.errors?.length) return { response };
    const ttl = found.directive.ttl;
    try {
      await this.redis.multi()
        .set(PREFIX + key, JSON.stringify(response), 'EX', ttl)
        .sadd(`${PREFIX}family:${family}`, key)
        .expire(`${PREFIX}family:${family}`, this.maxTtl)
        .exec();
      this.healthy = true;
    } catch (err) {
      this.failed(err);
      return { response };
    }
    return { response, headers: headers(ttl) };
  }

  /** `POST /pro/cache/clear`: everything, one key, or one family. Returns the entries removed. */
  async clear(which: { key?: string | undefined; family?: string | undefined } = {}): Promise<number> {
    const redis = this.redis;
    if (!redis) return 0;
    if (which.key) return redis.del(PREFIX + which.key);
    if (which.family) {
      const members = await redis.smembers(`${PREFIX}family:${which.family}`);
      const removed = members.length ? await redis.del(...members.map((k) => PREFIX + k)) : 0;
      await redis.del(`${PREFIX}family:${which.family}`);
      return removed;
    }
    let removed = 0;
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length) removed += await redis.del(...keys);
    } while (cursor !== '0');
    return removed;
  }
}

/**
 * `POST /v1/graphql`, `GET /v1/graphql`, `POST /v1alpha1/graphql` (docs/research/hasura-v2.md §A.6, §B.4, §C.3):
 * authenticate, decode `{query, variables?, operationName?}` or a batch (JSON array, answered by
 * an array, run in order as Hasura's `runGQBatched` does), hand each to the engine.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ExecuteOptions, GraphQLEngine, GraphQLRequest, GraphQLResponse, Session } from '../contract.ts';
import { normalizeHeaders, type Authenticator } from '../auth/session.ts';
import { QErr, gqlErrors, invalidJsonMessage, jsonKind, statusForCode } from '../errors.ts';
import type { QueryCache } from '../cache/cache.ts';
import { responseBody } from '../execute/passthrough.ts';

type Variant = 'v1' | 'v1alpha1';

export interface GraphQLRouteDeps {
  auth: Authenticator;
  engine: () => GraphQLEngine;
  preserve401: boolean;
  /** @cached queries (cache/cache.ts); absent = every request runs. */
  cache?: QueryCache | undefined;
}

/** Validates one request object the way Hasura's GQLReq FromJSON does. */
export function decodeRequest(v: unknown): GraphQLRequest | GraphQLResponse {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    return gqlErrors('parse-failed', 'expected Object for GQLReq, but encountered ' + jsonKind(v));
  }
  const o = v as Record<string, unknown>;
  if (typeof o.query !== 'string') {
    return o.query === undefined || o.query === null
      ? gqlErrors('parse-failed', 'key "query" not found')
      : gqlErrors('parse-failed', `parsing Text failed, expected String, but encountered ${jsonKind(o.query)}`, '$.query');
  }
  if (o.variables !== undefined && o.variables !== null && (typeof o.variables !== 'object' || Array.isArray(o.variables))) {
    return gqlErrors('parse-failed', `expected Object, but encountered ${jsonKind(o.variables)}`, '$.variables');
  }
  if (o.operationName !== undefined && o.operationName !== null && typeof o.operationName !== 'string') {
    return gqlErrors('parse-failed', `parsing Text failed, expected String, but encountered ${jsonKind(o.operationName)}`, '$.operationName');
  }
  const req: GraphQLRequest & { extensions?: unknown } = {
    query: o.query,
    variables: (o.variables as Record<string, unknown> | null | undefined) ?? null,
    operationName: (o.operationName as string | null | undefined) ?? null,
  };
  // `extensions` (e.g. Apollo's persistedQuery) is the engine's to interpret.
  if (o.extensions !== undefined && o.extensions !== null) req.extensions = o.extensions;
  return req;
}

const isRequest = (r: GraphQLRequest | GraphQLResponse): r is GraphQLRequest => typeof (r as GraphQLRequest).query === 'string';

/** Runs one decoded request; an engine that throws answers Hasura's `unexpected`, never a 500 page. */
export async function runOne(engine: GraphQLEngine, decoded: GraphQLRequest | GraphQLResponse, session: Session, opts?: ExecuteOptions): Promise<GraphQLResponse> {
  if (!isRequest(decoded)) return decoded;
  try {
    return await engine.execute(decoded, session, opts);
  } catch (err) {
    const res = gqlErrors('unexpected', 'database query error');
    if (session.isAdmin && session.role === 'admin') res.errors![0]!.extensions.internal = { message: (err as Error).message };
    return res;
  }
}

/**
 * runOne through the @cached cache when there is one. Hasura's runGQ looks the cache up for a
 * single request, for each request of a batch (runGQBatched calls runGQ, then drops the headers:
 * Transport/HTTP.hs) and for a query over WebSocket (Transport/WebSocket.hs onStart, headers
 * ignored "because WebSockets don't support them"); all three call this.
 */
export async function runOneCached(cache: QueryCache | undefined, engine: GraphQLEngine, decoded: GraphQLRequest | GraphQLResponse, session: Session, opts?: ExecuteOptions): Promise<{ response: GraphQLResponse; headers?: Record<string, string> | undefined }> {
  if (!cache?.enabled || !isRequest(decoded)) return { response: await runOne(engine, decoded, session, opts) };
  // runOne's answer to an engine that throws, through the cache (which handles Redis failures itself).
  const safe: GraphQLEngine = { ...engine, execute: (r, s, o) => runOne(engine, r, s, o) };
  return cache.run(safe, decoded, session, opts);
}

/** The body is JSON.stringify's, or the database's JSON text when it was passed through (execute/passthrough.ts). */
function send(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply.code(status).header('content-type', 'application/json; charset=utf-8').send(responseBody(body));
}

export function registerGraphQLRoutes(app: FastifyInstance, deps: GraphQLRouteDeps): void {
  const handle = async (variant: Variant, req: FastifyRequest, reply: FastifyReply, parsed: { ok: true; value: unknown } | { ok: false; error: string }) => {
    const headers = normalizeHeaders(req.headers);
    let session: Session;
    try {
      const request = parsed.ok ? (parsed.value as GraphQLRequest | GraphQLRequest[]) : undefined;
      session = (await deps.auth.authenticate(headers, request)).session;
    } catch (err) {
      if (!(err instanceof QErr)) throw err;
      const status = variant === 'v1alpha1' || (deps.preserve401 && err.status === 401) ? err.status : 200;
      return send(reply, status, gqlErrors(err.code, err.message));
    }
    if (!parsed.ok) return send(reply, variant === 'v1' ? 200 : 400, gqlErrors('invalid-json', parsed.error));
    const engine = deps.engine();
    const opts: ExecuteOptions = { clientIp: req.ip };
    if (Array.isArray(parsed.value)) {
      // Hasura's batch_limit (api_limits) over our env ceiling: refused whole, before any runs.
      const max = engine.batchLimit?.(session.role) ?? 0;
      if (max > 0 && parsed.value.length > max) {
        return send(reply, variant === 'v1' ? 200 : 400, gqlErrors('batch-limit-exceeded', `the batch holds ${parsed.value.length} operations, above the maximum allowed ${max}`));
      }
      const out: GraphQLResponse[] = [];
      // Each item through the cache as Hasura's runGQBatched does; the batch answer carries no cache headers.
      for (const item of parsed.value) out.push((await runOneCached(deps.cache, engine, decodeRequest(item), session, opts)).response);
      return send(reply, 200, out);
    }
    const decoded = decodeRequest(parsed.value);
    const { response: res, headers: cacheHeaders } = await runOneCached(deps.cache, engine, decoded, session, opts);
    if (cacheHeaders) reply.headers(cacheHeaders);
    let status = 200;
    if (variant === 'v1alpha1' && res.errors?.length && res.data === undefined) status = statusForCode(res.errors[0]!.extensions.code);
    return send(reply, status, res);
  };

  const parseBody = (raw: unknown): { ok: true; value: unknown } | { ok: false; error: string } => {
    const text = typeof raw === 'string' ? raw : raw === undefined ? '' : String(raw);
    try {
      return { ok: true, value: JSON.parse(text) };
    } catch (err) {
      return { ok: false, error: invalidJsonMessage(text === '' ? new Error('empty body') : err) };
    }
  };

  app.post('/v1/graphql', (req, reply) => handle('v1', req, reply, parseBody(req.body)));
  app.post('/v1alpha1/graphql', (req, reply) => handle('v1alpha1', req, reply, parseBody(req.body)));
  // GET with the request in the query string (GraphQL over HTTP; Hasura serves GET /v1/graphql).
  app.get('/v1/graphql', (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    if (q.query === undefined) return send(reply, 200, gqlErrors('parse-failed', 'key "query" not found'));
    let variables: unknown = null;
    if (q.variables) {
      try {
        variables = JSON.parse(q.variables);
      } catch (err) {
        return send(reply, 200, gqlErrors('invalid-json', invalidJsonMessage(err), '$.variables'));
      }
    }
    return handle('v1', req, reply, { ok: true, value: { query: q.query, variables, operationName: q.operationName ?? null } });
  });
}

/**
 * `/api/rest/<url>` and `/api/swagger/json` (upstream Server/Rest.hs `runCustomEndpoint`,
 * App.hs): the request's path, query string and JSON body become the stored query's variables
 * (`resolveVar`: URL and query values are text, typed by the variable — a standalone key is
 * `true` for a Boolean, numbers and booleans decoded for their scalars, the rest passed as
 * strings; body values are JSON as sent), and the query runs through the same path as
 * `/v1/graphql` (auth, allow-list, @cached). The answer is the response's `data`; an error is
 * Hasura's `{path, error, code}` with its status (404 unknown endpoint, 405 with the allowed
 * methods, 400 for a request the query refuses).
 */
import { buildClientSchema, getIntrospectionQuery, Kind, type GraphQLSchema, type IntrospectionQuery, type TypeNode } from 'graphql';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { GraphQLEngine, GraphQLRequest, GraphQLResponse, Session } from '../contract.ts';
import { normalizeHeaders, type Authenticator } from '../auth/session.ts';
import { QErr, statusForCode } from '../errors.ts';
import { matchEndpoint, METHODS, type ResolvedEndpoint } from './endpoints.ts';
import { buildOpenApi } from './openapi.ts';
import type { Serving } from './serving.ts';

export interface RestRouteDeps {
  auth: Authenticator;
  /** The engine requests run through (the metrics-observed one). */
  engine: () => GraphQLEngine;
  /** The current allow-list and endpoints (the unwrapped engine's). */
  serving: () => Serving | undefined;
  /** How a request runs: the @cached layer when there is one (cache/cache.ts), else `engine.execute`. */
  run?: (engine: GraphQLEngine, req: GraphQLRequest, session: Session, clientIp: string) => Promise<{ response: GraphQLResponse; headers?: Record<string, string> }>;
}

function send(reply: FastifyReply, status: number, body: unknown, headers: Record<string, string> = {}): FastifyReply {
  return reply.code(status).headers(headers).header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(body));
}

const NUMERIC = new Set(['Int', 'Float', 'Number', 'Double', 'float8', 'numeric']);
const BOOLEAN = new Set(['Bool', 'Boolean']);

/** upstream `resolveVar` for a value from the URL or the query string. */
function resolveText(name: string, type: TypeNode, text: string): { value?: unknown; error?: string } {
  const nonNull = type.kind === Kind.NON_NULL_TYPE;
  const inner = nonNull ? type.type : type;
  if (inner.kind === Kind.LIST_TYPE) return { error: `List variables are not currently supported in URL or Query parameters. (Variable ${name}, with value ${JSON.stringify(text)})` };
  const typeName = inner.kind === Kind.NAMED_TYPE ? inner.name.value : '';
  if (typeName === 'Boolean' && text === '') return { value: true };
  if (!nonNull && text === '') return {};
  let decoded: unknown;
  try {
    decoded = JSON.parse(text);
  } catch {
    return { value: text };
  }
  if (typeof decoded === 'boolean' && BOOLEAN.has(typeName)) return { value: decoded };
  if (typeof decoded === 'number' && NUMERIC.has(typeName)) return { value: decoded };
  return { value: text };
}

/** The variables of `endpoint`'s query from the request (path params, query string, body). */
export function restVariables(endpoint: ResolvedEndpoint, params: Array<[string, string]>, query: Array<[string, string]>, body: Record<string, unknown> | undefined): Record<string, unknown> {
  const defs = new Map((endpoint.op.variableDefinitions ?? []).map((d) => [d.variable.name.value, d.type]));
  const out: Record<string, unknown> = {};
  const provided: Array<[string, { text: string } | { json: unknown }]> = [
    ...query.map(([k, v]) => [k, { text: v }] as [string, { text: string }]),
    ...Object.entries(body ?? {}).map(([k, v]) => [k, { json: v }] as [string, { json: unknown }]),
    ...params.map(([k, v]) => [k, { text: v }] as [string, { text: string }]),
  ];
  for (const [name, v] of provided) {
    const type = defs.get(name);
    if (!type) throw new QErr('bad-request', `Unexpected variable ${name}`, '$');
    if ('json' in v) {
      out[name] = v.json;
      continue;
    }
    const r = resolveText(name, type, v.text);
    if (r.error) throw new QErr('bad-request', r.error, '$');
    if ('value' in r) out[name] = r.value;
  }
  return out;
}

/** The admin schema for the OpenAPI document, by introspection, once per engine generation. */
function adminSchemaCache(engine: () => GraphQLEngine) {
  let cached: { generation: number; schema: GraphQLSchema } | undefined;
  return async (): Promise<GraphQLSchema> => {
    const e = engine();
    const generation = e.generation?.() ?? -1;
    if (cached && cached.generation === generation && generation >= 0) return cached.schema;
    const res = await e.execute({ query: getIntrospectionQuery({ descriptions: true }) }, { role: 'admin', vars: {}, isAdmin: true });
    if (!res.data) throw new QErr('unexpected', 'the schema could not be introspected', '$', res.errors);
    const schema = buildClientSchema(res.data as IntrospectionQuery);
    cached = { generation, schema };
    return schema;
  };
}

export function registerRestRoutes(app: FastifyInstance, deps: RestRouteDeps): void {
  const run: NonNullable<RestRouteDeps['run']> = deps.run ?? (async (engine, req, session, clientIp) => ({ response: await engine.execute(req, session, { clientIp }) }));
  const handle = async (req: FastifyRequest, reply: FastifyReply) => {
    let session: Session;
    try {
      session = (await deps.auth.authenticate(normalizeHeaders(req.headers), undefined)).session;
    } catch (err) {
      if (err instanceof QErr) return send(reply, err.status, err.body());
      throw err;
    }
    try {
      const [rawPath = '', rawQuery = ''] = req.url.slice('/api/rest/'.length).split(/\?(.*)/s, 2);
      let path: string[];
      try {
        path = rawPath.split('/').map((s) => decodeURIComponent(s));
      } catch {
        throw new QErr('bad-request', 'the URL path is not valid percent-encoding', '$');
      }
      const found = matchEndpoint(deps.serving()?.endpoints ?? [], req.method, path);
      if (found.kind === 'not-found') throw new QErr('not-found', 'Endpoint not found', '$');
      if (found.kind === 'method') throw new QErr('method-not-allowed', `Allowed methods: ${found.allowed.join(', ')}`, '$', undefined, 405);
      if (found.kind === 'ambiguous') throw new QErr('unexpected', 'Multiple endpoints match request', '$');
      // App.hs: a body that is a JSON object gives variables; anything else is ignored.
      let body: Record<string, unknown> | undefined;
      const text = typeof req.body === 'string' ? req.body : '';
      if (text.trim() !== '') {
        try {
          const parsed: unknown = JSON.parse(text);
          if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
        } catch {
          // not JSON: no body variables, as upstream
        }
      }
      const query = [...new URLSearchParams(rawQuery).entries()];
      const variables = restVariables(found.endpoint, found.params, query, body);
      const { response, headers } = await run(deps.engine(), { query: found.endpoint.query, variables, operationName: null }, session, req.ip);
      const first = response.errors?.[0];
      if (first) {
        const code = first.extensions.code;
        const status = statusForCode(code);
        return send(reply, status, { path: first.extensions.path, error: first.message, code, ...(first.extensions.internal !== undefined ? { internal: first.extensions.internal } : {}) }, headers);
      }
      return send(reply, 200, response.data ?? null, headers);
    } catch (err) {
      if (err instanceof QErr) return send(reply, err.status, err.body());
      throw err;
    }
  };
  app.route({ method: [...METHODS], url: '/api/rest/*', handler: handle });

  const schema = adminSchemaCache(deps.engine);
  // Hasura serves the document to the admin only (App.hs `onlyAdmin` on /api/swagger/json).
  app.get('/api/swagger/json', async (req, reply) => {
    try {
      const { session } = await deps.auth.authenticate(normalizeHeaders(req.headers), undefined);
      if (session.role !== 'admin') throw new QErr('access-denied', 'restricted access : admin only', '$', undefined, 400);
      return send(reply, 200, buildOpenApi(await schema(), deps.serving()?.endpoints ?? []));
    } catch (err) {
      if (err instanceof QErr) return send(reply, err.status, err.body());
      throw err;
    }
  });
}

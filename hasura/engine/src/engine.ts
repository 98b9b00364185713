/**
 * The query engine: metadata → introspection → per-role schema → validation → compile → execute
 * (docs/style.md §5 "The engine by phase"). One SQL statement per operation.
 */
import { parse, type DocumentNode, type FieldNode, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import type pg from 'pg';
import { inSpan } from '@linkport/common';
import type { CreateEngine, EngineOptions, ExecuteOptions, GraphQLEngine, GraphQLRequest, GraphQLResponse, Metadata, Session } from './contract.ts';
import { compileQueryRoot } from './compile/operation.ts';
import { compileStream, isStreamField } from './compile/stream.ts';
import { runMutationField } from './compile/mutation.ts';
import { CompileContext } from './compile/context.ts';
import { runIntrospection } from './execute/introspection.ts';
import { inTransaction, runJson, runJsonText } from './execute/run.ts';
import { passthroughResponse } from './execute/passthrough.ts';
import { sql, value } from './sql/sql.ts';
import { introspect } from './introspection/introspect.ts';
import { buildRoleSchema } from './schema/build-role.ts';
import { fieldMeta } from './schema/meta.ts';
import type { Model } from './schema/model.ts';
import { buildModel, referencedFunctions, trackedTables } from './schema/resolve-metadata.ts';
import { introspectFunctions } from './introspection/functions.ts';
import { introspectEnums, type EnumCache } from './introspection/enums.ts';
import { QErr } from './errors.ts';
import { pickOperation, resolveOperation, type ResolvedField } from './validation/resolve.ts';
import { connectionError, isConnectionError } from './execute/pg-errors.ts';
import { HARD_MAX_DEPTH, measureOperation } from './limits/measure.ts';
import { limitFor, parseApiLimits, rateFor, RateLimiter, stricter, type ApiLimits } from './limits/api-limits.ts';
import { checkAllowlist } from './allowlist/allowlist.ts';
import { buildServing, type Serving } from './rest/serving.ts';

const PLACEHOLDER = "There are no queries available to the current role. Either there are no sources or remote schemas configured, or the current role doesn't have the required permissions.";

interface State { model: Model; schemas: Map<string, GraphQLSchema>; apiLimits: ApiLimits; serving: Serving }

/** Views take mutations only when PostgreSQL can write through them (`isMutable`, docs/research/hasura-v2.md §A.4). */
const VIEW_MUTABILITY = `SELECT n.nspname AS schema, c.relname AS name, pg_relation_is_updatable(c.oid, true) AS bits
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN unnest($1::text[], $2::text[]) AS w(s, t) ON w.s = n.nspname AND w.t = c.relname WHERE c.relkind = 'v'`;

async function load(pool: pg.Pool, md: Metadata, enumCache: EnumCache, inferFunctionPermissions: boolean): Promise<State> {
  const catalog = await introspect(pool, trackedTables(md).map((t) => t.ref));
  const views = [...catalog.values()].filter((t) => t.kind === 'v');
  if (views.length) {
    const res = await pool.query<{ schema: string; name: string; bits: number }>(VIEW_MUTABILITY, [views.map((v) => v.schema), views.map((v) => v.name)]);
    for (const r of res.rows) {
      const t = catalog.get(`${r.schema}.${r.name}`) as (PgTableWithMutability | undefined);
      // pg_relation_is_updatable bits: 8 INSERT, 4 UPDATE, 16 DELETE.
      if (t) t.mutable = { insert: (r.bits & 8) !== 0, update: (r.bits & 4) !== 0, delete: (r.bits & 16) !== 0 };
    }
  }
  const fns = await introspectFunctions(pool, referencedFunctions(md));
  // set_api_limits validated the JSON; a hand-edited api_limits.yaml that does not parse is
  // refused here, so the metadata is reported inconsistent rather than silently unlimited.
  const apiLimits = parseApiLimits(md.api_limits, '$.api_limits');
  const model = buildModel(md, catalog, fns, await introspectEnums(pool, md, catalog, enumCache), { inferFunctionPermissions });
  const admin = adminSchemaOrPrune(model);
  // Allow-list, REST endpoints, collection queries checked against the admin schema
  // (rest/serving.ts): their inconsistencies are reported with the model's.
  const serving = buildServing(md, admin);
  model.inconsistent.push(...serving.inconsistent);
  return { model, schemas: new Map([['\0admin', admin]]), apiLimits, serving };
}

/**
 * One bad object must never take the whole API down (Hasura builds each object separately and
 * marks the ones that fail inconsistent). The checks in buildModel catch the known cases; should
 * the admin schema (the superset of every role's) still fail to build, functions and computed
 * fields are taken out and put back one at a time, and those that break it are reported.
 */
function adminSchemaOrPrune(model: Model): GraphQLSchema {
  try {
    return buildRoleSchema(model, null, false);
  } catch (first) {
    const fns = [...model.functions];
    const cfs = [...model.tables.values()].flatMap((t) => [...t.computed.values()].map((cf) => ({ t, cf })));
    model.functions.length = 0;
    for (const { t, cf } of cfs) t.computed.delete(cf.name);
    let schema: GraphQLSchema;
    try { schema = buildRoleSchema(model, null, false); } catch { throw first; }
    const reportBroken = (name: string, type: string, definition: unknown, err: unknown) => {
      model.inconsistent.push({ definition, name, type, reason: `Inconsistent object: ${err instanceof Error ? err.message : String(err)}` });
    };
    for (const f of fns) {
      model.functions.push(f);
      try { schema = buildRoleSchema(model, null, false); } catch (err) {
        model.functions.pop();
        reportBroken(`function ${f.fn.schema === 'public' ? f.fn.name : `${f.fn.schema}.${f.fn.name}`} in source default`, 'function', { function: { schema: f.fn.schema, name: f.fn.name } }, err);
      }
    }
    for (const { t, cf } of cfs) {
      t.computed.set(cf.name, cf);
      try { schema = buildRoleSchema(model, null, false); } catch (err) {
        t.computed.delete(cf.name);
        reportBroken(`computed_field ${cf.name} in table ${t.schema === 'public' ? t.name : `${t.schema}.${t.name}`} in source default`, 'computed_field', { name: cf.name, table: { schema: t.schema, name: t.name } }, err);
      }
    }
    return schema;
  }
}

/** Parsed documents by text: clients repeat the same few queries (bounded, oldest evicted). */
const docCache = new Map<string, DocumentNode>();
function parseCached(query: string): DocumentNode {
  const hit = docCache.get(query);
  if (hit) return hit;
  let doc: DocumentNode;
  try { doc = parse(query, { maxTokens: 100_000 }); } catch (e) {
    // A request whose query does not parse fails JSON decoding of GQLReq in Hasura: parse-failed at $.query.
    throw new QErr('parse-failed', e instanceof Error ? e.message.replace(/^Syntax Error: /, '') : 'not a valid graphql query', '$.query');
  }
  if (query.length < 20_000) {
    if (docCache.size >= 1000) docCache.delete(docCache.keys().next().value!);
    docCache.set(query, doc);
  }
  return doc;
}

type PgTableWithMutability = { mutable?: { insert: boolean; update: boolean; delete: boolean } };

const isAdminRole = (s: Session): boolean => s.role === 'admin';

const BOOL_TRUE = ['true', 't', 'yes', 'y'];
const BOOL_FALSE = ['false', 'f', 'no', 'n'];
/**
 * `x-hasura-use-backend-only-permissions`, honoured only with the admin secret (docs
 * auth/authorization/permissions/backend-only.mdx; the message is Hasura's `parseStringAsBool`).
 */
function useBackendOnly(s: Session): boolean {
  const raw = s.vars['x-hasura-use-backend-only-permissions'];
  if (raw === undefined) return false;
  const v = raw.toLowerCase();
  if (!BOOL_TRUE.includes(v) && !BOOL_FALSE.includes(v)) {
    throw new QErr('bad-request', 'x-hasura-use-backend-only-permissions:  Not a valid boolean text. True values are ["true","t","yes","y"] and  False values are ["false","f","no","n"]. All values are case insensitive', '$');
  }
  return s.isAdmin && BOOL_TRUE.includes(v);
}

export const createEngine: CreateEngine = async (pool, metadata, options: EngineOptions = {}) => {
  const enumCache: EnumCache = new Map();
  let state = await load(pool, metadata, enumCache, options.inferFunctionPermissions ?? true);
  const stringify = options.stringifyNumericTypes ?? true;
  const passthrough = options.jsonPassthrough ?? 'compact';
  const limits = { maxDepth: options.maxDepth ?? 0, maxComplexity: options.maxComplexity ?? 0 };
  const maxNodes = options.maxNodes ?? 0;
  const maxAliases = options.maxAliases ?? 0;
  const maxVariablesBytes = options.maxVariablesBytes ?? 0;
  const poolTimeoutMs = options.queryTimeoutMs ?? 0;
  const livePool = options.livePool ?? pool;
  const rates = new RateLimiter(options.now);

  /**
   * The size checks, before anything is expanded or resolved (issue 11): depth, nodes and
   * aliases as measured over the fragment graph, each against the env ceiling tightened by the
   * role's api_limits (Hasura's depth_limit / node_limit).
   */
  const checkShape = (doc: DocumentNode, op: OperationDefinitionNode, role: string): number => {
    const shape = measureOperation(doc, op);
    const depthLimit = stricter(limits.maxDepth, limitFor(state.apiLimits, 'depth', role));
    if (shape.depth > HARD_MAX_DEPTH || (depthLimit > 0 && shape.depth > depthLimit))
      throw new QErr('validation-failed', `the query exceeds the maximum allowed depth of ${depthLimit > 0 ? Math.min(depthLimit, HARD_MAX_DEPTH) : HARD_MAX_DEPTH}`, '$');
    const nodeLimit = stricter(maxNodes, limitFor(state.apiLimits, 'node', role));
    if (nodeLimit > 0 && shape.nodes > nodeLimit)
      throw new QErr('validation-failed', `the query exceeds the maximum allowed node count of ${nodeLimit} (it has ${shape.nodes} fields once fragments are expanded)`, '$');
    if (maxAliases > 0 && shape.aliases > maxAliases)
      throw new QErr('validation-failed', `the query exceeds the maximum allowed alias count of ${maxAliases}`, '$');
    return depthLimit;
  };

  /** The statement time limit for `role` when it differs from the pool's own; undefined = the pool's. */
  const timeoutFor = (role: string): number | undefined => {
    const api = limitFor(state.apiLimits, 'time', role);
    const ms = stricter(poolTimeoutMs, api === undefined ? undefined : api * 1000);
    return ms === poolTimeoutMs ? undefined : ms;
  };

  const schemaFor = (role: string, admin: boolean, backendOnly: boolean): GraphQLSchema => {
    const key = admin ? '\0admin' : backendOnly ? `\0backend\0${role}` : role;
    let s = state.schemas.get(key);
    if (!s) { s = buildRoleSchema(state.model, admin ? null : role, backendOnly); state.schemas.set(key, s); }
    return s;
  };

  /** Everything up to execution: checks, parse, validation, the role's schema, the compile context. */
  function prepare(req: GraphQLRequest, session: Session, opts: ExecuteOptions) {
    if (typeof req?.query !== 'string') throw new QErr('validation-failed', 'the key \'query\' was not present', '$');
    const rate = opts.live ? undefined : rateFor(state.apiLimits, session.role, session.vars, opts.clientIp);
    if (rate && !rates.take(rate.key, rate.max))
      throw new QErr('rate-limit-exceeded', `rate limit exceeded: at most ${rate.max} operations per minute for role "${session.role}"`, '$');
    if (maxVariablesBytes > 0 && req.variables && typeof req.variables === 'object') {
      // Bounded by the body limit already; the JSON length is what a client sent, near enough.
      const size = JSON.stringify(req.variables).length;
      if (size > maxVariablesBytes) throw new QErr('validation-failed', `the variables exceed the maximum allowed size of ${maxVariablesBytes} bytes`, '$.variables');
    }
    // Hasura answers APQ requests this way unless persisted queries are configured (Server/App.hs).
    const ext = (req as { extensions?: { persistedQuery?: unknown } | null }).extensions;
    if (ext && typeof ext === 'object' && ext.persistedQuery) throw new QErr('not-supported', 'Automatic Persisted Queries is not enabled', '$');
    // Phase spans (common/src/telemetry inSpan): children of the request's span when it is sampled,
    // nothing otherwise (a subscription planned over WebSocket has no request span). The SQL is the
    // pg instrumentation's span under `graphql.execute` (`db.query.text`, parameters never
    // recorded), after its `pg-pool.connect` span: the wait for a connection.
    const doc = inSpan('graphql.parse', undefined, () => parseCached(req.query));
    checkAllowlist(options.allowlist ?? 'off', state.serving.allowlist, doc, session);
    const admin = isAdminRole(session);
    const backendOnly = useBackendOnly(session);
    const vars = (req.variables ?? {}) as Record<string, unknown>;
    const { schema, op, resolved } = inSpan('graphql.validate', undefined, (span) => {
      const schema = schemaFor(session.role, admin, backendOnly);
      const op = pickOperation(doc, req.operationName);
      span?.setAttributes({ 'graphql.operation.type': op.operation, ...(op.name ? { 'graphql.operation.name': op.name.value } : {}) });
      const depthLimit = checkShape(doc, op, session.role);
      return { schema, op, resolved: resolveOperation(schema, doc, op, vars, { ...limits, maxDepth: depthLimit }) };
    });
    const dbPool = opts.live ? livePool : pool;
    const timeoutMs = timeoutFor(session.role);
    const dbFields: ResolvedField[] = [];
    const introFields: FieldNode[] = [];
    for (const f of resolved.fields) {
      if (f.name === '__schema' || f.name === '__type') introFields.push(...f.nodes);
      else if (f.def && fieldMeta(f.def.extensions)?.kind !== 'placeholder') dbFields.push(f);
    }
    const ctx = new CompileContext(state.model, session, stringify, backendOnly);
    const introData = () => (introFields.length ? runIntrospection(schema, doc, op, introFields, vars) : {});
    /** `data` in selection order from the database fields' and introspection's answers. */
    const respond = (dbData: Record<string, unknown>, intro: Record<string, unknown>): GraphQLResponse => {
      const data: Record<string, unknown> = {};
      for (const f of resolved.fields) {
        if (f.name === '__typename') data[f.alias] = (resolved.kind === 'mutation' ? schema.getMutationType() : resolved.kind === 'subscription' ? schema.getSubscriptionType() : schema.getQueryType())!.name;
        else if (f.name === '__schema' || f.name === '__type') data[f.alias] = intro[f.alias];
        else if (f.def && fieldMeta(f.def.extensions)?.kind === 'placeholder') data[f.alias] = PLACEHOLDER;
        else data[f.alias] = dbData[f.alias];
      }
      return { data };
    };
    return { resolved, dbFields, dbPool, timeoutMs, ctx, introData, respond };
  }

  async function run(req: GraphQLRequest, session: Session, opts: ExecuteOptions): Promise<GraphQLResponse> {
    const { resolved, dbFields, dbPool, timeoutMs, ctx, introData, respond } = prepare(req, session, opts);
    let dbData: Record<string, unknown> = {};
    if (resolved.kind === 'mutation') {
      // Root fields run in order, in one transaction; any error rolls all of them back (docs/research/hasura-v2.md §D).
      // A field's statement is compiled when its turn comes, so a mutation's compile work is inside
      // its execute span.
      if (dbFields.length) dbData = await inSpan('graphql.execute', undefined, () => inTransaction(dbPool, async (exec) => {
        const out: Record<string, unknown> = {};
        // The session as `hasura.user` for the transaction: event triggers record it as the
        // event's session_variables (Hasura's setHeadersTx; init_pg_source.sql insert_event_log).
        await exec(sql`SELECT set_config('hasura.user', ${value(JSON.stringify({ ...session.vars, 'x-hasura-role': session.role }))}, true) AS data`, '$');
        for (const f of dbFields) out[f.alias] = await runMutationField(ctx, f, exec);
        return out;
      }, timeoutMs));
    } else if (dbFields.length) {
      const statement = inSpan('graphql.compile', undefined, () => compileQueryRoot(ctx, dbFields));
      // Every root field from the database: `data` is the statement's JSON text as it is
      // (execute/passthrough.ts). Introspection, __typename and placeholder fields need `respond`.
      if (passthrough !== 'off' && resolved.kind === 'query' && dbFields.length === resolved.fields.length) {
        const text = await inSpan('graphql.execute', undefined, () => runJsonText(dbPool, statement, timeoutMs));
        if (text !== undefined) return passthroughResponse(text, passthrough);
      } else {
        dbData = await inSpan('graphql.execute', undefined, () => runJson(dbPool, statement, timeoutMs));
      }
    }
    return respond(dbData, introData());
  }

  /** Errors as execute answers them (Hasura's codes; internals only for admin). */
  const errorResponse = (e: unknown, session: Session): GraphQLResponse => {
    const admin = isAdminRole(session);
    if (e instanceof QErr) return { errors: [e.toJSON(admin)] };
    if (isConnectionError(e)) return { errors: [connectionError(e).toJSON(admin)] };
    return { errors: [new QErr('unexpected', 'an unexpected error occurred', '$', admin ? String(e) : undefined).toJSON(admin)] };
  };

  /** Bumped by every reload: live plans of an older generation are planned again. */
  let generation = 0;

  const engine: GraphQLEngine = {
    execute(req, session, opts = {}) {
      // One span over the operation's phases (OTel GraphQL conventions); a Hasura error code is its
      // `error.type` and marks it failed — the HTTP status stays 200, as Hasura answers.
      return inSpan('graphql.operation', { 'graphql.role': session.role }, async (span) => {
        try {
          return await run(req, session, opts);
        } catch (e) {
          const res = errorResponse(e, session);
          if (span) {
            span.setAttribute('error.type', String(res.errors?.[0]?.extensions?.code ?? 'unexpected'));
            span.setStatus({ code: 2 /* SpanStatusCode.ERROR */ });
          }
          return res;
        }
      });
    },
    prepareLive(req, session) {
      // A subscription's plan for the multiplexer (subscriptions/multiplexer.ts): compiled once,
      // its statement re-run every refetch interval together with its cohort's (Hasura's
      // subscription plan, docs/research/hasura-v2.md §C.5). Errors come back as execute's would.
      try {
        const { resolved, dbFields, dbPool, timeoutMs, ctx, introData, respond } = prepare(req, session, { live: true });
        if (resolved.kind !== 'subscription') return { errors: [new QErr('validation-failed', 'not a subscription', '$').toJSON(isAdminRole(session))] };
        const intro = introData();
        // A streaming field is the subscription's only root field (Execute.hs buildSubscriptionPlan).
        if (dbFields.some(isStreamField)) {
          if (resolved.fields.length !== 1) throw new QErr('not-supported', 'exactly one root field is allowed for streaming subscriptions', '$');
          const { statement, cursorParam, cursorKey } = compileStream(ctx, dbFields[0]!);
          return { statement, pool: dbPool, timeoutMs, role: session.role, generation, respond: (dbData) => respond(dbData, intro), stream: { cursorParam, cursorKey } };
        }
        return {
          statement: dbFields.length ? compileQueryRoot(ctx, dbFields) : undefined,
          pool: dbPool,
          timeoutMs,
          role: session.role,
          generation,
          respond: (dbData) => respond(dbData, intro),
        };
      } catch (e) {
        return errorResponse(e, session);
      }
    },
    generation: () => generation,
    async reload(md, opts = {}) {
      // Enum values are read again only when asked (reload_metadata, DDL) or when the enum table
      // changed, as Hasura's schema cache keeps them (introspection/enums.ts).
      if (opts.refresh) enumCache.clear();
      state = await load(pool, md, enumCache, options.inferFunctionPermissions ?? true);
      generation++;
    },
    roles() { return state.model.roles; },
    serving() { return state.serving; },
    inconsistencies() { return state.model.inconsistent; },
    model() { return state.model; },
    batchLimit(role) { return stricter(options.maxBatch ?? 0, limitFor(state.apiLimits, 'batch', role)); },
  };
  return engine;
};

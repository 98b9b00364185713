/**
 * The query engine: metadata → introspection → per-role schema → validation → compile → execute
 * (STYLE.md "the engine by phase"). One SQL statement per operation.
 */
import { parse, type DocumentNode, type FieldNode, type GraphQLSchema } from 'graphql';
import type pg from 'pg';
import type { CreateEngine, EngineOptions, GraphQLEngine, GraphQLRequest, GraphQLResponse, Metadata, Session } from './contract.ts';
import { compileQueryRoot } from './compile/operation.ts';
import { runMutationField } from './compile/mutation.ts';
import { CompileContext } from './compile/context.ts';
import { runIntrospection } from './execute/introspection.ts';
import { inTransaction, runJson } from './execute/run.ts';
import { introspect } from './introspection/introspect.ts';
import { buildRoleSchema } from './schema/build-role.ts';
import { fieldMeta } from './schema/meta.ts';
import type { Model } from './schema/model.ts';
import { buildModel, referencedFunctions, trackedTables } from './schema/resolve-metadata.ts';
import { introspectFunctions } from './introspection/functions.ts';
import { QueryError } from './validation/errors.ts';
import { pickOperation, resolveOperation, type ResolvedField } from './validation/resolve.ts';

const PLACEHOLDER = "There are no queries available to the current role. Either there are no sources or remote schemas configured, or the current role doesn't have the required permissions.";

interface State { model: Model; schemas: Map<string, GraphQLSchema> }

/** Views take mutations only when PostgreSQL can write through them (`isMutable`, research §A.4). */
const VIEW_MUTABILITY = `SELECT n.nspname AS schema, c.relname AS name, pg_relation_is_updatable(c.oid, true) AS bits
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN unnest($1::text[], $2::text[]) AS w(s, t) ON w.s = n.nspname AND w.t = c.relname WHERE c.relkind = 'v'`;

async function load(pool: pg.Pool, md: Metadata): Promise<State> {
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
  return { model: buildModel(md, catalog, fns), schemas: new Map() };
}

/** Parsed documents by text: clients repeat the same few queries (bounded, oldest evicted). */
const docCache = new Map<string, DocumentNode>();
function parseCached(query: string): DocumentNode {
  const hit = docCache.get(query);
  if (hit) return hit;
  let doc: DocumentNode;
  try { doc = parse(query, { maxTokens: 100_000 }); } catch (e) {
    // A request whose query does not parse fails JSON decoding of GQLReq in Hasura: parse-failed at $.query.
    throw new QueryError('parse-failed', e instanceof Error ? e.message.replace(/^Syntax Error: /, '') : 'not a valid graphql query', '$.query');
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
    throw new QueryError('bad-request', 'x-hasura-use-backend-only-permissions:  Not a valid boolean text. True values are ["true","t","yes","y"] and  False values are ["false","f","no","n"]. All values are case insensitive', '$');
  }
  return s.isAdmin && BOOL_TRUE.includes(v);
}

export const createEngine: CreateEngine = async (pool, metadata, options: EngineOptions = {}) => {
  let state = await load(pool, metadata);
  const stringify = options.stringifyNumericTypes ?? true;
  const limits = { maxDepth: options.maxDepth ?? 0, maxComplexity: options.maxComplexity ?? 0 };

  const schemaFor = (role: string, admin: boolean, backendOnly: boolean): GraphQLSchema => {
    const key = admin ? '\0admin' : backendOnly ? `\0backend\0${role}` : role;
    let s = state.schemas.get(key);
    if (!s) { s = buildRoleSchema(state.model, admin ? null : role, backendOnly); state.schemas.set(key, s); }
    return s;
  };

  async function run(req: GraphQLRequest, session: Session): Promise<GraphQLResponse> {
    if (typeof req?.query !== 'string') throw new QueryError('validation-failed', 'the key \'query\' was not present', '$');
    // Hasura answers APQ requests this way unless persisted queries are configured (Server/App.hs).
    const ext = (req as { extensions?: { persistedQuery?: unknown } | null }).extensions;
    if (ext && typeof ext === 'object' && ext.persistedQuery) throw new QueryError('not-supported', 'Automatic Persisted Queries is not enabled', '$');
    const doc = parseCached(req.query);
    const admin = isAdminRole(session);
    const backendOnly = useBackendOnly(session);
    const schema = schemaFor(session.role, admin, backendOnly);
    const op = pickOperation(doc, req.operationName);
    const vars = (req.variables ?? {}) as Record<string, unknown>;
    const resolved = resolveOperation(schema, doc, op, vars, limits);
    const dbFields: ResolvedField[] = [];
    const introFields: FieldNode[] = [];
    for (const f of resolved.fields) {
      if (f.name === '__schema' || f.name === '__type') introFields.push(...f.nodes);
      else if (f.def && fieldMeta(f.def.extensions)?.kind !== 'placeholder') dbFields.push(f);
    }
    const ctx = new CompileContext(state.model, session, stringify, backendOnly);
    let dbData: Record<string, unknown> = {};
    if (resolved.kind === 'mutation') {
      // Root fields run in order, in one transaction; any error rolls all of them back (research §D).
      if (dbFields.length) dbData = await inTransaction(pool, admin, async (exec) => {
        const out: Record<string, unknown> = {};
        for (const f of dbFields) out[f.alias] = await runMutationField(ctx, f, exec);
        return out;
      });
    } else if (dbFields.length) dbData = await runJson(pool, compileQueryRoot(ctx, dbFields), admin);
    const introData = introFields.length ? runIntrospection(schema, doc, op, introFields, vars) : {};
    const data: Record<string, unknown> = {};
    for (const f of resolved.fields) {
      if (f.name === '__typename') data[f.alias] = (resolved.kind === 'mutation' ? schema.getMutationType() : resolved.kind === 'subscription' ? schema.getSubscriptionType() : schema.getQueryType())!.name;
      else if (f.name === '__schema' || f.name === '__type') data[f.alias] = introData[f.alias];
      else if (f.def && fieldMeta(f.def.extensions)?.kind === 'placeholder') data[f.alias] = PLACEHOLDER;
      else data[f.alias] = dbData[f.alias];
    }
    return { data };
  }

  const engine: GraphQLEngine = {
    async execute(req, session) {
      try {
        return await run(req, session);
      } catch (e) {
        const admin = isAdminRole(session);
        if (e instanceof QueryError) return { errors: [e.toJSON(admin)] };
        return { errors: [new QueryError('unexpected', 'an unexpected error occurred', '$', admin ? String(e) : undefined).toJSON(admin)] };
      }
    },
    async reload(md) { state = await load(pool, md); },
    roles() { return state.model.roles; },
  };
  return engine;
};

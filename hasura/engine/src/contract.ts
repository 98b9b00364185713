/**
 * The seam between the engine's two halves:
 *   - the query engine (metadata → introspection → schema → validation → compile → execute), and
 *   - the HTTP surface (auth, /v1/graphql, /v1/metadata, /v1/query, /v2/query, metadata store).
 * The HTTP half resolves a Session from the request and calls `GraphQLEngine.execute`; metadata
 * changes made through the APIs produce a new `Metadata` and call `reload`.
 */
import type pg from 'pg';
import type { SQL } from './sql/sql.ts';
import type { Serving } from './rest/serving.ts';

/** Hasura metadata, export_metadata format version 3 (`{version: 3, sources: [...]}`), as JSON. */
export interface Metadata {
  version: 3;
  sources: MetadataSource[];
  [extra: string]: unknown;
}

export interface MetadataSource {
  name: string;
  kind: 'postgres';
  tables: TableMetadata[];
  configuration: Record<string, unknown>;
  functions?: unknown[];
  [extra: string]: unknown;
}

export interface TableMetadata {
  table: { schema: string; name: string };
  configuration?: {
    custom_name?: string;
    custom_root_fields?: Record<string, string | { name?: string; comment?: string }>;
    column_config?: Record<string, { custom_name?: string; comment?: string }>;
    custom_column_names?: Record<string, string>;
  };
  object_relationships?: RelationshipMetadata[];
  array_relationships?: RelationshipMetadata[];
  select_permissions?: Array<{ role: string; permission: Record<string, unknown>; comment?: string }>;
  insert_permissions?: Array<{ role: string; permission: Record<string, unknown>; comment?: string }>;
  update_permissions?: Array<{ role: string; permission: Record<string, unknown>; comment?: string }>;
  delete_permissions?: Array<{ role: string; permission: Record<string, unknown>; comment?: string }>;
  [extra: string]: unknown;
}

export interface RelationshipMetadata {
  name: string;
  using: Record<string, unknown>;
  comment?: string;
}

/** Who is asking. `vars` keys are lower-cased (`x-hasura-user-id`), values strings. */
export interface Session {
  role: string;
  vars: Record<string, string>;
  /** true when authenticated with the admin secret (or no secret configured), whatever `role`. */
  isAdmin: boolean;
}

export interface GraphQLRequest {
  query: string;
  variables?: Record<string, unknown> | null;
  operationName?: string | null;
}

/** Hasura's error object: `{message, extensions: {path, code}}`. */
export interface HasuraError {
  message: string;
  extensions: { path: string; code: string; internal?: unknown };
}

export interface GraphQLResponse {
  data?: unknown;
  errors?: HasuraError[];
}

/** How one execution runs (all optional). */
export interface ExecuteOptions {
  /** A live-query execution (first result or poll): runs on the live-query pool. */
  live?: boolean | undefined;
  /** The client's address, for api_limits rate limits keyed by `"IP"`. */
  clientIp?: string | undefined;
}

export interface GraphQLEngine {
  /** Executes one operation: validation errors come back as `errors`, never thrown. */
  execute(req: GraphQLRequest, session: Session, opts?: ExecuteOptions): Promise<GraphQLResponse>;
  /** Operations allowed in one batched request for `role` (0 = no limit); absent = no limit. */
  batchLimit?(role: string): number;
  /** Re-introspects the database and rebuilds every role's schema from `metadata`. */
  reload(metadata: Metadata, opts?: ReloadOptions): Promise<void>;
  /** Roles that appear in the current metadata's permissions. */
  roles(): string[];
  /**
   * Objects of the last metadata given to `reload` that the engine left out of the schema
   * (functions, computed fields, relationships that do not resolve), in get_inconsistent_metadata's shape.
   */
  inconsistencies?(): Array<{ definition: unknown; name: string; reason: string; type: string }>;
  /**
   * Plans a subscription for multiplexing (subscriptions/multiplexer.ts): validated and compiled
   * once for this session; request errors come back as `execute` would answer them. Absent = the
   * engine cannot be multiplexed and each subscription polls `execute` on its own.
   */
  prepareLive?(req: GraphQLRequest, session: Session): LivePlan | GraphQLResponse;
  /** Bumped by every `reload`: a LivePlan of another generation must be planned again. */
  generation?(): number;
  /** The allow-list and REST endpoints of the current metadata (rest/serving.ts). */
  serving?(): Serving;
  /**
   * The model the current schema was built from (schema/model.ts `Model`): /v1/query data queries
   * resolve against it, as Hasura's RQL does against its schema cache, instead of introspecting
   * the catalog again for every query (admin/commands.ts `dataQuery`).
   */
  model?(): unknown;
}

/** A subscription compiled for one session, re-run every refetch interval. */
export interface LivePlan {
  /** The database fields as one statement returning one row with a JSON `data` cell; undefined = none. */
  statement: SQL | undefined;
  pool: pg.Pool;
  /** A statement time limit other than the pool's (api_limits time_limit); undefined = the pool's. */
  timeoutMs: number | undefined;
  role: string;
  generation: number;
  /** The response for the statement's `data` cell (introspection fields and __typename added). */
  respond(dbData: Record<string, unknown>): GraphQLResponse;
  /**
   * A streaming subscription (compile/stream.ts): the statement also yields a `cursor` cell, and
   * bind parameter `cursorParam` is the cursor value the streaming multiplexer advances.
   */
  stream?: { cursorParam: number; cursorKey: string } | undefined;
}

export interface ReloadOptions {
  /** Read what the engine keeps between rebuilds (enum tables' values) again from the database. */
  refresh?: boolean | undefined;
}

export type CreateEngine = (pool: pg.Pool, metadata: Metadata, options?: EngineOptions) => Promise<GraphQLEngine>;

export interface EngineOptions {
  /** Hasura's --stringify-numeric-types (bigint, numeric as strings). Default true for Linkport. */
  stringifyNumericTypes?: boolean;
  /**
   * ENGINE_JSON_PASSTHROUGH: a query whose root fields all come from the database answers with
   * PostgreSQL's JSON text instead of parsing and stringifying it (execute/passthrough.ts):
   * `compact` (default, the same bytes as JSON.stringify), `verbatim` (PostgreSQL's spaces, as
   * Hasura), `off` (parse and stringify).
   */
  jsonPassthrough?: 'off' | 'compact' | 'verbatim';
  /** HASURA_GRAPHQL_INFER_FUNCTION_PERMISSIONS (default true). */
  inferFunctionPermissions?: boolean;
  /** Maximum selection depth (0 = unlimited) — our guard against depth bombs. */
  maxDepth?: number;
  /** Maximum number of root fields × nested selections cost (0 = unlimited). */
  maxComplexity?: number;
  /** Fields after fragment expansion, counted without expanding (0 = unlimited). */
  maxNodes?: number;
  /** Aliased fields after fragment expansion (0 = unlimited). */
  maxAliases?: number;
  /** Operations in one batch (0 = unlimited); api_limits batch_limit tightens it per role. */
  maxBatch?: number;
  /** JSON size of an operation's variables (0 = unlimited). */
  maxVariablesBytes?: number;
  /**
   * The statement_timeout (ms) the pools' connections already carry (0 = none). A role whose
   * api_limits time_limit is stricter runs its statement under `SET LOCAL statement_timeout`.
   */
  queryTimeoutMs?: number;
  /** A separate, small pool for live queries, so subscriptions never take HTTP's connections. */
  livePool?: pg.Pool;
  /** HASURA_GRAPHQL_ENABLE_ALLOWLIST and its mode (allowlist/allowlist.ts); default off. */
  allowlist?: 'off' | 'global' | 'full';
  /** The clock of the api_limits rate limiter (tests drive it). */
  now?: () => number;
}

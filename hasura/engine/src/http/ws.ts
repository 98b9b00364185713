/**
 * GraphQL over WebSocket on `/v1/graphql` (and `/v1alpha1/graphql`), both protocols Hasura
 * speaks (docs/research/hasura-v2.md §C.4; WebSocket/Protocol.hs, WSServerApp.hs):
 *   - `graphql-transport-ws` when the client offers that subprotocol;
 *   - Apollo's legacy `graphql-ws` (subscriptions-transport-ws) otherwise.
 * Auth runs once, on `connection_init`, with the payload's `headers` over the handshake's; the
 * session ends when the credential expires (JWT `exp`). Queries and mutations answer one result
 * then `complete`. Subscription operations are live queries (live-query.ts, docs/research/hasura-v2.md §C.5): the
 * first result at once, then one more each time the polled result changes, until `stop`/`complete`
 * or the connection closes (which includes the credential expiring). With an engine that plans
 * subscriptions (`prepareLive`) the refetches are multiplexed across every connection of the
 * process (subscriptions/multiplexer.ts): one statement per batch of cohorts per interval.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { parse, type OperationDefinitionNode } from 'graphql';
import { WebSocketServer, type WebSocket } from 'ws';
import type { GraphQLEngine, GraphQLRequest, GraphQLResponse, HasuraError, Session } from '../contract.ts';
import { normalizeHeaders, type Authenticator } from '../auth/session.ts';
import { decodeRequest, runOne, runOneCached } from './graphql.routes.ts';
import type { QueryCache } from '../cache/cache.ts';
import { QErr, gqlError } from '../errors.ts';
import { DEFAULT_REFETCH_INTERVAL_MS, isRequestError, LiveQueries, LiveQuery, MultiplexedLiveQuery, StartQueue, StreamingSubscription } from './live-query.ts';
import { Multiplexer } from '../subscriptions/multiplexer.ts';
import { DEFAULT_STREAM_INTERVAL_MS, StreamMultiplexer } from '../subscriptions/streaming.ts';
import type { MultiplexerStats, SubscriptionKind } from '../subscriptions/metrics.ts';
import { credentialOf, revokes, type Credential, type RevocationEvent } from '../subscriptions/revocation.ts';

/** Subscription caps (issue 11): per connection, per user, for the whole process. */
export interface SubscriptionCaps {
  perConnection: number;
  perUser: number;
  total: number;
}

export const DEFAULT_CAPS: SubscriptionCaps = { perConnection: 100, perUser: 300, total: 10_000 };

/** Code of a subscription refused by a cap: the client should stop some before starting more. */
export const SUBSCRIPTION_LIMIT_CODE = 'subscription-limit-exceeded';

export interface WsDeps {
  auth: Authenticator;
  engine: () => GraphQLEngine;
  keepAliveMs: number;
  initTimeoutMs: number;
  /** `HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_REFETCH_INTERVAL`; default 1000 ms. */
  refetchIntervalMs?: number | undefined;
  /** `HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_BATCH_SIZE`: cohorts per statement; default 100. */
  batchSize?: number | undefined;
  /** false: every subscription polls on its own (no multiplexing); default true. */
  multiplexing?: boolean | undefined;
  /** Told the number of cohorts each multiplexed statement served (bench:subscriptions counts). */
  onLiveStatement?: ((cohorts: number) => void) | undefined;
  /** `HASURA_GRAPHQL_STREAMING_QUERIES_MULTIPLEXED_REFETCH_INTERVAL`; default 1000 ms. */
  streamRefetchIntervalMs?: number | undefined;
  /** `HASURA_GRAPHQL_STREAMING_QUERIES_MULTIPLEXED_BATCH_SIZE`: cohorts per statement; default 100. */
  streamBatchSize?: number | undefined;
  /** Told the number of cohorts each streaming statement served. */
  onStreamStatement?: ((cohorts: number) => void) | undefined;
  /** Told what each poll did, live or streaming (subscriptions/metrics.ts). */
  onPoll?: ((report: { kind: 'live' | 'streaming'; durationMs: number; statements: number }) => void) | undefined;
  caps?: SubscriptionCaps | undefined;
  /** Live-query executions running at once (the live pool's size); default 4. */
  startConcurrency?: number | undefined;
  /** Largest WebSocket message accepted (the HTTP body limit); default 2 MiB. */
  maxPayloadBytes?: number | undefined;
  /**
   * Core's verify endpoint (ENGINE_REVOCATION_VERIFY_URL): open credentials are re-verified there
   * when revocation events may have been missed (subscriptions/revocation.ts). Undefined = no re-verify.
   */
  revocationVerifyUrl?: string | undefined;
  /** @cached queries sent over the socket (cache/cache.ts); absent = every query runs. */
  cache?: QueryCache | undefined;
}

/** An initialised connection, as revocation and shutdown see it. */
interface OpenConnection {
  credential: Credential | undefined;
  /** The bearer token it was opened with (re-verified after missed revocations). */
  authorization: string | undefined;
  /** Closes it because its credential was revoked. */
  revoke(): void;
  /** Sends `complete` for every running operation, then closes (shutdown). */
  shutdown(): void;
}

/** What the live queries of every connection share: the caps' counters and the execution queue. */
class LiveShared {
  private total = 0;
  /** Live subscriptions open right now, across connections (the engine's gauge reads it). */
  get open(): number {
    return this.total;
  }
  private readonly perUser = new Map<string, number>();
  readonly queue: StartQueue;
  readonly caps: SubscriptionCaps;
  readonly mux: Multiplexer;
  readonly streams: StreamMultiplexer;
  readonly connections = new Set<OpenConnection>();

  constructor(deps: WsDeps) {
    this.caps = deps.caps ?? DEFAULT_CAPS;
    this.queue = new StartQueue(deps.startConcurrency ?? 4);
    // Multiplexed statements share the queue with first results, each poller its own owner, so
    // neither a flood of starts nor a large poller holds every live-pool connection.
    this.mux = new Multiplexer({
      engine: deps.engine,
      intervalMs: deps.refetchIntervalMs ?? DEFAULT_REFETCH_INTERVAL_MS,
      batchSize: deps.batchSize,
      schedule: (owner, fn) => this.queue.run(owner, fn),
      onStatement: deps.onLiveStatement,
      onPoll: deps.onPoll,
    });
    // Streams are always served by their multiplexer (a cursor must advance); with multiplexing
    // off each cohort is its own statement, the baseline bench:subscriptions compares with.
    this.streams = new StreamMultiplexer({
      engine: deps.engine,
      intervalMs: deps.streamRefetchIntervalMs ?? DEFAULT_STREAM_INTERVAL_MS,
      batchSize: deps.multiplexing === false ? 1 : deps.streamBatchSize,
      schedule: (owner, fn) => this.queue.run(owner, fn),
      onStatement: deps.onStreamStatement,
      onPoll: deps.onPoll,
    });
  }

  /** Why a new subscription is refused, or undefined when it may start. */
  refusal(connectionCount: number, user: string): string | undefined {
    if (connectionCount >= this.caps.perConnection)
      return `too many subscriptions on this connection: at most ${this.caps.perConnection}; stop one before starting another`;
    if ((this.perUser.get(user) ?? 0) >= this.caps.perUser)
      return `too many subscriptions for this user: at most ${this.caps.perUser} across all connections`;
    if (this.total >= this.caps.total) return `the server is at its subscription capacity (${this.caps.total}); retry later`;
    return undefined;
  }

  acquire(user: string): void {
    this.total++;
    this.perUser.set(user, (this.perUser.get(user) ?? 0) + 1);
  }

  release(user: string): void {
    this.total--;
    const n = (this.perUser.get(user) ?? 1) - 1;
    if (n > 0) this.perUser.set(user, n);
    else this.perUser.delete(user);
  }
}

/**
 * Who a subscription counts against: the user id when the session has one, else the role and the
 * peer address (anonymous sessions share a role, not an identity).
 */
function ownerKey(session: Session, req: IncomingMessage): string {
  const uid = session.vars['x-hasura-user-id'];
  return uid ? `user:${uid}` : `role:${session.role}@${req.socket.remoteAddress ?? ''}`;
}

const paths = new Set(['/v1/graphql', '/v1alpha1/graphql']);

export function operationType(req: GraphQLRequest): string | undefined {
  try {
    // Same token bound as the engine's parse: a huge document costs a bounded parse here too.
    const doc = parse(req.query, { maxTokens: 100_000 });
    const ops = doc.definitions.filter((d): d is OperationDefinitionNode => d.kind === 'OperationDefinition');
    const op = req.operationName ? ops.find((o) => o.name?.value === req.operationName) : ops.length === 1 ? ops[0] : undefined;
    return op?.operation;
  } catch {
    return undefined;
  }
}

const isSubscription = (decoded: GraphQLRequest | GraphQLResponse): decoded is GraphQLRequest =>
  'query' in decoded && typeof decoded.query === 'string' && operationType(decoded) === 'subscription';

/** Hasura's answer to a `start` whose id is still running (WSServerApp.hs onStart). */
const duplicateOperation = (id: string): HasuraError[] => [gqlError('start-failed', `an operation already exists with this id: ${id}`)];

/**
 * Starts a live query for `id` on a connection; it removes itself when its first result is an
 * error. Refused (on.refused, nothing started) when a cap is reached. Its executions go through
 * the shared fair queue, so a flood of starts waits its turn instead of failing.
 */
function startLive(
  deps: WsDeps,
  shared: LiveShared,
  owner: string,
  subs: LiveQueries,
  id: string,
  request: GraphQLRequest,
  session: Session,
  on: { first(res: GraphQLResponse): void; change(res: GraphQLResponse): void; refused(errors: HasuraError[]): void },
): void {
  const why = shared.refusal(subs.size, owner);
  if (why) {
    on.refused([gqlError(SUBSCRIPTION_LIMIT_CODE, why)]);
    return;
  }
  // A streaming subscription (`<table>_stream`) is recognised by its plan; a request error of
  // the plan is the answer execute would give, sent as the first result.
  const engine = deps.engine();
  const plan = engine.prepareLive?.(request, session);
  if (plan && !('respond' in plan) && isRequestError(plan)) {
    on.first(plan);
    return;
  }
  if (plan && 'respond' in plan && plan.stream) {
    shared.acquire(owner);
    const st: StreamingSubscription = new StreamingSubscription({
      mux: shared.streams,
      request,
      session,
      onData: (res) => on.change(res),
      onStop: () => shared.release(owner),
    });
    subs.add(id, st);
    void st.start();
    return;
  }
  shared.acquire(owner);
  const options = {
    engine: deps.engine,
    request,
    session,
    onFirst: (res: GraphQLResponse) => {
      if (isRequestError(res)) subs.remove(id, lq);
      on.first(res);
    },
    onChange: on.change,
    schedule: <T>(fn: () => Promise<T>) => shared.queue.run(owner, fn),
    onStop: () => shared.release(owner),
  };
  const lq: LiveQuery | MultiplexedLiveQuery =
    deps.multiplexing !== false && deps.engine().prepareLive
      ? new MultiplexedLiveQuery({ ...options, mux: shared.mux })
      : new LiveQuery({ ...options, intervalMs: deps.refetchIntervalMs ?? DEFAULT_REFETCH_INTERVAL_MS });
  subs.add(id, lq);
  lq.start().catch(() => subs.remove(id, lq));
}

/** Close code for a revoked credential: graphql-transport-ws's Unauthorized. */
export const REVOKED_CLOSE_CODE = 4401;

export interface WebSocketServerHandle {
  close(): Promise<void>;
  openSubscriptions(): number;
  /** Pollers, cohorts and subscribers of the live and streaming multiplexers. */
  stats(): Record<SubscriptionKind, MultiplexerStats>;
  /** Closes (4401) every connection opened with a credential `e` revokes; returns how many. */
  revoke(e: RevocationEvent): number;
  /** Re-verifies every open credential with core (revocations may have been missed); returns how many were closed. */
  reverify(): Promise<number>;
}

export function attachWebSocket(server: Server, deps: WsDeps): WebSocketServerHandle {
  const shared = new LiveShared(deps);
  const wss = new WebSocketServer({
    noServer: true,
    // ws's default is 100 MiB; a message is a request and gets the request body's bound.
    maxPayload: deps.maxPayloadBytes ?? 2 * 1024 * 1024,
    handleProtocols: (protocols) => (protocols.has('graphql-transport-ws') ? 'graphql-transport-ws' : protocols.has('graphql-ws') ? 'graphql-ws' : false),
  });
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    if (!paths.has(path)) {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      // ws reports a frame over maxPayload (and any protocol violation) as 'error' and then closes
      // the connection itself with 1009/1002 (ws docs, WebSocket 'error' event); without a listener
      // the error would end the process. Nothing to do here but not let it escape.
      ws.on('error', () => {});
      if (ws.protocol === 'graphql-transport-ws') transportWs(ws, req, deps, shared);
      else apolloWs(ws, req, deps, shared);
    });
  };
  server.on('upgrade', onUpgrade);
  return {
    openSubscriptions: () => shared.open,
    stats: () => ({
      live: { pollers: shared.mux.pollerCount, cohorts: shared.mux.cohortCount, subscribers: shared.mux.subscribers },
      streaming: { pollers: shared.streams.pollerCount, cohorts: shared.streams.cohortCount, subscribers: shared.streams.subscribers },
    }),
    revoke(e) {
      let n = 0;
      for (const c of [...shared.connections]) {
        if (c.credential && revokes(e, c.credential)) {
          c.revoke();
          n++;
        }
      }
      return n;
    },
    async reverify() {
      const url = deps.revocationVerifyUrl;
      if (!url) return 0;
      let n = 0;
      const conns = [...shared.connections].filter((c) => c.authorization);
      // A few at a time: a resync must not flood core.
      for (let i = 0; i < conns.length; i += 16) {
        await Promise.all(conns.slice(i, i + 16).map(async (c) => {
          try {
            const res = await fetch(url, { headers: { authorization: c.authorization! }, signal: AbortSignal.timeout(3000) });
            await res.body?.cancel();
            if (res.status === 401) {
              c.revoke();
              n++;
            }
          } catch {
            // core unreachable: try again on the next resync
          }
        }));
      }
      return n;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.off('upgrade', onUpgrade);
        // Every running operation gets its `complete`, then the connection closes as Hasura's
        // shutdown closes it: 1012 "shutting server down" (WebSocket/Server.hs shutdown →
        // forceConnReconnect), a code clients read as "reconnect".
        for (const c of [...shared.connections]) c.shutdown();
        shared.mux.close();
        shared.streams.close();
        for (const c of wss.clients) if (c.readyState === c.OPEN || c.readyState === c.CONNECTING) c.close(1012, 'shutting server down');
        wss.close(() => resolve());
      }),
  };
}

/**
 * Registers an initialised connection for revocation and shutdown; forgotten when it closes.
 * `credential` comes from the token the authenticator just verified.
 */
function register(shared: LiveShared, ws: WebSocket, headers: Record<string, string>, subs: LiveQueries, live: Set<string>): void {
  const conn: OpenConnection = {
    credential: credentialOf(headers),
    authorization: headers.authorization,
    revoke: () => {
      subs.stopAll();
      ws.close(REVOKED_CLOSE_CODE, 'Unauthorized');
    },
    shutdown: () => {
      for (const id of [...subs.ids(), ...live]) send(ws, { type: 'complete', id });
      subs.stopAll();
      live.clear();
    },
  };
  shared.connections.add(conn);
  ws.on('close', () => shared.connections.delete(conn));
}

/**
 * JWT `exp` reached: Hasura's `tokenExpiryHandler` (Transport/WebSocket.hs) sleeps until the
 * token's expiry, then the connection's handler returns (WebSocket/Server.hs, `EJwtExpired`) and
 * the socket is dropped — no close frame, no message: the client sees an abnormal closure (1006)
 * and reconnects with a fresh token. `terminate()` does the same.
 */
function expire(ws: WebSocket, subs: LiveQueries): void {
  subs.stopAll();
  ws.terminate();
}

async function authenticate(deps: WsDeps, req: IncomingMessage, payload: unknown): Promise<{ session: Session; expiresAt?: number | undefined; headers: Record<string, string> }> {
  const fromPayload =
    payload && typeof payload === 'object' && (payload as { headers?: unknown }).headers && typeof (payload as { headers: unknown }).headers === 'object'
      ? normalizeHeaders((payload as { headers: Record<string, unknown> }).headers)
      : {};
  const headers = { ...normalizeHeaders(req.headers), ...fromPayload };
  return { ...(await deps.auth.authenticate(headers)), headers };
}

const send = (ws: WebSocket, msg: unknown) => {
  if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg));
};

function parseMessage(data: unknown): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(String(data)) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) && typeof (v as { type?: unknown }).type === 'string' ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Timers of a connection: keep-alive and credential expiry, cleared on close. */
function lifecycle(ws: WebSocket) {
  const timers: NodeJS.Timeout[] = [];
  ws.on('close', () => timers.forEach(clearTimeout));
  return {
    every(ms: number, fn: () => void) {
      timers.push(setInterval(fn, ms));
    },
    at(epochMs: number | undefined, fn: () => void) {
      if (epochMs === undefined) return;
      timers.push(setTimeout(fn, Math.max(0, Math.min(epochMs - Date.now(), 2 ** 31 - 1))));
    },
    after(ms: number, fn: () => void) {
      const t = setTimeout(fn, ms);
      timers.push(t);
      return t;
    },
  };
}

/** Apollo `graphql-ws`: connection_init/ack, start → data|error → complete, stop, ka. */
function apolloWs(ws: WebSocket, req: IncomingMessage, deps: WsDeps, shared: LiveShared): void {
  const t = lifecycle(ws);
  let session: Session | undefined;
  let initError: string | undefined;
  const live = new Set<string>();
  const subs = new LiveQueries();
  ws.on('close', () => subs.stopAll());

  ws.on('message', (raw) => {
    const msg = parseMessage(raw);
    if (!msg) {
      send(ws, { type: 'connection_error', payload: 'parsing ClientMessage failed: invalid message' });
      return;
    }
    switch (msg.type) {
      case 'connection_init':
        authenticate(deps, req, msg.payload).then(
          (r) => {
            session = r.session;
            initError = undefined;
            send(ws, { type: 'connection_ack' });
            send(ws, { type: 'ka' });
            t.every(deps.keepAliveMs, () => send(ws, { type: 'ka' }));
            t.at(r.expiresAt, () => expire(ws, subs));
            register(shared, ws, r.headers, subs, live);
          },
          (err: unknown) => {
            initError = err instanceof QErr ? err.message : 'authentication failed';
            send(ws, { type: 'connection_error', payload: initError });
            ws.close(4400, `Connection initialization failed: ${initError}`.slice(0, 120));
          },
        );
        return;
      case 'start': {
        const id = msg.id;
        if (typeof id !== 'string') {
          send(ws, { type: 'connection_error', payload: 'parsing ClientMessage failed: key "id" not found' });
          return;
        }
        if (!session) {
          const why = initError ?? 'connection_init not received';
          send(ws, { type: 'error', id, payload: { errors: [gqlError('start-failed', `cannot start as connection_init failed with: ${why}`)] } });
          return;
        }
        if (live.has(id) || subs.has(id)) {
          send(ws, { type: 'error', id, payload: { errors: duplicateOperation(id) } });
          send(ws, { type: 'complete', id });
          return;
        }
        const decoded = decodeRequest(msg.payload);
        const current = session;
        if (isSubscription(decoded)) {
          startLive(deps, shared, ownerKey(current, req), subs, id, decoded, current, {
            first: (res) => {
              if (isRequestError(res)) {
                send(ws, { type: 'error', id, payload: { errors: res.errors } });
                send(ws, { type: 'complete', id });
              } else send(ws, { type: 'data', id, payload: res });
            },
            change: (res) => send(ws, { type: 'data', id, payload: res }),
            refused: (errors) => {
              send(ws, { type: 'error', id, payload: { errors } });
              send(ws, { type: 'complete', id });
            },
          });
          return;
        }
        live.add(id);
        void (async () => {
          // A query or mutation over WebSocket: @cached applies as over HTTP, without headers (Hasura's WebSocket.hs onStart).
          const { response: res } = await runOneCached(deps.cache, deps.engine(), decoded, current);
          if (!live.has(id)) return;
          if (isRequestError(res)) send(ws, { type: 'error', id, payload: { errors: res.errors } });
          else send(ws, { type: 'data', id, payload: res });
          send(ws, { type: 'complete', id });
          live.delete(id);
        })();
        return;
      }
      case 'stop':
        if (typeof msg.id !== 'string') {
          send(ws, { type: 'connection_error', payload: 'parsing ClientMessage failed: key "id" not found' });
          return;
        }
        live.delete(msg.id);
        subs.remove(msg.id);
        return;
      case 'connection_terminate':
        ws.close(1000, 'Connection terminated');
        return;
      default:
        send(ws, { type: 'connection_error', payload: `parsing ClientMessage failed: unexpected type "${String(msg.type)}"` });
    }
  });
}

/** `graphql-transport-ws`: close codes 4400/4401/4403/4408/4409/4429 as the protocol defines. */
function transportWs(ws: WebSocket, req: IncomingMessage, deps: WsDeps, shared: LiveShared): void {
  const t = lifecycle(ws);
  let session: Session | undefined;
  let initReceived = false;
  const live = new Set<string>();
  const subs = new LiveQueries();
  ws.on('close', () => subs.stopAll());
  const initTimer = t.after(deps.initTimeoutMs, () => {
    if (!session) ws.close(4408, 'Connection initialisation timeout');
  });

  ws.on('message', (raw) => {
    const msg = parseMessage(raw);
    if (!msg) {
      ws.close(4400, 'Invalid message received');
      return;
    }
    switch (msg.type) {
      case 'connection_init':
        if (initReceived) {
          ws.close(4429, 'Too many initialisation requests');
          return;
        }
        initReceived = true;
        authenticate(deps, req, msg.payload).then(
          (r) => {
            clearTimeout(initTimer);
            session = r.session;
            send(ws, { type: 'connection_ack' });
            t.every(deps.keepAliveMs, () => send(ws, { type: 'ping', payload: { message: 'keepalive' } }));
            t.at(r.expiresAt, () => expire(ws, subs));
            register(shared, ws, r.headers, subs, live);
          },
          () => ws.close(4403, 'Forbidden'),
        );
        return;
      case 'ping':
        send(ws, msg.payload === undefined ? { type: 'pong' } : { type: 'pong', payload: msg.payload });
        return;
      case 'pong':
        return;
      case 'subscribe': {
        const id = msg.id;
        if (!session) {
          ws.close(4401, 'Unauthorized');
          return;
        }
        if (typeof id !== 'string') {
          ws.close(4400, 'Invalid message received');
          return;
        }
        if (live.has(id) || subs.has(id)) {
          ws.close(4409, `Subscriber for ${id} already exists`);
          return;
        }
        const decoded = decodeRequest(msg.payload);
        const current = session;
        if (isSubscription(decoded)) {
          startLive(deps, shared, ownerKey(current, req), subs, id, decoded, current, {
            first: (res) => send(ws, isRequestError(res) ? { type: 'error', id, payload: res.errors } : { type: 'next', id, payload: res }),
            change: (res) => send(ws, { type: 'next', id, payload: res }),
            // graphql-transport-ws: `error` ends the operation; the connection stays open.
            refused: (errors) => send(ws, { type: 'error', id, payload: errors }),
          });
          return;
        }
        live.add(id);
        void (async () => {
          // A query or mutation over WebSocket: @cached applies as over HTTP, without headers (Hasura's WebSocket.hs onStart).
          const { response: res } = await runOneCached(deps.cache, deps.engine(), decoded, current);
          if (!live.has(id)) return;
          if (isRequestError(res)) {
            send(ws, { type: 'error', id, payload: res.errors });
          } else {
            send(ws, { type: 'next', id, payload: res });
            send(ws, { type: 'complete', id });
          }
          live.delete(id);
        })();
        return;
      }
      case 'complete':
        if (typeof msg.id === 'string') {
          live.delete(msg.id);
          subs.remove(msg.id);
        }
        return;
      default:
        ws.close(4400, `Invalid message type "${String(msg.type)}"`.slice(0, 120));
    }
  });
}

/**
 * GraphQL over the gateway's /v1/links/graphql: queries and mutations by HTTP POST, subscriptions by
 * graphql-ws (the graphql-transport-ws protocol) with the access token in connection_init's
 * payload — browsers cannot set headers on a WebSocket (gateway/dynamic/links.yml, Hasura's
 * "Authorization in connection_init"). The query texts are sent exactly as written in ops.ts:
 * they are the first-party collection the allow-list accepts.
 */
import { createClient, type Client } from 'graphql-ws';
import { session } from './api.ts';
import { ApiError } from './errors.ts';

export interface Op<TData, TVars> {
  readonly name: string;
  readonly query: string;
  /** Phantom fields: the operation's result and variables types (TypedDocumentNode's idea). */
  readonly __data?: TData;
  readonly __vars?: TVars;
}

export const op = <TData, TVars = Record<string, never>>(name: string, query: string): Op<TData, TVars> => ({ name, query });

interface GqlError {
  message: string;
  extensions?: { code?: string; path?: string };
}

function gqlError(errors: GqlError[]): ApiError {
  const e = errors[0]!;
  return new ApiError(e.extensions?.code ?? 'unexpected', e.message);
}

/** Read through a function: TypeScript narrows navigator.onLine after the first check. */
const isOffline = () => !navigator.onLine;

const JWT_CODES = new Set(['invalid-jwt', 'jwt-invalid-claims', 'invalid-headers']);

export async function gql<TData, TVars>(o: Op<TData, TVars>, variables?: TVars): Promise<TData> {
  const go = async () => {
    if (navigator.onLine === false) throw new ApiError('OFFLINE', 'offline');
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (session.token) headers.authorization = `Bearer ${session.token}`;
    let res: Response;
    try {
      res = await fetch('/v1/links/graphql', { method: 'POST', headers, body: JSON.stringify({ query: o.query, variables: variables ?? {}, operationName: o.name }) });
    } catch {
      throw new ApiError(isOffline() ? 'OFFLINE' : 'NETWORK', 'network error');
    }
    if (res.status === 429) {
      const ra = Number(res.headers.get('retry-after') ?? '60');
      throw new ApiError('RATE_LIMITED', 'rate limited', 429, Number.isFinite(ra) ? ra : 60);
    }
    if (res.status === 401) throw new ApiError('invalid-jwt', 'unauthorized', 401);
    if (res.status >= 500) throw new ApiError('SERVICE_UNAVAILABLE', `HTTP ${res.status}`, res.status);
    const body = (await res.json()) as { data?: TData; errors?: GqlError[] };
    if (body.errors?.length) throw gqlError(body.errors);
    return body.data as TData;
  };
  // A 429 comes from the gateway's limiter (rl-links), before the engine saw the request, so sending
  // it again is safe even for a mutation: short Retry-After waits (RFC 9110 §10.2.3) are waited out,
  // unseen, up to 10 s in all; a longer one is shown with its countdown (ui.tsx ErrorMessage).
  const patient = async (): Promise<TData> => {
    let waited = 0;
    for (;;) {
      try {
        return await go();
      } catch (err) {
        const wait = err instanceof ApiError && err.code === 'RATE_LIMITED' ? err.retryAfter : undefined;
        if (wait === undefined || wait > 5 || waited + wait > 10) throw err;
        // Spread the retries of requests refused together, so they do not all come back at once.
        const ms = Math.max(wait, 0.25) * 1000 * (1 + Math.random() / 2);
        waited += ms / 1000;
        await new Promise((r) => setTimeout(r, ms));
      }
    }
  };
  try {
    return await patient();
  } catch (err) {
    // An access token that expired while the tab slept: refresh once from the cookie, retry.
    if (err instanceof ApiError && JWT_CODES.has(err.code) && session.token) {
      if (await session.refresh()) return patient();
      throw new ApiError('SESSION_EXPIRED', 'session expired', 401);
    }
    throw err;
  }
}

let ws: Client | undefined;
let wsToken: string | undefined;

function wsClient(): Client {
  // A new token (refresh, another user) → a new connection: connection_init carries the identity.
  if (ws && wsToken !== session.token) {
    void ws.dispose();
    ws = undefined;
  }
  if (!ws) {
    wsToken = session.token;
    const url = new URL('/v1/links/graphql', location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    ws = createClient({
      url: url.toString(),
      lazy: true,
      retryAttempts: Infinity,
      shouldRetry: () => true,
      connectionParams: () => (session.token ? { headers: { Authorization: `Bearer ${session.token}` } } : {}),
    });
  }
  return ws;
}

export function disposeSubscriptions(): void {
  void ws?.dispose();
  ws = undefined;
}

/** Starts a subscription; returns its stop function. */
export function subscribe<TData, TVars>(o: Op<TData, TVars>, variables: TVars, onData: (d: TData) => void, onError: (e: ApiError) => void): () => void {
  return wsClient().subscribe<TData>(
    { query: o.query, variables: variables as Record<string, unknown>, operationName: o.name },
    {
      next: (r) => {
        if (r.errors?.length) onError(gqlError(r.errors as GqlError[]));
        else if (r.data) onData(r.data);
      },
      error: (e) => onError(new ApiError('NETWORK', e instanceof Error ? e.message : 'subscription closed')),
      complete: () => undefined,
    },
  );
}

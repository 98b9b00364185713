/**
 * Sending a case the way upstream's harness does (context.py `HGECtx.anyq`, `GQLWsClient`):
 * HTTP with headers as strings and the body as JSON; WebSocket over Apollo's `graphql-ws`
 * (`connection_init` with `payload.headers` → `connection_ack`, `start` id `hge_test`, the first
 * `data`/`error` for that id, then `complete`).
 */
import WebSocket from 'ws';
import { Kind, OperationTypeNode, parse, print, type DocumentNode } from 'graphql';

export interface Reply {
  status: number;
  body: unknown;
  headers: Record<string, string>;
  /** ws: the message type that answered (`data` / `error`). */
  wsType?: string;
}

export async function httpRequest(base: string, url: string, opts: { method?: string; headers?: Record<string, string>; body?: unknown }): Promise<Reply> {
  const method = (opts.method ?? 'POST').toUpperCase() === 'POSTJSON' ? 'POST' : (opts.method ?? 'POST').toUpperCase();
  const hasBody = method !== 'GET' && opts.body !== undefined;
  const res = await fetch(new URL(url, base), {
    method,
    headers: { ...(hasBody ? { 'content-type': 'application/json' } : {}), ...(opts.headers ?? {}) },
    ...(hasBody ? { body: JSON.stringify(opts.body) } : {}),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // non-JSON bodies (healthz) compare as text
  }
  const headers: Record<string, string> = {};
  res.headers.forEach((v, k) => (headers[k] = v));
  return { status: res.status, body, headers };
}

/**
 * The `subscription` transport (validate.py): the query becomes
 * `subscription … @_multiple_top_level_fields { … }`; the first `data` is the answer, then `stop`.
 * Returns undefined when the case is not a single query operation.
 */
export function asSubscription(queryText: string): string | undefined {
  try {
    const doc = parse(queryText);
    const ops = doc.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
    if (ops.length !== 1 || ops[0]!.operation !== OperationTypeNode.QUERY) return undefined;
    const op = ops[0]!;
    const sub = {
      ...op,
      operation: OperationTypeNode.SUBSCRIPTION,
      directives: [...(op.directives ?? []), { kind: Kind.DIRECTIVE, name: { kind: Kind.NAME, value: '_multiple_top_level_fields' }, arguments: [] }],
    };
    return print({ ...doc, definitions: doc.definitions.map((d) => (d === op ? sub : d)) } as DocumentNode);
  } catch {
    return undefined;
  }
}

export async function wsRequest(
  base: string,
  url: string,
  headers: Record<string, string>,
  payload: unknown,
  opts: { subscription?: boolean; timeoutMs?: number } = {},
): Promise<Reply> {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const wsUrl = new URL(url, base);
  wsUrl.protocol = wsUrl.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(wsUrl);
  const queue: Array<Record<string, unknown>> = [];
  let wake: (() => void) | undefined;
  let closed: string | undefined;
  ws.on('message', (raw) => {
    try {
      queue.push(JSON.parse(String(raw)) as Record<string, unknown>);
    } catch {
      queue.push({ type: 'unparsable' });
    }
    wake?.();
  });
  ws.on('close', (code, reason) => {
    closed = `closed ${code} ${String(reason)}`;
    wake?.();
  });
  ws.on('error', (err) => {
    closed = `error ${err.message}`;
    wake?.();
  });
  const deadline = Date.now() + timeoutMs;
  const next = async (pred: (m: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> => {
    for (;;) {
      const i = queue.findIndex(pred);
      if (i >= 0) return queue.splice(i, 1)[0]!;
      if (closed) throw new Error(`websocket ${closed}`);
      if (Date.now() > deadline) throw new Error('websocket timeout');
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 100);
      });
    }
  };
  try {
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.send(JSON.stringify({ type: 'connection_init', payload: { headers } }));
    const ack = await next((m) => m.type === 'connection_ack' || m.type === 'connection_error');
    if (ack.type !== 'connection_ack') return { status: 200, body: { errors: [{ message: String(ack.payload) }] }, headers: {}, wsType: 'connection_error' };
    ws.send(JSON.stringify({ type: 'start', id: 'hge_test', payload }));
    const first = await next((m) => m.id === 'hge_test');
    const body = first.payload;
    if (opts.subscription) {
      ws.send(JSON.stringify({ type: 'stop', id: 'hge_test' }));
    } else if (first.type === 'data' || first.type === 'error') {
      const done = await next((m) => m.id === 'hge_test');
      if (done.type !== 'complete') throw new Error(`expected complete, got ${String(done.type)}`);
    }
    return { status: 200, body, headers: {}, wsType: String(first.type) };
  } finally {
    ws.close();
  }
}

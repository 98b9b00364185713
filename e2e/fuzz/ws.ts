import WebSocket from 'ws';
import { graphqlPayload, operation, type GqlSchemaInfo } from './gen/graphql.ts';
import type { Rand } from './gen/rand.ts';

/**
 * Subscriptions over WebSocket through the gateway, in both protocols Hasura speaks:
 * `graphql-transport-ws` (graphql-ws) and the legacy `graphql-ws` (subscriptions-transport-ws).
 * Each case is one connection: a handshake (or none), then a script of frames — generated
 * subscription documents, floods past the per-connection cap, duplicate ids, frames before init,
 * broken JSON, binary and oversized frames.
 */

export interface WsCase {
  family: string;
  protocol: string;
  headers: Record<string, string>;
  frames: Array<string | Buffer>;
  /** How long to listen after the last frame. */
  listenMs: number;
}

export interface WsOutcome {
  /** HTTP status when the upgrade was refused, else 101. */
  status: number;
  closeCode: number | undefined;
  closeReason: string;
  /** Text of every frame the server sent. */
  received: string[];
  error: string | undefined;
  ms: number;
}

function subscriptionDoc(r: Rand, info: GqlSchemaInfo): string {
  if (r.chance(0.6)) return operation(r, info, 'subscription', 3);
  const p = graphqlPayload(r, info);
  try {
    const q = (JSON.parse(p.body.toString('utf8')) as { query?: unknown }).query;
    return typeof q === 'string' ? q : operation(r, info, 'subscription', 2);
  } catch {
    return p.body.toString('utf8');
  }
}

export function wsCase(r: Rand, info: GqlSchemaInfo, token: string | undefined, clientIp: string | undefined): WsCase {
  const modern = r.chance(0.6);
  const protocol = r.weighted([
    [10, modern ? 'graphql-transport-ws' : 'graphql-ws'],
    [1, r.pick(['', 'graphql-transport-ws, graphql-ws', 'mqtt', 'x'.repeat(5_000)])],
  ]);
  const headers: Record<string, string> = {};
  if (clientIp) headers['x-forwarded-for'] = clientIp;
  const auth = r.weighted<Record<string, unknown> | undefined>([
    [6, token ? { headers: { Authorization: `Bearer ${token}` } } : {}],
    [2, {}],
    [1, { headers: { Authorization: 'Bearer x.y.z' } }],
    [1, { headers: { 'X-Hasura-Role': 'admin', 'X-Hasura-Admin-Secret': 'guess' } }],
    [1, undefined],
  ]);
  const frames: Array<string | Buffer> = [];
  const init = JSON.stringify({ type: 'connection_init', ...(auth ? { payload: auth } : {}) });
  const sub = (id: string, query: string, variables?: unknown) =>
    JSON.stringify(modern ? { id, type: 'subscribe', payload: { query, variables } } : { id, type: 'start', payload: { query, variables } });
  const script = r.int(0, 7);
  let family: string;
  if (script !== 1) frames.push(init);
  switch (script) {
    case 0: {
      family = 'valid';
      for (let i = 0, n = r.int(1, 4); i < n; i++) frames.push(sub(String(i), operation(r, info, 'subscription', 3)));
      break;
    }
    case 1:
      family = 'before-init';
      frames.push(sub('1', operation(r, info, 'subscription', 2)));
      break;
    case 2: {
      // A flood on one connection: past the per-connection and per-user caps (issue 11 §5).
      const n = r.pick([50, 200, 1_000]);
      family = `flood-${n}`;
      const q = operation(r, info, 'subscription', 2);
      for (let i = 0; i < n; i++) frames.push(sub(`f${i}`, q));
      break;
    }
    case 3:
      family = 'hostile-document';
      for (let i = 0, n = r.int(1, 3); i < n; i++) frames.push(sub(`h${i}`, subscriptionDoc(r, info), r.chance(0.3) ? r.json(4) : undefined));
      break;
    case 4:
      family = 'duplicate-ids';
      frames.push(sub('same', operation(r, info, 'subscription', 2)), sub('same', operation(r, info, 'subscription', 2)));
      break;
    case 5:
      family = 'broken-frames';
      for (let i = 0, n = r.int(1, 6); i < n; i++) {
        frames.push(
          r.pick<string | Buffer>([
            '{',
            'null',
            '[]',
            '{"type": 1}',
            '{"type": "subscribe"}',
            '{"type": "subscribe", "id": 1, "payload": null}',
            '{"type": "start", "id": "x", "payload": {"query": 5}}',
            JSON.stringify({ type: r.nasty(), id: r.nasty() }),
            JSON.stringify({ type: modern ? 'complete' : 'stop', id: 'never-started' }),
            JSON.stringify({ type: 'ping', payload: r.json(3) }),
            JSON.stringify({ type: 'connection_init' }),
            Buffer.from([0xff, 0x00, 0xfe]),
            '\ud800',
          ]),
        );
      }
      break;
    case 6: {
      const size = r.pick([200_000, 2_500_000]);
      family = `oversized-frame-${size}`;
      frames.push(sub('big', `subscription { links_links(where: {code: {_eq: "${'q'.repeat(size)}"}}) { id } }`));
      break;
    }
    default:
      family = 'subscribe-complete-churn';
      for (let i = 0, n = r.int(5, 100); i < n; i++) {
        frames.push(sub(`c${i}`, operation(r, info, 'subscription', 2)));
        frames.push(JSON.stringify(modern ? { id: `c${i}`, type: 'complete' } : { id: `c${i}`, type: 'stop' }));
      }
  }
  return { family: `ws:${modern ? 'transport' : 'legacy'}:${family}`, protocol, headers, frames, listenMs: r.pick([200, 500, 1_000]) };
}

export function runWsCase(url: string, c: WsCase, timeoutMs: number): Promise<WsOutcome> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const received: string[] = [];
    let status = 101;
    let error: string | undefined;
    let done = false;
    const protocols = c.protocol ? c.protocol.split(',').map((s) => s.trim()) : undefined;
    let ws: WebSocket;
    try {
      ws = new WebSocket(url, protocols, { headers: c.headers, maxPayload: 64 * 1024 * 1024, handshakeTimeout: timeoutMs });
    } catch (err) {
      // The client library refuses some subprotocol strings itself: nothing reached the server.
      resolve({ status: 0, closeCode: undefined, closeReason: '', received, error: `client refused: ${(err as Error).message}`, ms: 0 });
      return;
    }
    const finish = (closeCode: number | undefined, closeReason: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      try {
        ws.terminate();
      } catch {
        // already closed
      }
      resolve({ status, closeCode, closeReason, received, error, ms: performance.now() - t0 });
    };
    const timer = setTimeout(() => finish(undefined, 'listen period over'), timeoutMs);
    ws.on('unexpected-response', (_req, res) => {
      status = res.statusCode ?? 0;
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => {
        received.push(Buffer.concat(chunks).toString('utf8'));
        finish(undefined, 'upgrade refused');
      });
      res.on('error', () => finish(undefined, 'upgrade refused'));
    });
    ws.on('message', (data: Buffer) => {
      received.push(data.toString('utf8'));
    });
    ws.on('error', (err) => {
      error = err.message;
    });
    ws.on('close', (code, reason) => {
      // Our client failing the handshake itself (RFC 6455 §4.1: the server chose none of the
      // subprotocols offered, e.g. "mqtt") is not the server dropping the connection.
      if (code === 1006 && error === 'Server sent no subprotocol') finish(undefined, 'client refused: no subprotocol chosen');
      else finish(code, reason.toString('utf8'));
    });
    ws.on('open', () => {
      void (async () => {
        for (const f of c.frames) {
          if (ws.readyState !== WebSocket.OPEN) return;
          ws.send(f);
          // Yield now and then so a close the server sends mid-script is seen.
          if (received.length % 50 === 0) await new Promise((r) => setImmediate(r));
        }
        setTimeout(() => {
          if (ws.readyState === WebSocket.OPEN) ws.close(1000, 'done');
          setTimeout(() => finish(undefined, 'no close from the server after ours'), 2_000);
        }, c.listenMs);
      })();
    });
  });
}

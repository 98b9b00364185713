/**
 * GraphQL over WebSocket, both protocols (docs/research/hasura-v2.md §C.4): Apollo `graphql-ws` (connection_init →
 * ack → start → data → complete) and `graphql-transport-ws` (through the graphql-ws client);
 * auth from the connection_init payload; subscriptions are live queries (subscriptions.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { createClient } from 'graphql-ws';
import { buildTestApp } from './helper.ts';

async function listen(t: Parameters<typeof buildTestApp>[0], env: Record<string, string> = {}) {
  const { app } = await buildTestApp(t, { env: { HASURA_GRAPHQL_ADMIN_SECRET: 'sekret', ...env } });
  await app.listen({ host: '127.0.0.1', port: 0 });
  return `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/v1/graphql`;
}

function apollo(url: string) {
  const ws = new WebSocket(url);
  const messages: Array<Record<string, unknown>> = [];
  const waiters: Array<() => void> = [];
  let closed: { code: number; reason: string } | undefined;
  ws.on('message', (raw) => {
    messages.push(JSON.parse(String(raw)) as Record<string, unknown>);
    waiters.splice(0).forEach((w) => w());
  });
  ws.on('close', (code, reason) => {
    closed = { code, reason: String(reason) };
    waiters.splice(0).forEach((w) => w());
  });
  const opened = new Promise<void>((r) => ws.once('open', () => r()));
  return {
    ws,
    opened,
    send: (m: unknown) => ws.send(JSON.stringify(m)),
    get closed() {
      return closed;
    },
    async next(pred: (m: Record<string, unknown>) => boolean = (m) => m.type !== 'ka'): Promise<Record<string, unknown>> {
      for (;;) {
        const i = messages.findIndex(pred);
        if (i >= 0) return messages.splice(i, 1)[0]!;
        if (closed) throw new Error(`closed ${closed.code}`);
        await new Promise<void>((r) => waiters.push(r));
      }
    },
    async waitClose() {
      while (!closed) await new Promise<void>((r) => waiters.push(r));
      return closed;
    },
  };
}

void test('Apollo graphql-ws: init with headers, start → data → complete, errors, subscriptions', async (t) => {
  const url = await listen(t);
  const c = apollo(url);
  t.after(() => c.ws.close());
  await c.opened;
  assert.equal(c.ws.protocol, '');
  c.send({ type: 'connection_init', payload: { headers: { 'X-Hasura-Admin-Secret': 'sekret', 'X-Hasura-Role': 'user', 'X-Hasura-User-Id': '4' } } });
  assert.deepEqual(await c.next(), { type: 'connection_ack' });
  c.send({ type: 'start', id: '1', payload: { query: '{ whoami }' } });
  assert.deepEqual(await c.next(), {
    type: 'data',
    id: '1',
    payload: { data: { whoami: { role: 'user', vars: { 'x-hasura-role': 'user', 'x-hasura-user-id': '4' }, isAdmin: true } } },
  });
  assert.deepEqual(await c.next(), { type: 'complete', id: '1' });
  c.send({ type: 'start', id: '2', payload: { query: '{ invalid }' } });
  const err = await c.next();
  assert.equal(err.type, 'error');
  assert.equal((err.payload as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions.code, 'validation-failed');
  assert.deepEqual(await c.next(), { type: 'complete', id: '2' });
  // Subscriptions are live queries (subscriptions.test.ts): first `data`, no `complete`, until `stop`.
  c.send({ type: 'start', id: '3', payload: { query: 'subscription { whoami }' } });
  const sub = await c.next();
  assert.equal(sub.type, 'data');
  c.send({ type: 'stop', id: '3' });
  c.send({ type: 'nonsense' });
  assert.equal((await c.next()).type, 'connection_error');
});

void test('Apollo graphql-ws: a failed connection_init answers connection_error and closes 4400', async (t) => {
  const url = await listen(t);
  const c = apollo(url);
  await c.opened;
  c.send({ type: 'connection_init', payload: { headers: { 'x-hasura-admin-secret': 'wrong' } } });
  const m = await c.next();
  assert.deepEqual(m, { type: 'connection_error', payload: 'invalid x-hasura-admin-secret/x-hasura-access-key' });
  const closed = await c.waitClose();
  assert.equal(closed.code, 4400);
});

void test('graphql-transport-ws: the graphql-ws client runs queries; bad auth closes 4403', async (t) => {
  const url = await listen(t);
  const client = createClient({ url, webSocketImpl: WebSocket, connectionParams: { headers: { 'x-hasura-admin-secret': 'sekret' } }, retryAttempts: 0, lazy: true });
  t.after(() => client.dispose());
  const result = await new Promise<unknown>((resolve, reject) => {
    let value: unknown;
    client.subscribe({ query: '{ whoami }' }, { next: (v) => (value = v), error: reject, complete: () => resolve(value) });
  });
  assert.deepEqual(result, { data: { whoami: { role: 'admin', vars: { 'x-hasura-role': 'admin' }, isAdmin: true } } });

  const bad = createClient({ url, webSocketImpl: WebSocket, connectionParams: { headers: { 'x-hasura-admin-secret': 'nope' } }, retryAttempts: 0, lazy: true });
  t.after(() => bad.dispose());
  const failure = await new Promise<unknown>((resolve) => {
    bad.subscribe({ query: '{ whoami }' }, { next: () => undefined, error: resolve, complete: () => resolve(undefined) });
  });
  assert.equal((failure as { code?: number }).code, 4403);

  // Subscribing before connection_init closes 4401, as the protocol says.
  const raw = new WebSocket(url, 'graphql-transport-ws');
  await new Promise<void>((r) => raw.once('open', () => r()));
  assert.equal(raw.protocol, 'graphql-transport-ws');
  const code = await new Promise<number>((resolve) => {
    raw.once('close', (c) => resolve(c));
    raw.send(JSON.stringify({ type: 'subscribe', id: 'x', payload: { query: '{ whoami }' } }));
  });
  assert.equal(code, 4401);
});

/**
 * A WebSocket frame over maxPayload (found by e2e/fuzz): ws reports it as 'error' on the socket and
 * closes with 1009 "Message Too Big" (RFC 6455 §7.4.1); unheard, that error ended the engine process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { buildTestApp, post } from './helper.ts';

void test('a frame over maxPayload closes that socket with 1009; the engine keeps serving', async (t) => {
  const { app } = await buildTestApp(t, { fake: false, env: { HASURA_GRAPHQL_ADMIN_SECRET: 'sekret', ENGINE_BODY_LIMIT_BYTES: '65536' } });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as AddressInfo).port;
  for (const protocol of ['graphql-transport-ws', 'graphql-ws']) {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/graphql`, protocol);
    await new Promise<void>((resolve, reject) => (ws.once('open', () => resolve()), ws.once('error', reject)));
    ws.send(JSON.stringify({ type: 'connection_init', payload: { headers: { 'x-hasura-admin-secret': 'sekret' } } }));
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.on('error', () => {});
    ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: `subscription { x(where: "${'q'.repeat(100_000)}") }` } }));
    assert.equal(await closed, 1009, protocol);
  }
  const res = await post(app, '/v1/graphql', { query: '{ __typename }' }, { 'x-hasura-admin-secret': 'sekret' });
  assert.equal(res.status, 200);
  assert.deepEqual(res.body, { data: { __typename: 'query_root' } });
});

/** WebSocket pass-through (docs/research/traefik-v3.md §1.4; traefik integration/websocket_test.go TestBase, TestHeaderAreForwarded). */
import test from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { gateway, upstream } from './helper.ts';

async function wsUpstream(t: test.TestContext) {
  const server = http.createServer();
  const seen: http.IncomingMessage[] = [];
  const wss = new WebSocketServer({ server, handleProtocols: (protocols) => (protocols.has('graphql-transport-ws') ? 'graphql-transport-ws' : false) });
  wss.on('connection', (sock, req) => {
    seen.push(req);
    sock.on('message', (data) => sock.send(`echo:${String(data)}`));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    for (const c of wss.clients) c.terminate();
    wss.close();
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

function config(target: string, authUrl: string) {
  return JSON.stringify({
    http: {
      routers: { gql: { rule: 'Path(`/v1/links/graphql`)', middlewares: ['auth', 'rp'], service: 's' } },
      middlewares: {
        auth: { forwardAuth: { address: `${authUrl}/verify?mode=optional`, trustForwardHeader: false, authResponseHeaders: ['X-User-Role'] } },
        rp: { replacePath: { path: '/v1/graphql' } },
      },
      services: { s: { loadBalancer: { servers: [{ url: target }] } } },
    },
  });
}

function open(url: string, protocols: string[], headers: Record<string, string> = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { headers });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`status ${res.statusCode}`), { status: res.statusCode })));
    ws.once('error', reject);
  });
}

void test('upgrade passes through forwardAuth and replacePath with Sec-WebSocket-Protocol intact', async (t) => {
  const up = await wsUpstream(t);
  const auth = await upstream(t, (_q, res) => {
    res.writeHead(200, { 'X-User-Role': 'anonymous' });
    res.end();
  });
  const gw = await gateway(t, config(up.url, auth.url));
  const ws = await open(`${gw.url.replace('http', 'ws')}/v1/links/graphql`, ['graphql-transport-ws'], { 'X-User-Role': 'admin' });
  t.after(() => ws.terminate());
  assert.equal(ws.protocol, 'graphql-transport-ws');
  const reply = new Promise<string>((r) => ws.once('message', (d) => r(String(d))));
  ws.send('{"type":"connection_init"}');
  assert.equal(await reply, 'echo:{"type":"connection_init"}');
  const req = up.seen[0]!;
  assert.equal(req.url, '/v1/graphql');
  assert.equal(req.headers['sec-websocket-protocol'], 'graphql-transport-ws');
  assert.equal(req.headers['x-forwarded-proto'], 'ws');
  assert.equal(req.headers['x-user-role'], 'anonymous');
  assert.equal(req.headers['x-replaced-path'], '/v1/links/graphql');
  assert.equal(req.headers['x-forwarded-for'], '127.0.0.1');
  assert.equal(auth.seen[0]!.headers.upgrade, undefined, 'hop headers stripped from the auth subrequest');
});

void test('a rejected upgrade gets the auth answer; a dead upstream gets 502', async (t) => {
  const up = await wsUpstream(t);
  const auth = await upstream(t, (_q, res) => {
    res.writeHead(401, { 'Content-Type': 'application/json' });
    res.end('{"error":"no"}');
  });
  const gw = await gateway(t, config(up.url, auth.url));
  await assert.rejects(open(`${gw.url.replace('http', 'ws')}/v1/links/graphql`, ['graphql-transport-ws']), { status: 401 });
  assert.equal(up.seen.length, 0);

  const okAuth = await upstream(t, (_q, res) => res.end());
  const dead = await upstream(t);
  await new Promise<void>((r) => dead.server.close(() => r()));
  const gw2 = await gateway(t, config(dead.url, okAuth.url));
  await assert.rejects(open(`${gw2.url.replace('http', 'ws')}/v1/links/graphql`, ['graphql-transport-ws']), { status: 502 });
});

void test('a client that resets its WebSocket connection does not take the gateway down', async (t) => {
  const up = await wsUpstream(t);
  const auth = await upstream(t, (_q, res) => {
    res.writeHead(200, { 'X-User-Role': 'anonymous' });
    res.end();
  });
  const gw = await gateway(t, config(up.url, auth.url));
  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown) => uncaught.push(err);
  process.on('uncaughtException', onUncaught);
  t.after(() => process.off('uncaughtException', onUncaught));
  // What a browser does when a tab with a live subscription reloads: the TCP connection is reset.
  const { port } = new URL(gw.url);
  const sock = net.connect(Number(port), '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  sock.on('error', () => {});
  sock.write(
    'GET /v1/links/graphql HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n',
  );
  const head = await new Promise<string>((r) => sock.once('data', (d) => r(String(d))));
  assert.match(head, /^HTTP\/1.1 101/);
  sock.resetAndDestroy();
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(uncaught.map(String), []);
  const ws = await open(`${gw.url.replace('http', 'ws')}/v1/links/graphql`, ['graphql-transport-ws']);
  t.after(() => ws.terminate());
  const reply = new Promise<string>((r) => ws.once('message', (d) => r(String(d))));
  ws.send('ping');
  assert.equal(await reply, 'echo:ping', 'the gateway still serves');
});

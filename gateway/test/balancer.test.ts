/**
 * The gateway under replicas (docs/research/traefik-v3.md §1.2; traefik src
 * `pkg/server/service/loadbalancer/wrr/wrr_test.go`, `pkg/healthcheck/healthcheck_test.go`,
 * `pkg/middlewares/retry/retry_test.go`): weighted round robin, health checks taking servers out
 * and back, retries only for replayable idempotent requests, sticky cookies for HTTP and WebSocket.
 * Real upstreams on port 0.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { Balancer, defaultCookieName, fnv1a64 } from '../src/proxy/balancer.ts';
import { backoffMs } from '../src/middlewares/retry.ts';
import { parseDynamicFiles, ConfigLoadError } from '../src/config/load.ts';
import { call, gateway, upstream, type Upstream } from './helper.ts';

function cfg(servers: Array<{ url: string; weight?: number }>, lb: Record<string, unknown> = {}, middlewares: Record<string, unknown> = {}) {
  return JSON.stringify({
    http: {
      routers: { r: { rule: 'PathPrefix(`/`)', service: 's', middlewares: Object.keys(middlewares) } },
      middlewares,
      services: { s: { loadBalancer: { servers, ...lb } } },
    },
  });
}

function named(name: string) {
  return (_req: http.IncomingMessage, res: http.ServerResponse) => {
    res.setHeader('X-Server', name);
    res.end(name);
  };
}

/** A port nothing listens on (bound, then closed). */
async function deadPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function until(cond: () => boolean | Promise<boolean>, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

void test('weighted round robin: weights 3:1 give 3:1, interleaved; weight 0 never serves', async (t) => {
  const a = await upstream(t, named('a'));
  const b = await upstream(t, named('b'));
  const c = await upstream(t, named('c'));
  const gw = await gateway(t, cfg([{ url: a.url, weight: 3 }, { url: b.url }, { url: c.url, weight: 0 }]));
  const order: string[] = [];
  for (let i = 0; i < 12; i++) order.push((await call(gw.url)).body);
  assert.equal(order.filter((x) => x === 'a').length, 9);
  assert.equal(order.filter((x) => x === 'b').length, 3);
  assert.equal(c.seen.length, 0);
  // earliest-deadline-first never gives b twice in a row, nor a four times in a row
  assert.ok(!order.join('').includes('bb'));
  assert.ok(!order.join('').includes('aaaa'));
});

void test('Balancer: same-weight servers alternate; a server coming back does not catch up on missed turns', () => {
  const lb = new Balancer({ serviceName: 's', servers: [{ url: 'http://127.0.0.1:1' }, { url: 'http://127.0.0.1:2' }] });
  const seq = () => lb.next()?.url.slice(-1);
  assert.deepEqual([seq(), seq(), seq(), seq()], ['1', '2', '1', '2']);
  const two = lb.servers[1]!;
  two.healthy = false;
  assert.deepEqual([seq(), seq(), seq(), seq()], ['1', '1', '1', '1']);
  // what SetStatus does when the check passes again
  (lb as unknown as { setHealthy(s: unknown, h: boolean): void }).setHealthy(two, true);
  const after = [seq(), seq(), seq(), seq()];
  assert.equal(after.filter((x) => x === '2').length, 2, `fair share after return, not a burst: ${after.join('')}`);
  lb.close();
});

void test('healthCheck: a server failing its check leaves the rotation, comes back when it passes; none healthy → 503', async (t) => {
  let bHealthy = true;
  const a = await upstream(t, named('a'));
  const b = await upstream(t, (req, res) => {
    if (req.url === '/health/ready') {
      res.statusCode = bHealthy ? 200 : 503;
      res.end();
      return;
    }
    named('b')(req, res);
  });
  const gw = await gateway(t, cfg([{ url: a.url }, { url: b.url }], { healthCheck: { path: '/health/ready', interval: '40ms', timeout: '500ms' } }));
  const spread = async () => {
    const got = new Set<string>();
    for (let i = 0; i < 6; i++) got.add((await call(gw.url, { path: '/x' })).body);
    return [...got].sort().join(',');
  };
  assert.equal(await spread(), 'a,b');
  bHealthy = false;
  await until(async () => (await spread()) === 'a');
  // stays out while failing
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(await spread(), 'a');
  bHealthy = true;
  await until(async () => (await spread()) === 'a,b');
  // checks went to the configured path with GET
  assert.ok(b.seen.some((s) => s.url === '/health/ready' && s.method === 'GET'));

  // a dead server and a failing one: nobody left → Traefik's 503
  const port = await deadPort();
  bHealthy = false;
  const gw2 = await gateway(t, cfg([{ url: `http://127.0.0.1:${port}` }, { url: b.url }], { healthCheck: { path: '/health/ready', interval: '40ms', timeout: '200ms' } }));
  await until(async () => (await call(gw2.url, { path: '/x' })).status === 503);
  const r = await call(gw2.url, { path: '/x' });
  assert.equal(r.status, 503);
  assert.equal(r.body, 'no available server\n');
});

void test('healthCheck: status pins the expected code; timeout counts as down; unknown options are refused', async (t) => {
  const slow = await upstream(t, (req, res) => {
    if (req.url === '/h') setTimeout(() => res.end(), 400);
    else named('slow')(req, res);
  });
  const teapot = await upstream(t, (req, res) => {
    if (req.url === '/h') {
      res.statusCode = 204;
      res.end();
      return;
    }
    named('teapot')(req, res);
  });
  const ok = await upstream(t, (req, res) => {
    if (req.url === '/h') {
      res.statusCode = 202;
      res.end();
      return;
    }
    named('ok')(req, res);
  });
  // 204 is a 2xx but not the pinned 202; the slow one times out
  const gw = await gateway(t, cfg([{ url: slow.url }, { url: teapot.url }, { url: ok.url }], { healthCheck: { path: '/h', interval: '50ms', timeout: '100ms', status: 202 } }));
  await until(async () => {
    const got = new Set<string>();
    for (let i = 0; i < 6; i++) got.add((await call(gw.url, { path: '/x' })).body);
    return [...got].join(',') === 'ok';
  });
  assert.throws(
    () => parseDynamicFiles([{ name: 'x.yml', text: cfg([{ url: ok.url }], { healthCheck: { path: '/h', intervall: '1s' } }) }], {}),
    (e: unknown) => e instanceof ConfigLoadError,
  );
});

async function resetting(t: test.TestContext): Promise<Upstream & { hits: () => number }> {
  // accepts the connection, reads the request, then resets it: the request may have been processed
  let hits = 0;
  const server = net.createServer((sock) => {
    sock.once('data', () => {
      hits++;
      sock.resetAndDestroy();
    });
    sock.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}`, port, seen: [], server: server as unknown as http.Server, hits: () => hits };
}

void test('retry: idempotent requests go to the next server; a refused connection is retried for any method; a POST that may have landed is not', async (t) => {
  const good = await upstream(t, named('good'));
  const port = await deadPort();
  const mw = { again: { retry: { attempts: 2 } } };
  const gw = await gateway(t, cfg([{ url: `http://127.0.0.1:${port}` }, { url: good.url }], {}, mw));
  for (let i = 0; i < 6; i++) {
    const r = await call(gw.url, { path: '/x' });
    assert.equal(r.status, 200);
    assert.equal(r.body, 'good');
  }
  // ECONNREFUSED: the request never left, a bodiless POST is safe to send again
  for (let i = 0; i < 4; i++) assert.equal((await call(gw.url, { path: '/x', method: 'POST' })).status, 200);

  // without the middleware the dead server's turns are 502s
  const plain = await gateway(t, cfg([{ url: `http://127.0.0.1:${port}` }, { url: good.url }]));
  const statuses = new Set<number>();
  for (let i = 0; i < 4; i++) statuses.add((await call(plain.url, { path: '/x' })).status);
  assert.deepEqual([...statuses].sort(), [200, 502]);

  // reset after the request was read: GET retried, POST answered 502 (it may have been processed)
  const rst = await resetting(t);
  const gw2 = await gateway(t, cfg([{ url: rst.url }, { url: good.url }], {}, mw));
  const gets = await Promise.all([0, 1, 2, 3].map(() => call(gw2.url, { path: '/x' })));
  assert.deepEqual(gets.map((r) => r.status), [200, 200, 200, 200]);
  const before = rst.hits();
  const posts: number[] = [];
  for (let i = 0; i < 4; i++) posts.push((await call(gw2.url, { path: '/x', method: 'POST' })).status);
  const failed = posts.filter((s) => s === 502).length;
  assert.ok(failed >= 1 && posts.every((s) => s === 200 || s === 502), posts.join(','));
  assert.equal(rst.hits() - before, failed, 'a POST that reached the resetting server is answered 502, never sent twice');

  // a streamed body cannot be replayed: PUT with a body to the resetting server is 502
  const puts: number[] = [];
  for (let i = 0; i < 2; i++) puts.push((await call(gw2.url, { path: '/x', method: 'PUT', body: 'payload' })).status);
  assert.ok(puts.includes(502), `streamed PUT bodies are not replayed: ${puts.join(',')}`);
});

void test('retry: attempts bounds the tries; backoff grows from initialInterval, capped at twice it', async (t) => {
  const dead = [await deadPort(), await deadPort(), await deadPort()];
  const gw = await gateway(t, cfg(dead.map((p) => ({ url: `http://127.0.0.1:${p}` })), {}, { again: { retry: { attempts: 3, initialInterval: '20ms' } } }));
  const start = performance.now();
  const r = await call(gw.url, { path: '/x' });
  assert.equal(r.status, 502);
  // two waits: 20 ms then 30 ms
  assert.ok(performance.now() - start >= 45);
  assert.deepEqual([1, 2, 3, 4].map((n) => backoffMs(100, n)), [100, 150, 200, 200]);
  assert.equal(backoffMs(0, 3), 0);
});

async function wsServer(t: test.TestContext, name: string) {
  const server = http.createServer(named(name));
  const wss = new WebSocketServer({ server });
  wss.on('connection', (sock) => sock.send(name));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    for (const c of wss.clients) c.terminate();
    wss.close();
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function firstMessage(url: string, headers: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('message', (d) => {
      resolve(String(d));
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

void test('sticky cookie: HTTP requests and WebSocket upgrades carrying it stay on its server; an unhealthy server is replaced', async (t) => {
  const a = await wsServer(t, 'a');
  const b = await wsServer(t, 'b');
  const gw = await gateway(t, cfg([{ url: a }, { url: b }], { sticky: { cookie: { httpOnly: true, sameSite: 'lax' } } }));
  const first = await call(gw.url, { path: '/x' });
  const setCookie = first.headers['set-cookie']?.[0] ?? '';
  const name = defaultCookieName('s@file');
  assert.match(setCookie, new RegExp(`^${name}=[0-9a-f]{16}; Path=/; HttpOnly; SameSite=Lax$`));
  const pair = setCookie.split(';')[0] as string;
  assert.equal(pair.split('=')[1], fnv1a64(first.body === 'a' ? a : b));
  for (let i = 0; i < 5; i++) {
    const r = await call(gw.url, { path: '/x', headers: { cookie: `other=1; ${pair}` } });
    assert.equal(r.body, first.body);
    assert.equal(r.headers['set-cookie'], undefined, 'a valid cookie is not set again');
  }
  const wsUrl = `${gw.url.replace('http', 'ws')}/graphql`;
  for (let i = 0; i < 4; i++) assert.equal(await firstMessage(wsUrl, { cookie: pair }), first.body);
  // without the cookie, upgrades are balanced
  const spread = new Set<string>();
  for (let i = 0; i < 4; i++) spread.add(await firstMessage(wsUrl, {}));
  assert.deepEqual([...spread].sort(), ['a', 'b']);
  // a cookie naming an unknown server: WRR picks, and a fresh cookie is set
  const r = await call(gw.url, { path: '/x', headers: { cookie: `${name}=deadbeefdeadbeef` } });
  assert.match(String(r.headers['set-cookie']?.[0]), new RegExp(`^${name}=`));
});

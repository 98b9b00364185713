/** Traefik's own answers (src pkg/proxy/httputil/proxy.go, loadbalancer/wrr) and proxy headers. */
import test from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { Writable } from 'node:stream';
import { call, gateway, route, upstream } from './helper.ts';

const svc = (url: string, extra: Record<string, unknown> = {}) => ({ loadBalancer: { servers: url ? [{ url }] : [], ...extra } });

void test('502 "Bad Gateway" when the upstream is down; 503 "no available server" without servers', async (t) => {
  const dead = await upstream(t);
  await new Promise<void>((r) => dead.server.close(() => r()));
  const a = await gateway(t, route(dead.url, {}, []));
  const r = await call(a.url);
  assert.equal(r.status, 502);
  assert.equal(r.body, 'Bad Gateway');
  assert.equal(r.headers['content-type'], 'text/plain; charset=utf-8');
  const b = await gateway(t, JSON.stringify({ http: { routers: { r: { rule: 'PathPrefix(`/`)', service: 's' } }, services: { s: svc('') } } }));
  const r2 = await call(b.url);
  assert.equal(r2.status, 503);
  assert.equal(r2.body, 'no available server\n');
});

void test('504 "Gateway Timeout" after serversTransport responseHeaderTimeout', async (t) => {
  // Far beyond the 100 ms limit: on a loaded machine a stalled event loop must not let the late
  // answer win the race (it did at 1 s once, under the full suite on Node 24).
  const slow = await upstream(t, (_q, res) => void setTimeout(() => res.end('late'), 10_000).unref());
  const gw = await gateway(
    t,
    JSON.stringify({
      http: {
        routers: { r: { rule: 'PathPrefix(`/`)', service: 's' } },
        services: { s: svc(slow.url, { serversTransport: 'quick' }) },
        serversTransports: { quick: { forwardingTimeouts: { responseHeaderTimeout: '100ms' } } },
      },
    }),
  );
  const r = await call(gw.url);
  assert.equal(r.status, 504);
  assert.equal(r.body, 'Gateway Timeout');
});

void test('the server URL path is ignored, Host passed unless passHostHeader: false, hop headers dropped, round robin', async (t) => {
  const a = await upstream(t, (_q, res) => res.end('a'));
  const b = await upstream(t, (_q, res) => res.end('b'));
  const gw = await gateway(
    t,
    JSON.stringify({
      http: {
        routers: { r: { rule: 'PathPrefix(`/`)', service: 's' }, h: { rule: 'PathPrefix(`/nohost`)', service: 'h' } },
        services: { s: { loadBalancer: { servers: [{ url: `${a.url}/ignored` }, { url: b.url }] } }, h: svc(a.url, { passHostHeader: false }) },
      },
    }),
  );
  const bodies = [(await call(`${gw.url}/x?q=1`, { headers: { host: 'public.example', 'Keep-Alive': '5', Connection: 'keep-alive, X-Secret', 'X-Secret': 's' } })).body, (await call(`${gw.url}/x`)).body];
  assert.deepEqual(bodies.sort(), ['a', 'b']);
  const seen = a.seen[0]!;
  assert.equal(seen.url, '/x?q=1');
  assert.equal(seen.headers.host, 'public.example');
  assert.equal(seen.headers['x-secret'], undefined);
  assert.equal(seen.headers['keep-alive'], undefined);
  await call(`${gw.url}/nohost`, { headers: { host: 'public.example' } });
  assert.equal(a.seen.at(-1)!.headers.host, `127.0.0.1:${a.port}`);
});

void test('untrusted X-Forwarded-* are replaced; trusted peers keep theirs and the proxy appends', async (t) => {
  const up = await upstream(t);
  const spoof = { 'X-Forwarded-For': '9.9.9.9', 'X-Forwarded-Host': 'evil', 'X-Real-Ip': '9.9.9.9', X_Forwarded_Proto: 'https' };
  const a = await gateway(t, route(up.url, {}, []));
  await call(a.url, { headers: spoof });
  assert.equal(up.seen[0]!.headers['x-forwarded-for'], '127.0.0.1');
  assert.equal(up.seen[0]!.headers['x-real-ip'], '127.0.0.1');
  assert.equal(up.seen[0]!.headers['x_forwarded_proto'], undefined);
  const b = await gateway(t, route(up.url, {}, []), {}, { trustedIPs: ['127.0.0.0/8'] });
  await call(b.url, { headers: spoof });
  assert.equal(up.seen[1]!.headers['x-forwarded-for'], '9.9.9.9, 127.0.0.1');
  assert.equal(up.seen[1]!.headers['x-forwarded-host'], 'evil');
});

void test('access log: one JSON line per request with Traefik field names', async (t) => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  const up = await upstream(t, (_q, res) => {
    res.statusCode = 201;
    res.end('created!');
  });
  const gw = await gateway(t, JSON.stringify({ http: { routers: { api: { rule: 'PathPrefix(`/api`)', service: 'svc' } }, services: { svc: svc(up.url) } } }), {}, { accessLog: sink, accessLogHeaders: ['X-Request-Id'] });
  await call(`${gw.url}/api/items?x=1`, { method: 'POST', body: 'abc', headers: { 'X-Request-Id': 'rid-1' } });
  await call(`${gw.url}/missing`);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(lines.length, 2);
  const e = JSON.parse(lines[0]!) as Record<string, unknown>;
  assert.equal(e.RouterName, 'api@file');
  assert.equal(e.ServiceName, 'svc@file');
  assert.equal(e.ServiceURL, up.url);
  assert.equal(e.ServiceAddr, `127.0.0.1:${up.port}`);
  assert.equal(e.RequestMethod, 'POST');
  assert.equal(e.RequestPath, '/api/items?x=1');
  assert.equal(e.RequestProtocol, 'HTTP/1.1');
  assert.equal(e.RequestContentSize, 3);
  assert.equal(e.DownstreamStatus, 201);
  assert.equal(e.OriginStatus, 201);
  assert.equal(e.DownstreamContentSize, 8);
  assert.equal(e.ClientHost, '127.0.0.1');
  assert.match(String(e.ClientAddr), /^127\.0\.0\.1:\d+$/);
  assert.equal(e['request_X-Request-Id'], 'rid-1');
  assert.equal(e.entryPointName, 'web');
  assert.ok(typeof e.Duration === 'number' && e.Duration > 0);
  assert.ok(typeof e.OriginDuration === 'number' && e.OriginDuration <= (e.Duration as number));
  for (const k of ['StartUTC', 'StartLocal', 'RequestHost', 'RequestAddr', 'RequestPort', 'RequestScheme', 'ClientPort', 'ClientUsername', 'RetryAttempts', 'Overhead', 'RequestCount']) assert.ok(k in e, k);
  const nf = JSON.parse(lines[1]!) as Record<string, unknown>;
  assert.equal(nf.DownstreamStatus, 404);
  assert.equal(nf.RouterName, undefined);
  assert.equal(nf.OriginStatus, undefined);
});

void test('ping: 200 "OK" before routing when enabled; otherwise routed like any path', async (t) => {
  const up = await upstream(t);
  const on = await gateway(t, route(up.url, {}, []), {}, { ping: true });
  const r = await call(`${on.url}/ping`);
  assert.equal(r.status, 200);
  assert.equal(r.body, 'OK');
  assert.equal(up.seen.length, 0);
  const off = await gateway(t, route(up.url, {}, []));
  assert.equal((await call(`${off.url}/ping`)).body, 'upstream');
});

void test('an upstream that answers early (413) and closes mid-upload: the client gets that answer, not a reset', async (t) => {
  const http = await import('node:http');
  // Like a body-limited service: answer before reading the body, then drop the connection.
  const early = http.createServer((_req, res) => {
    res.writeHead(413, { 'content-type': 'application/json', connection: 'close' });
    res.end('{"error":{"code":"PAYLOAD_TOO_LARGE"}}', () => res.socket?.destroy());
  });
  await new Promise<void>((r) => early.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => early.close(() => r())));
  const port = (early.address() as import('node:net').AddressInfo).port;
  const gw = await gateway(t, route(`http://127.0.0.1:${port}`, {}, []));
  const body = JSON.stringify({ x: 'a'.repeat(400_000) });
  const outcomes = new Map<string, number>();
  for (let i = 0; i < 30; i++) {
    let outcome: string;
    try {
      const r = await fetch(gw.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(5000) });
      outcome = `${r.status} ${await r.text()}`;
    } catch (err) {
      outcome = `error ${(err as { cause?: { code?: string } }).cause?.code ?? String(err)}`;
    }
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
  }
  // A 502 is Traefik's answer when the upstream closed before its answer could be read; a reset
  // (the client never sees any answer) is what must not happen.
  // Which of the two depends on whether the upstream's answer is read before its reset lands (on
  // Node 24 undici reports the failed write first, every time); the shipped routes put the
  // buffering middleware in front, so their clients get the gateway's own 413 (test below).
  for (const o of outcomes.keys()) assert.match(o, /^(413 \{"error":\{"code":"PAYLOAD_TOO_LARGE"\}\}|502 Bad Gateway)$/, [...outcomes].join('; '));
  assert.equal([...outcomes.values()].reduce((a, b) => a + b, 0), 30, 'every request answered');
});

/** A raw HTTP/1.1 POST: a Content-Length body, or the same bytes chunked. */
function post(url: string, body: Buffer, chunked: boolean): Promise<string> {
  return new Promise((resolve) => {
    const u = new URL(url);
    const headers: Record<string, string | number> = { 'content-type': 'application/json' };
    if (!chunked) headers['content-length'] = body.length;
    const req = http.request({ host: u.hostname, port: u.port, method: 'POST', path: u.pathname, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve(`${res.statusCode} ${text}`));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve(`error ${err.code ?? err.message}`));
    if (!chunked) return void req.end(body);
    let off = 0;
    const pump = (): void => {
      while (off < body.length) if (!req.write(body.subarray(off, (off += 65_536)))) return void req.once('drain', pump);
      req.end();
    };
    pump();
  });
}

void test('a chunked request body reaches the upstream (Transfer-Encoding is read before hop headers go)', async (t) => {
  const up = await upstream(t, (_q, res, body) => res.end(String(body.length)));
  const gw = await gateway(t, route(up.url, {}, []));
  assert.equal(await post(gw.url, Buffer.alloc(200_000, 'a'), true), '200 200000');
  assert.equal(up.seen[0]!.headers['transfer-encoding'], 'chunked', 'undici streams it on');
});

void test('buffering: over maxRequestBodyBytes → the gateway answers 413 itself (Content-Length or chunked), 44 of 44 times', async (t) => {
  // the upstream reports what reached it: nothing oversized may
  const up = await upstream(t, (_q, res, body) => res.end(`got ${body.length}`));
  const gw = await gateway(t, route(up.url, { limit: { buffering: { maxRequestBodyBytes: 65_536 } } }));
  const outcomes = new Map<string, number>();
  for (let i = 0; i < 44; i++) {
    const o = await post(gw.url, Buffer.alloc(i % 4 === 0 ? 65_537 : 2_000_000, 'a'), i % 2 === 1);
    outcomes.set(o, (outcomes.get(o) ?? 0) + 1);
  }
  assert.deepEqual([...outcomes], [['413 Request Entity Too Large', 44]]);
  assert.equal(up.seen.length, 0, 'the upstream never saw an oversized body');
  // at the limit: forwarded whole, with its length
  assert.equal(await post(gw.url, Buffer.alloc(65_536, 'a'), true), '200 got 65536');
  assert.equal(up.seen[0]!.headers['content-length'], '65536');
  assert.equal(up.seen[0]!.headers['transfer-encoding'], undefined);
  // the connection survives a 413: the unread remainder is drained, a second request follows on it
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => agent.destroy());
  const u = new URL(gw.url);
  const viaAgent = (size: number) =>
    new Promise<number>((resolve, reject) => {
      const req = http.request({ host: u.hostname, port: u.port, method: 'POST', path: '/', agent, headers: { 'content-length': size } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(Buffer.alloc(size, 'b'));
    });
  assert.deepEqual([await viaAgent(300_000), await viaAgent(10)], [413, 200]);
});

/** Found by the fuzzer (e2e/fuzz): Node hands these to 'upgrade'/'connect' and, unheard, drops the socket. */
function rawExchange(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1', () => sock.write(request));
    let out = '';
    sock.on('data', (d: Buffer) => (out += d.toString()));
    sock.on('end', () => resolve(out));
    sock.on('error', reject);
    sock.setTimeout(3000, () => (sock.destroy(), resolve(out)));
  });
}

void test('a non-WebSocket upgrade (h2c) is answered 400 and CONNECT 405, never a silent close', async (t) => {
  const up = await upstream(t);
  const a = await gateway(t, route(up.url, {}, []));
  const h2c = await rawExchange(a.port, 'POST /x HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\nContent-Length: 0\r\n\r\n');
  assert.match(h2c, /^HTTP\/1\.1 400 Bad Request\r\n/);
  assert.match(h2c, /only WebSocket upgrades are served/);
  const connect = await rawExchange(a.port, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
  assert.match(connect, /^HTTP\/1\.1 405 Method Not Allowed\r\n/);
  // The gateway still serves afterwards.
  assert.equal((await call(a.url)).status, 200);
});

/**
 * A client that reads only once its upload is written (curl, many SDKs, and a loaded test process
 * behave so): with `Connection: close`, Node destroys the socket as soon as an early answer is
 * flushed, the kernel resets the upload still arriving, and the client's failed write throws the
 * unread answer away. Found by the fuzzer (a 51 MiB import behind auth, "EPIPE after 100 ms").
 */
function uploadThenRead(port: number, head: string, size: number): Promise<string> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    sock.pause();
    const chunks: Buffer[] = [];
    sock.on('data', (d: Buffer) => chunks.push(d));
    sock.on('end', () => resolve(Buffer.concat(chunks).toString('latin1').split('\r\n')[0] ?? ''));
    sock.on('error', (err: NodeJS.ErrnoException) => resolve(`error ${err.code ?? err.message} after ${Buffer.concat(chunks).length} bytes`));
    sock.once('connect', () => {
      sock.write(head);
      sock.write(Buffer.alloc(size, 0x61), (err) => {
        if (!err) sock.resume();
      });
    });
  });
}

void test('an early answer (413, 429) with Connection: close reaches a client that reads only after its upload (lingering close)', async (t) => {
  const up = await upstream(t, (_q, res, body) => res.end(`got ${body.length}`));
  // rate limit first: request 1 passes it and meets the body limit (413), 2 and 3 meet the limiter (429)
  const gw = await gateway(t, route(up.url, { rl: { rateLimit: { average: 1, period: '1m', burst: 1 } }, limit: { buffering: { maxRequestBodyBytes: 65_536 } } }));
  const size = 24 * 1024 * 1024;
  const outcomes: string[] = [];
  for (let i = 0; i < 3; i++) {
    outcomes.push(await uploadThenRead(gw.port, `POST / HTTP/1.1\r\nHost: a\r\nContent-Length: ${size}\r\nConnection: close\r\n\r\n`, size));
  }
  assert.deepEqual(outcomes, ['HTTP/1.1 413 Payload Too Large', 'HTTP/1.1 429 Too Many Requests', 'HTTP/1.1 429 Too Many Requests']);
  assert.equal(up.seen.length, 0);
});

/**
 * The pieces the per-request fast path replaced must keep their behaviour: the Host split without a
 * regex, StartLocal built from one toISOString, the buffered access log, and the upstream answer
 * streamed through undici's dispatcher with backpressure.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Writable } from 'node:stream';
import { isoTime, localTime, startStamps } from '../src/accesslog.ts';
import { splitHostPort } from '../src/app.ts';
import { call, gateway, route, upstream } from './helper.ts';

void test('Host split: name lower-cased, port or "-", IPv6 literals and odd values as before', () => {
  const cases: Array<[string, string, string]> = [
    ['Example.COM', 'example.com', '-'],
    ['a.b:8080', 'a.b', '8080'],
    ['a.b:', 'a.b', '-'],
    ['', '', '-'],
    ['[::1]:80', '[::1]', '80'],
    ['[::1]', '[::1]', '-'],
    ['A:b', 'a:b', '-'],
    ['h:1:2', 'h:1:2', '-'],
  ];
  for (const [host, name, port] of cases) assert.deepEqual(splitHostPort(host), { name, port }, host);
});

void test('StartLocal: the same text as a field-by-field rendering, in several time zones', () => {
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const reference = (d: Date) => {
    const off = -d.getTimezoneOffset();
    const abs = Math.abs(off);
    return (
      `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.` +
      `${pad(d.getMilliseconds(), 3)}${off >= 0 ? '+' : '-'}${pad(Math.trunc(abs / 60))}:${pad(abs % 60)}`
    );
  };
  const saved = process.env.TZ;
  try {
    for (const tz of ['UTC', 'Europe/Paris', 'Asia/Kolkata', 'America/St_Johns', 'Pacific/Chatham']) {
      process.env.TZ = tz;
      // every 7 h 0.2 s over a year: both DST switches, odd offsets, milliseconds
      for (let t = Date.UTC(2026, 0, 1); t < Date.UTC(2027, 0, 1); t += 25_200_217) {
        const d = new Date(t);
        assert.equal(localTime(d), reference(d), `${tz} ${d.toISOString()}`);
      }
    }
  } finally {
    if (saved === undefined) delete process.env.TZ;
    else process.env.TZ = saved;
  }
});

void test('access log: lines are buffered per event-loop turn, complete and in order, and close flushes them', async (t) => {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  const up = await upstream(t);
  const gw = await gateway(t, route(up.url, {}, []), {}, { accessLog: sink });
  for (let i = 0; i < 5; i++) await call(`${gw.url}/seq/${i}`);
  await Promise.all(Array.from({ length: 20 }, (_, i) => call(`${gw.url}/par/${i}`)));
  await new Promise((r) => setImmediate(r));
  const lines = chunks.join('').split('\n');
  assert.equal(lines.pop(), '', 'every write ends with a newline');
  assert.equal(lines.length, 25);
  const entries = lines.map((l) => JSON.parse(l) as { RequestPath: string; RequestCount: number });
  assert.deepEqual(
    entries.slice(0, 5).map((e) => e.RequestPath),
    [0, 1, 2, 3, 4].map((i) => `/seq/${i}`),
  );
  assert.equal(new Set(entries.map((e) => e.RequestCount)).size, 25);

  // a line logged in the same turn as close() is written before close resolves
  const before = chunks.length;
  await call(`${gw.url}/last`);
  await gw.gw.close();
  assert.ok(chunks.slice(before).join('').includes('"RequestPath":"/last"'));
});

void test('a large upstream answer reaches a slow client intact (backpressure), with its size logged', async (t) => {
  const size = 8 * 1024 * 1024;
  const payload = Buffer.alloc(size, 'x');
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  const up = await upstream(t, (_q, res) => {
    res.setHeader('Content-Length', size);
    res.end(payload);
  });
  const gw = await gateway(t, route(up.url, {}, []), {}, { accessLog: sink });
  const received = await new Promise<number>((resolve, reject) => {
    const req = http.get(`${gw.url}/big`, { agent: false }, (res) => {
      let n = 0;
      res.pause();
      // read only after the gateway's socket buffer has filled up
      setTimeout(() => {
        res.on('data', (c: Buffer) => (n += c.length));
        res.on('end', () => resolve(n));
        res.resume();
      }, 200);
    });
    req.on('error', reject);
  });
  assert.equal(received, size);
  await new Promise((r) => setTimeout(r, 20));
  const e = JSON.parse(lines[0] as string) as { DownstreamStatus: number; DownstreamContentSize: number; OriginStatus: number };
  assert.equal(e.DownstreamStatus, 200);
  assert.equal(e.OriginStatus, 200);
  assert.equal(e.DownstreamContentSize, size);
});

void test('a client gone mid-answer: the upstream request is aborted and the request is logged', async (t) => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  let upstreamClosed!: () => void;
  const closed = new Promise<void>((r) => (upstreamClosed = r));
  const up = await upstream(t, (_q, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.write('first chunk');
    res.on('close', () => upstreamClosed());
  });
  const gw = await gateway(t, route(up.url, {}, []), {}, { accessLog: sink });
  await new Promise<void>((resolve, reject) => {
    const req = http.get(`${gw.url}/stream`, { agent: false }, (res) => {
      res.once('data', () => {
        req.destroy();
        resolve();
      });
    });
    req.on('error', () => {});
    setTimeout(() => reject(new Error('no first chunk')), 2000).unref();
  });
  await closed;
  const end = Date.now() + 2000;
  while (lines.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  // the status line had gone out, so the line keeps it (as before the dispatcher rewrite)
  assert.equal((JSON.parse(lines[0] as string) as { RequestPath: string }).RequestPath, '/stream');
});

void test('access-log time stamps: the same text as new Date(ms) renders, for repeated and changing milliseconds', () => {
  const base = Date.UTC(2026, 11, 3, 18, 59, 59, 998);
  for (const ms of [base, base, base + 1, base + 2, base + 2, base - 5, base + 86_400_000]) {
    const d = new Date(ms);
    assert.deepEqual(startStamps(ms), { utc: d.toISOString(), local: localTime(d) }, String(ms));
    assert.equal(isoTime(ms), d.toISOString());
  }
});

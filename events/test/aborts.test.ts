import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { hasuraPayload, HASURA_SECRET, postEvent, setup } from './helper.ts';

const entry = path.resolve(import.meta.dirname, '../src/server.ts');

/**
 * A helper once saw the events process die of an unhandled undici "Request aborted"
 * (RequestAbortedError, UND_ERR_ABORTED) while the stack ran. The suspects are every way an HTTP
 * exchange can end half-way: a peer that answers headers then stalls (so an AbortSignal.timeout or
 * undici's bodyTimeout fires mid-body), one that streams past our byte bound (we destroy the body,
 * which undici turns into a RequestAbortedError on the stream), one that resets mid-body, a
 * redirect whose body stalls — on the webhook sender, the preview page fetcher, its image fetch
 * and the media client — and on the receiving side a client (Hasura) that aborts mid-body. This
 * drives all of them through the real process (src/server.ts) and asserts it is still alive and
 * serving afterwards: an unhandled 'error' on any of those streams would exit it.
 */
void test('half-finished HTTP exchanges, both ways, never end the events process', async (t) => {
  const e = await setup(t);

  // The hostile peer: every mode of ending an answer early.
  const media: string[] = [];
  const hostile = http.createServer((req, res) => {
    req.resume();
    const u = new URL(req.url ?? '/', 'http://x');
    if (u.pathname === '/internal/preview-images') {
      // "media" answers headers, then never finishes its body.
      media.push(req.url ?? '');
      res.writeHead(201, { 'content-type': 'application/json' });
      res.write('{"id":');
      return;
    }
    const mode = u.searchParams.get('m') ?? 'stall';
    const status = Number(u.searchParams.get('s') ?? 200);
    const headers: Record<string, string> = { 'content-type': u.searchParams.get('t') ?? 'text/html' };
    if (status >= 300 && status < 400) headers.location = `/?m=${mode}`;
    if (mode === 'declared') headers['content-length'] = '1000000';
    res.writeHead(status, headers);
    if (u.pathname === '/img' && mode === 'ok') {
      // A whole small PNG: the preview runner then hands it to "media" (this server, stalling).
      res.end(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0]));
      return;
    }
    // A head past EVENTS_PREVIEW_MAX_BYTES, so the page is read (then its body cut) and og:image followed.
    const image = mode === 'imgok' ? 'ok' : mode;
    const head = `<html><head><title>x</title><meta property="og:image" content="/img?m=${image}&t=image/png"></head>${' '.repeat(2_000)}`;
    res.write(mode === 'flood' ? Buffer.concat([Buffer.from(head), Buffer.alloc(2 * 1024 * 1024, 0x61)]) : head);
    if (mode === 'reset') setTimeout(() => res.socket?.destroy(), 50);
    // 'stall', 'declared', 'flood': the body never ends; the client's timeouts or bounds end it.
  });
  await new Promise<void>((r) => hostile.listen(0, '127.0.0.1', r));
  t.after(() => {
    hostile.closeAllConnections();
    hostile.close();
  });
  const base = `http://127.0.0.1:${(hostile.address() as AddressInfo).port}`;
  const targets: string[] = [];
  for (const m of ['stall', 'declared', 'flood', 'reset', 'imgok']) for (const s of [200, 302, 500]) for (const ty of ['text/html', 'image/png', 'application/json']) targets.push(`${base}/?m=${m}&s=${s}&t=${encodeURIComponent(ty)}`);

  // A free port for the child (its own listener, so raw sockets can reach it).
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as AddressInfo).port;
  await new Promise((r) => probe.close(r));

  // Media is the hostile peer too: the preview image upload meets the same endings.
  const env = e.env({
    EVENTS_PORT: String(port),
    EVENTS_DELIVERY_TIMEOUT_MS: '400',
    EVENTS_RESPONSE_MAX_BYTES: '1024',
    EVENTS_DELIVERY_POLL_MS: '50',
    EVENTS_PREVIEW_TIMEOUT_MS: '400',
    EVENTS_PREVIEW_MAX_BYTES: '1024',
    EVENTS_PREVIEW_IMAGE_MAX_BYTES: '1024',
    EVENTS_SCHEDULER: '0',
    EVENTS_MEDIA_URL: `${base}/`,
    EVENTS_MEDIA_SECRET: 'x'.repeat(32),
  });
  let stderr = '';
  const child = spawn(process.execPath, ['--import', 'tsx', entry], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const url = `http://127.0.0.1:${port}`;
  const live = async () => (await fetch(`${url}/health/live`, { signal: AbortSignal.timeout(2_000) })).status;
  for (let i = 0; ; i++) {
    if (await live().catch(() => 0) === 200) break;
    assert.ok(i < 150 && child.exitCode === null, `events did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }

  // Deliveries and preview jobs aimed at every hostile mode (enqueued in-process on the same DB).
  const front = await e.build({ EVENTS_SCHEDULER: '0' }, { worker: 'front' });
  const owner = await e.newUser();
  for (const target of targets) {
    await e.newEndpoint(owner, target);
    const link = await e.newLink(owner);
    // The preview runner stores an image only for the link's current destination.
    await e.admin.query(`UPDATE links.links SET destination = $1, title = NULL, description = NULL WHERE id = $2`, [target, link.id]);
    await postEvent(front, hasuraPayload('links.links', 'INSERT', { new: { ...link, title: null, description: null, destination: target } }));
  }

  // The receiving side: Hasura-like clients that give up mid-body.
  const payload = JSON.stringify(hasuraPayload('links.links', 'INSERT', { new: await e.newLink(owner) }));
  for (let i = 0; i < 30; i++) {
    const sock = net.connect(port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    const chunked = i % 2 === 1;
    sock.write(
      `POST /internal/hasura/events HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\nx-linkport-events-secret: ${HASURA_SECRET}\r\n` +
        (chunked ? 'transfer-encoding: chunked\r\n\r\n' + `${(payload.length / 2).toString(16)}\r\n${payload.slice(0, payload.length / 2)}` : `content-length: ${payload.length}\r\n\r\n${payload.slice(0, 40)}`),
    );
    await new Promise((r) => setTimeout(r, 5));
    if (i % 3 === 0) sock.resetAndDestroy();
    else sock.destroy();
  }

  // Every delivery attempted at least once and every preview job tried, then the timeouts that
  // were left running (signals, body timeouts) given time to fire.
  for (let i = 0; ; i++) {
    const { rows } = await e.admin.query<{ pending: number }>(
      `SELECT (SELECT count(*) FROM webhooks.deliveries WHERE attempts = 0)::int + (SELECT count(*) FROM webhooks.preview_jobs WHERE attempts = 0)::int AS pending`,
    );
    if (rows[0]!.pending === 0) break;
    assert.ok(i < 200 && child.exitCode === null, `events exited or stalled (exit ${child.exitCode}): ${stderr.slice(-2_000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 1_500));
  assert.equal(child.exitCode, null, `events exited: ${stderr.slice(-2_000)}`);
  assert.equal(await live(), 200);
  assert.doesNotMatch(stderr, /Request aborted|UND_ERR_ABORTED|uncaught/i);
  const { rows } = await e.admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM webhooks.deliveries WHERE attempts > 0`);
  assert.ok(rows[0]!.n >= targets.length, `${rows[0]!.n} deliveries attempted of ${targets.length}`);
  assert.ok(media.length > 0, 'the preview image upload to media was exercised');
});

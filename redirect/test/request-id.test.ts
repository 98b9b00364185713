/**
 * The redirect's log lines about a request carry the request id the gateway assigned (`reqId`,
 * the key every Fastify service uses) — docs/architecture.md "Observability". The redirect logs
 * nothing per request on the hot path; what it writes about one is a failure, here PostgreSQL
 * unreachable for an uncached code (503).
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import pino from 'pino';
import { loggerOptions } from '@linkport/common';
import { freePort } from '@linkport/devstack/testing';
import { buildRedirectApp } from '../src/app.ts';
import { BROWSER_UA, setup } from './helper.ts';

void test('a failure logged about a request names the gateway request id; a malformed id is left out', async (t) => {
  const e = await setup(t);
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  const log = pino(loggerOptions('redirect', 'info'), sink);
  // Nothing listens there: every uncached lookup meets "PostgreSQL unreachable".
  const deadDb = `postgres://redirect_service:x@127.0.0.1:${await freePort()}/nowhere`;
  const app = await buildRedirectApp(e.config({ DATABASE_URL: deadDb }), { log });
  const { url } = await app.listen();
  t.after(() => app.close());

  const res = await fetch(`${url}/nosuchcode1`, { redirect: 'manual', headers: { 'user-agent': BROWSER_UA, 'x-request-id': 'gw-req-42' } });
  assert.equal(res.status, 503);
  await res.arrayBuffer();
  const failure = lines.find((l) => l.msg === 'PostgreSQL unreachable: uncached links answer 503');
  assert.ok(failure, JSON.stringify(lines));
  assert.equal(failure.reqId, 'gw-req-42');

  // The outage line is written at most once a second; the next second's names its own request.
  await new Promise((r) => setTimeout(r, 1100));
  const bad = await fetch(`${url}/nosuchcode2`, { redirect: 'manual', headers: { 'user-agent': BROWSER_UA, 'x-request-id': 'has space' } });
  assert.equal(bad.status, 503);
  await bad.arrayBuffer();
  const second = lines.filter((l) => l.msg === 'PostgreSQL unreachable: uncached links answer 503');
  assert.equal(second.length, 2);
  assert.equal(second[1]!.reqId, undefined, 'a value the gateway would not have assigned is not logged as one');
});

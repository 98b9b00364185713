/**
 * Tracing of the click path with a real OTLP/HTTP receiver (an HTTP server in this test decoding
 * the exporter's JSON): a traced redirect from a caller's traceparent gives a server span in the
 * caller's trace; its click carries the span context through the Redis stream; the worker's batch
 * span links to that span and parents the batch's SQL (statement text, no parameters).
 * The redirect server and the worker are real processes started as `npm start` does.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { startOtlpReceiver, spanAttr } from '@linkport/devstack/testing';
import { root, setup, waitFor } from './helper.ts';


const receiver = startOtlpReceiver;

function start(t: TestContext, entry: string, env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, entry)], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise((r) => child.once('exit', r));
  t.after(async () => {
    child.kill('SIGTERM');
    await exited;
  });
  return { output: () => out };
}

const attr = spanAttr;

void test('a redirect and its click: server span in the caller trace, worker batch span linked to it', async (t) => {
  const e = await setup(t);
  const link = await e.newLink();
  const otlp = await receiver(t);
  const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, OTEL_BSP_SCHEDULE_DELAY: '100', LOG_LEVEL: 'info' };
  const server = start(t, 'redirect/src/server.ts', e.env({ ...otel, CLICK_LINGER_MS: '1' }));
  const url = await waitFor(async () => /"url":"(http:\/\/[^"]+)"/.exec(server.output())?.[1], 20_000, 'redirect url');
  start(t, 'redirect/src/worker.ts', e.env({ ...otel, WORKER_PORT: '0', WORKER_BLOCK_MS: '100' }));

  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const res = await fetch(`${url}/${link.code}`, { redirect: 'manual', headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01`, 'user-agent': 'Mozilla/5.0 Firefox/120' } });
  assert.equal(res.status, 302);

  const serverSpan = await waitFor(async () => otlp.spans.find((s) => s.traceId === traceId && s.kind === 2), 20_000, 'redirect server span');
  assert.equal(serverSpan.service, 'redirect');
  assert.equal(serverSpan.parentSpanId, '00f067aa0ba902b7', 'the caller is the parent');
  const batch = await waitFor(async () => otlp.spans.find((s) => s.name === 'process clicks' && s.links?.some((l) => l.traceId === traceId)), 20_000, 'worker batch span');
  assert.equal(batch.service, 'click-worker');
  assert.equal(batch.kind, 5, 'a CONSUMER span');
  assert.notEqual(batch.traceId, traceId, 'a batch has its own trace; it links to the click');
  assert.deepEqual(
    batch.links!.filter((l) => l.traceId === traceId).map((l) => l.spanId),
    [serverSpan.spanId],
  );
  // The batch's SQL: children of the batch span, statement text recorded, parameters never.
  const sql = await waitFor(async () => {
    const found = otlp.spans.filter((s) => s.traceId === batch.traceId && s.service === 'click-worker' && attr(s, 'db.query.text'));
    return found.length > 0 ? found : undefined;
  }, 10_000, 'batch SQL spans');
  // One statement per batch: links.ingest_click_batch (migration 1764900001700_links_ingest_fast),
  // or links.ingest_clicks for a batch the in-memory cube would not shrink — a one-click batch, as
  // here (worker/click-sink.ts sends a batch whose cube is over half its length that way).
  const texts = sql.map((s) => String(attr(s, 'db.query.text')));
  assert.ok(texts.some((q) => /links\.ingest_click(_batch|s)\(/.test(q)), texts.join(' | '));
  for (const s of sql) {
    assert.ok(!s.attributes?.some((a) => a.key.startsWith('db.query.parameter') || a.key === 'db.postgresql.values'), 'no parameters recorded');
    assert.ok(!JSON.stringify(s.attributes).includes(link.id), 'no values recorded');
  }
});

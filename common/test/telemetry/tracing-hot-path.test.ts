/**
 * traceHttpServer's sampling decision, taken before any OpenTelemetry object exists, must be the
 * decision the SDK's own sampler takes (common/src/telemetry/tracing.ts, samplingPlan and
 * PresampledIds). A real SDK (startTracing in this process, exporting OTLP/HTTP to a receiver in
 * this test) behind a real node:http server; the spans the receiver gets are the truth.
 *
 * ParentBased(TraceIdRatioBased(0.5)) — the OTel spec's ParentBased with default delegates:
 * - no traceparent: about half the requests are traced (1000 requests: 500 ± 16, so 400..600 is
 *   more than 6 standard deviations; sampling twice, ratio², would give 250, no pre-decision 1000),
 *   each an own root trace whose id the SDK's TraceIdRatioBasedSampler itself accepts;
 * - a sampled caller (flags 01): every request traced, in the caller's trace, the caller its parent;
 * - an unsampled caller (flags 00): none traced;
 * - a malformed traceparent (the W3C propagator ignores it): a root decision again;
 * - probes are never traced.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { ROOT_CONTEXT, context } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { SamplingDecision, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-node';
import { startOtlpReceiver, type OtlpSpan } from '@linkport/devstack/testing';
import { requestTraceparent, startTracing, traceHttpServer } from '../../src/telemetry/tracing.ts';

const RATIO = 0.5;
const N = 1000;

/**
 * A request from this test, which runs the SDK too: tracing suppressed, so the http
 * instrumentation makes no CLIENT span and injects no traceparent of its own.
 */
async function get(port: number, path: string, agent: http.Agent, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    context.with(suppressTracing(ROOT_CONTEXT), () =>
      http
        .get({ host: '127.0.0.1', port, path, agent, headers }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        })
        .on('error', reject),
    );
  });
}

async function until<T>(f: () => T | undefined, ms: number, what: string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

void test('the hot path decides sampling as ParentBased(TraceIdRatioBased) would, before building any span', async (t) => {
  const otlp = await startOtlpReceiver(t);
  // The exporter and the propagators read process.env (this test file is its own process).
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = otlp.url;
  delete process.env.OTEL_PROPAGATORS;
  const env = { ...process.env, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: String(RATIO), OTEL_BSP_SCHEDULE_DELAY: '50' };
  const tracing = await startTracing({ serviceName: 'hot-path-test', context: 'sync', env });
  assert.equal(tracing.enabled, true);

  // Each response says what requestTraceparent saw: the click of a sampled request carries it.
  const server = http.createServer();
  traceHttpServer(
    server,
    (req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(requestTraceparent(req));
    },
    (path) => (path.startsWith('/health/') ? path : '/:code'),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  t.after(async () => {
    agent.destroy();
    await new Promise<void>((r) => server.close(() => r()));
    await tracing.shutdown();
  });

  const batch = async (count: number, path: string, headers?: Record<string, string>) => {
    const out: string[] = [];
    for (let i = 0; i < count; i += 50) {
      const rs = await Promise.all(Array.from({ length: Math.min(50, count - i) }, () => get(port, path, agent, headers)));
      for (const r of rs) {
        assert.equal(r.status, 200);
        out.push(r.body);
      }
    }
    return out;
  };
  const flushed = async (expected: number, of: (s: OtlpSpan) => boolean) => {
    // The batch processor exports every 50 ms; wait until the count the responses announced arrived.
    await until(() => (otlp.spans.filter(of).length >= expected ? true : undefined), 10_000, `${expected} spans`);
    await new Promise((r) => setTimeout(r, 200));
    return otlp.spans.filter(of);
  };

  // Roots: about RATIO of them traced; the responses' traceparents are exactly the exported spans.
  const roots = await batch(N, '/root');
  const announced = roots.filter((tp) => tp !== '');
  assert.ok(announced.length >= 400 && announced.length <= 600, `${announced.length} of ${N} root requests traced at ratio ${RATIO}`);
  const rootSpans = await flushed(announced.length, (s) => s.name === 'GET /:code' && !s.parentSpanId);
  assert.equal(rootSpans.length, announced.length, 'every traced request exported once, no others');
  const exported = new Set(rootSpans.map((s) => `00-${s.traceId}-${s.spanId}-01`));
  for (const tp of announced) assert.ok(exported.has(tp), `the click's traceparent ${tp} is the exported span`);
  assert.equal(new Set(rootSpans.map((s) => s.traceId)).size, rootSpans.length, 'each root request is its own trace');
  const sdkSampler = new TraceIdRatioBasedSampler(RATIO);
  for (const s of rootSpans) {
    assert.equal(sdkSampler.shouldSample(ROOT_CONTEXT, s.traceId).decision, SamplingDecision.RECORD_AND_SAMPLED, `the SDK's sampler accepts ${s.traceId}`);
  }
  // Ids look like the SDK's: all four 32-bit words vary (no word is fixed by the pre-decision).
  for (let w = 0; w < 4; w++) assert.ok(new Set(rootSpans.map((s) => s.traceId.slice(w * 8, w * 8 + 8))).size > rootSpans.length / 2, `word ${w} random`);

  // A sampled caller: all traced, children of the caller's span in the caller's trace.
  const sampledTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
  const sampled = await batch(100, '/child', { traceparent: `00-${sampledTrace}-00f067aa0ba902b7-01` });
  assert.equal(sampled.filter((tp) => tp.startsWith(`00-${sampledTrace}-`)).length, 100);
  const children = await flushed(100, (s) => s.traceId === sampledTrace);
  assert.equal(children.length, 100);
  assert.ok(children.every((s) => s.parentSpanId === '00f067aa0ba902b7' && s.kind === 2));

  // An unsampled caller: nothing.
  const before = otlp.spans.length;
  const unsampledTrace = '0af7651916cd43dd8448eb211c80319c';
  const unsampled = await batch(200, '/child', { traceparent: `00-${unsampledTrace}-b7ad6b7169203331-00` });
  assert.ok(unsampled.every((tp) => tp === ''), 'no traceparent handed on for an unsampled request');

  // A malformed traceparent (all-zero trace id, which W3C trace context forbids): a root decision.
  const malformed = await batch(N, '/bad', { traceparent: `00-${'0'.repeat(32)}-b7ad6b7169203331-01` });
  const bad = malformed.filter((tp) => tp !== '').length;
  assert.ok(bad >= 400 && bad <= 600, `${bad} of ${N} requests with a malformed traceparent traced as roots`);

  // Probes: never, even from a sampled caller.
  await batch(50, '/health/live', { traceparent: `00-${sampledTrace}-00f067aa0ba902b7-01` });
  await flushed(before + bad, () => true);
  assert.equal(otlp.spans.filter((s) => s.traceId === unsampledTrace).length, 0, 'unsampled caller: no span');
  assert.equal(otlp.spans.filter((s) => s.name.includes('/health')).length, 0, 'probes: no span');
  assert.equal(otlp.spans.filter((s) => s.traceId === sampledTrace).length, 100, 'probes added nothing to the sampled trace');

});

/**
 * Observability across the `npm start` stack (issue 12): every process exports to a real OTLP/HTTP
 * receiver (an HTTP server in this test decoding the exporters' JSON) with OTEL_TRACES_SAMPLER=always_on.
 *  - A GraphQL query through the gateway is one trace: the gateway's SERVER span is the root; its
 *    forwardAuth CLIENT span parents core's verify; its proxy CLIENT span parents the engine's
 *    request, under which `graphql.operation` holds parse → validate → compile → execute, and
 *    execute holds the pool wait (`pg-pool.connect`) and the SQL (`db.query.text`, no parameters).
 *  - An API-key request: verify looks the key up and mints a JWT (its own span), in the same trace.
 *  - A presign: media's request span under the gateway's, with the presign span and its SQL.
 *  - Logs: every JSON line a service wrote for one of these traces carries the request id the
 *    gateway assigned (`reqId`) next to the `trace_id`; the gateway's access line carries both.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, startOtlpReceiver, spanAttr, type OtlpSpan } from '@linkport/devstack/testing';
import { startStack, type RunningStack, stackPortVariables } from '@linkport/launcher';


const receiver = startOtlpReceiver;

const attr = spanAttr;

async function eventually<T>(fn: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function tree(spans: OtlpSpan[], traceId: string): string {
  const inTrace = spans.filter((s) => s.traceId === traceId);
  const lines: string[] = [];
  const walk = (parent: string | undefined, depth: number) => {
    for (const s of inTrace.filter((x) => x.parentSpanId === parent)) {
      lines.push(`${'  '.repeat(depth)}${s.service}: ${s.name} [${s.kind}] ${String(attr(s, 'db.query.text') ?? '').slice(0, 60)}`);
      walk(s.spanId, depth + 1);
    }
  };
  walk(undefined, 0);
  const orphans = inTrace.filter((s) => s.parentSpanId && !inTrace.some((p) => p.spanId === s.parentSpanId));
  for (const s of orphans) lines.push(`(orphan) ${s.service}: ${s.name}`);
  return lines.join('\n');
}


const kind = { internal: 1, server: 2, client: 3 } as const;

interface Trace {
  spans: OtlpSpan[];
  root: OtlpSpan;
  children(of: OtlpSpan): OtlpSpan[];
  child(of: OtlpSpan, pred: (s: OtlpSpan) => boolean, what: string): OtlpSpan;
  dump(): string;
}

function traceOf(spans: OtlpSpan[], traceId: string): Trace {
  const inTrace = spans.filter((s) => s.traceId === traceId);
  const roots = inTrace.filter((s) => !s.parentSpanId);
  assert.equal(roots.length, 1, `one root span in trace ${traceId}:\n${tree(spans, traceId)}`);
  const children = (of: OtlpSpan) => inTrace.filter((s) => s.parentSpanId === of.spanId);
  return {
    spans: inTrace,
    root: roots[0]!,
    children,
    child(of, pred, what) {
      const found = children(of).filter(pred);
      assert.equal(found.length, 1, `${what} under ${of.service} "${of.name}":\n${tree(spans, traceId)}`);
      return found[0]!;
    },
    dump: () => tree(spans, traceId),
  };
}

/** Waits until the trace has stopped growing (every process exported its part), then returns it. */
async function settledTrace(spans: OtlpSpan[], traceId: string, minSpans: number): Promise<Trace> {
  let last = -1;
  await eventually(async () => {
    const n = spans.filter((s) => s.traceId === traceId).length;
    const stable = n >= minSpans && n === last;
    last = n;
    if (!stable) await new Promise((r) => setTimeout(r, 400));
    return stable ? true : undefined;
  }, `the spans of trace ${traceId}`, 20_000);
  return traceOf(spans, traceId);
}

/** The W3C trace id a response belongs to, read from the gateway's access log by request id. */
function accessLine(logsDir: string, requestId: string): Record<string, unknown> | undefined {
  const lines = fs.readFileSync(path.join(logsDir, 'gateway.log'), 'utf8').split('\n');
  for (const l of lines) {
    if (!l.startsWith('{')) continue;
    const o = JSON.parse(l) as Record<string, unknown>;
    if (o['request_X-Request-Id'] === requestId) return o;
  }
  return undefined;
}

/** Every JSON line of every service log that names `traceId`, by file. */
function linesOfTrace(logsDir: string, traceId: string): Array<{ file: string; line: Record<string, unknown> }> {
  const out: Array<{ file: string; line: Record<string, unknown> }> = [];
  for (const file of fs.readdirSync(logsDir)) {
    for (const l of fs.readFileSync(path.join(logsDir, file), 'utf8').split('\n')) {
      if (!l.startsWith('{') || !l.includes(traceId)) continue;
      out.push({ file, line: JSON.parse(l) as Record<string, unknown> });
    }
  }
  return out;
}

/** The engine's phases under its request span, and the SQL under execute. */
function assertEngineShape(tr: Trace, engineServer: OtlpSpan, secret: string): void {
  assert.equal(engineServer.name, 'POST /v1/graphql');
  const op = tr.child(engineServer, (s) => s.name === 'graphql.operation', 'the operation span');
  const phases = tr.children(op).sort((a, b) => Number(BigInt(a.startTimeUnixNano) - BigInt(b.startTimeUnixNano)));
  assert.deepEqual(phases.map((s) => s.name), ['graphql.parse', 'graphql.validate', 'graphql.compile', 'graphql.execute'], tr.dump());
  assert.equal(attr(phases[1]!, 'graphql.operation.type'), 'query');
  const execute = phases[3]!;
  const wait = tr.child(execute, (s) => s.name === 'pg-pool.connect', 'the pool wait');
  const query = tr.child(execute, (s) => attr(s, 'db.query.text') !== undefined, 'the SQL');
  assert.match(String(attr(query, 'db.query.text')), /FROM "links"\."links"/);
  assert.ok(BigInt(wait.endTimeUnixNano) <= BigInt(query.endTimeUnixNano), 'the pool wait comes before the statement ends');
  for (const s of tr.spans) {
    assert.ok(!s.attributes?.some((a) => a.key.startsWith('db.query.parameter') || a.key === 'db.postgresql.values'), `no parameters recorded (${s.name})`);
    assert.ok(!JSON.stringify(s.attributes ?? []).includes(secret), `no values recorded (${s.service} ${s.name})`);
  }
}

void test('one trace per request through the gateway, and the request id in every log line of it', { timeout: 240_000 }, async (t) => {
  const otlp = await receiver(t);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'linkport-obs-'));
  fs.chmodSync(dataDir, 0o755);
  const ports: Record<string, string> = {};
  for (const name of stackPortVariables()) {
    ports[name] = String(await freePort());
  }
  let stack: RunningStack | undefined;
  t.after(async () => {
    await stack?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  const { DATABASE_URL: _d, REDIS_URL: _r, S3_ENDPOINT: _s, HASURA_URL: _h, OTEL_TRACES_SAMPLER_ARG: _a, ...env } = process.env;
  const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, OTEL_TRACES_SAMPLER: 'always_on', OTEL_BSP_SCHEDULE_DELAY: '100' };
  stack = await startStack({ env: { ...env, ...ports, ...otel, LOG_LEVEL: 'info', LINKPORT_NO_INSTALL: '1' }, dataDir, log: (line) => t.diagnostic(line) });
  const gw = stack.endpoints.gateway!;
  const logsDir = path.join(dataDir, 'logs');

  const email = `obs-${Date.now()}@example.com`;
  const reg = await fetch(`${gw}/v1/core/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: 'correct horse battery' }) });
  assert.equal(reg.status, 201);
  const { access_token: jwt } = (await reg.json()) as { access_token: string };
  const userId = (JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as { sub: string }).sub;

  /** One request through the gateway; its trace id from the access log, found by the request id it got. */
  const traced = async (url: string, init: RequestInit): Promise<{ res: Response; body: string; requestId: string; traceId: string }> => {
    const res = await fetch(url, init);
    const body = await res.text();
    const requestId = res.headers.get('x-request-id');
    assert.ok(requestId, 'the gateway assigns a request id');
    const line = await eventually(() => accessLine(logsDir, requestId), 'the access log line');
    assert.match(String(line.TraceId), /^[0-9a-f]{32}$/, 'the access line carries the trace id (Traefik v3 TraceId)');
    assert.match(String(line.SpanId), /^[0-9a-f]{16}$/);
    return { res, body, requestId, traceId: String(line.TraceId) };
  };

  /**
   * Every JSON line a service wrote while serving the request the gateway forwarded to it carries
   * the gateway's request id (`reqId`) and the trace id. A line is placed by its `span_id`: the
   * nearest SERVER span above it is the hop it belongs to. Subrequests a service makes on its own
   * (the engine's JWKS fetch from core, a cache fill shared by later requests) carry no X-Request-Id
   * and get an id of their own; they join the request by trace_id alone.
   */
  const checkLogs = (tr: Trace, traceId: string, requestId: string, services: string[]) => {
    const lines = linesOfTrace(logsDir, traceId);
    const byId = new Map(tr.spans.map((x) => [x.spanId, x]));
    let checked = 0;
    for (const svc of services) assert.ok(lines.some((l) => l.file === `${svc}.log`), `${svc} logged for trace ${traceId}`);
    for (const { file, line } of lines) {
      if (file === 'gateway.log' && line['request_X-Request-Id'] !== undefined) {
        assert.equal(line['request_X-Request-Id'], requestId);
        assert.equal(line.TraceId, traceId);
        continue;
      }
      assert.equal(line.trace_id, traceId, `${file}: trace_id on every line`);
      let hop = byId.get(String(line.span_id));
      while (hop && hop.kind !== kind.server && hop.parentSpanId) hop = byId.get(hop.parentSpanId);
      assert.ok(hop, `${file}: the line's span ${String(line.span_id)} is in the trace`);
      const parent = hop.parentSpanId ? byId.get(hop.parentSpanId) : undefined;
      if (parent?.service !== 'gateway') continue;
      assert.equal(line.reqId, requestId, `${file}: ${JSON.stringify(line)}`);
      checked++;
    }
    assert.ok(checked >= services.length - 1, `lines of the forwarded hops were checked (${checked})`);
  };

  await t.test('a GraphQL query: gateway root, verify, the engine phases, SQL and pool wait', async () => {
    const { res, body, requestId, traceId } = await traced(`${gw}/v1/links/graphql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'query Mine($min: String!) { links_links(where: {destination: {_gt: $min}}) { id } }', variables: { min: 'obs-secret-value' } }),
    });
    assert.equal(res.status, 200, body);
    assert.deepEqual(JSON.parse(body), { data: { links_links: [] } });
    const tr = await settledTrace(otlp.spans, traceId, 12);
    assert.equal(tr.root.service, 'gateway');
    assert.equal(tr.root.kind, kind.server);
    assert.equal(tr.root.name, 'POST links-graphql@file');
    const clients = tr.children(tr.root).filter((s) => s.kind === kind.client);
    assert.equal(clients.length, 2, `forwardAuth and the proxy:\n${tr.dump()}`);
    const [authCall, proxyCall] = clients.sort((a, b) => Number(BigInt(a.startTimeUnixNano) - BigInt(b.startTimeUnixNano)));
    const verify = tr.child(authCall!, (s) => s.kind === kind.server, 'the verify request');
    assert.equal(verify.service, 'core-service');
    assert.equal(verify.name, 'GET /v1/core/auth/verify');
    assert.ok(BigInt(authCall!.endTimeUnixNano) <= BigInt(proxyCall!.startTimeUnixNano), 'verify completes before the upstream call');
    const engine = tr.child(proxyCall!, (s) => s.kind === kind.server, 'the engine request');
    assert.equal(engine.service, 'hasura-engine');
    assertEngineShape(tr, engine, 'obs-secret-value');
    assert.ok(!JSON.stringify(tr.spans).includes(userId) || tr.spans.every((s) => !JSON.stringify(s.attributes ?? []).includes(userId)), 'session values are not span attributes');
    checkLogs(tr, traceId, requestId, ['gateway', 'core']);
  });

  await t.test('an API-key request: verify finds the key and mints a JWT, in the same trace', async () => {
    const keyRes = await fetch(`${gw}/v1/core/api-keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'obs', scopes: ['links:read'] }),
    });
    assert.equal(keyRes.status, 201);
    const { key } = (await keyRes.json()) as { key: string };
    const { res, body, requestId, traceId } = await traced(`${gw}/v1/links/graphql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ links_links { id } }' }),
    });
    assert.equal(res.status, 200, body);
    const tr = await settledTrace(otlp.spans, traceId, 12);
    assert.equal(tr.root.service, 'gateway');
    const [authCall, proxyCall] = tr.children(tr.root).filter((s) => s.kind === kind.client).sort((a, b) => Number(BigInt(a.startTimeUnixNano) - BigInt(b.startTimeUnixNano)));
    const verify = tr.child(authCall!, (s) => s.kind === kind.server, 'the verify request');
    const lookup = tr.children(verify).filter((s) => /^SELECT [\s\S]* FROM core\.api_keys\b/.test(String(attr(s, 'db.query.text') ?? '')));
    assert.ok(lookup.length >= 1, `the key lookup:\n${tr.dump()}`);
    const mint = tr.child(verify, (s) => s.name === 'api_key.mint_jwt', 'the JWT minting');
    // Spans arrive in export order, and verify may read core.api_keys more than once: the first
    // lookup by start time is the one that finds the key, and it starts before the minting does.
    const first = [...lookup].sort((a, b) => Number(BigInt(a.startTimeUnixNano) - BigInt(b.startTimeUnixNano)))[0]!;
    assert.ok(BigInt(first.startTimeUnixNano) <= BigInt(mint.startTimeUnixNano), `the key is looked up before a JWT is minted:\n${tr.dump()}`);
    assert.ok(!JSON.stringify(tr.spans).includes(key), 'the key never is an attribute');
    const engine = tr.child(proxyCall!, (s) => s.kind === kind.server, 'the engine request');
    assertEngineShape(tr, engine, key);
    checkLogs(tr, traceId, requestId, ['gateway', 'core']);
  });

  await t.test('a presign: media under the gateway, the presign and its SQL in one trace', async () => {
    const { res, body, requestId, traceId } = await traced(`${gw}/v1/media/uploads`, {
      method: 'POST',
      headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' },
      body: JSON.stringify({ filename: 'obs.png', contentType: 'image/png', size: 68, visibility: 'public' }),
    });
    assert.equal(res.status, 201, body);
    const tr = await settledTrace(otlp.spans, traceId, 8);
    assert.equal(tr.root.name, `POST ${String(accessLine(logsDir, requestId)?.RouterName)}`);
    const [authCall, proxyCall] = tr.children(tr.root).filter((s) => s.kind === kind.client).sort((a, b) => Number(BigInt(a.startTimeUnixNano) - BigInt(b.startTimeUnixNano)));
    tr.child(authCall!, (s) => s.kind === kind.server && s.service === 'core-service', 'the verify request');
    const media = tr.child(proxyCall!, (s) => s.kind === kind.server, 'the media request');
    assert.equal(media.service, 'media-service');
    assert.equal(media.name, 'POST /v1/media/uploads');
    const presign = tr.child(media, (s) => s.name === 'S3.presign PutObject', 'the presign');
    assert.equal(attr(presign, 'rpc.method'), 'PutObject');
    assert.ok(tr.children(media).some((s) => /\bmedia\.\w+/.test(String(attr(s, 'db.query.text') ?? ''))), `media's SQL in the trace:\n${tr.dump()}`);
    checkLogs(tr, traceId, requestId, ['gateway', 'core', 'media']);
  });
});

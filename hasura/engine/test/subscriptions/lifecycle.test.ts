/**
 * The WebSocket lifecycle around subscriptions, over the real app (buildApp) and PostgreSQL:
 *   - streaming subscriptions over both protocols (`data` / `next` per non-empty batch);
 *   - JWT `exp`: the socket is dropped as Hasura drops it (no close frame: 1006 at the client);
 *   - shutdown: `complete` for every running subscription, then close 1012;
 *   - revocation fallback: when the revocation listener lost its connection, open credentials
 *     are re-verified with core's verify endpoint (a real HTTP server here) and a refused one is
 *     closed with 4401.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import WebSocket from 'ws';
import { SignJWT } from 'jose';
import { buildTestApp, post } from '../http/helper.ts';

const ADMIN = { 'x-hasura-admin-secret': 'sekret' };
const HS_KEY = 'a-test-key-of-at-least-32-characters-long!';

const setup = {
  type: 'bulk',
  args: [
    { type: 'run_sql', args: { sql: 'CREATE TABLE events (id serial PRIMARY KEY, owner text NOT NULL, body text);' } },
    { type: 'track_table', args: { schema: 'public', name: 'events' } },
    { type: 'create_select_permission', args: { table: 'events', role: 'user', permission: { columns: ['id', 'owner', 'body'], filter: { owner: 'X-Hasura-User-Id' } } } },
  ],
};

async function app(t: TestContext, env: Record<string, string> = {}) {
  const { app, db } = await buildTestApp(t, {
    fake: false,
    env: {
      HASURA_GRAPHQL_ADMIN_SECRET: 'sekret',
      HASURA_GRAPHQL_JWT_SECRET: JSON.stringify({ type: 'HS256', key: HS_KEY }),
      HASURA_GRAPHQL_STREAMING_QUERIES_MULTIPLEXED_REFETCH_INTERVAL: '50',
      ...env,
    },
  });
  assert.equal((await post(app, '/v1/query', setup, ADMIN)).status, 200);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const pool = new pg.Pool({ connectionString: db.adminUrl, max: 2 });
  pool.on('error', () => undefined);
  t.after(() => pool.end());
  return { app, pool, url: `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/v1/graphql` };
}

function token(sub: string, claims: Record<string, unknown> = {}, exp: string | number = '10m'): Promise<string> {
  return new SignJWT({ 'https://hasura.io/jwt/claims': { 'x-hasura-default-role': 'user', 'x-hasura-allowed-roles': ['user'], 'x-hasura-user-id': sub }, ...claims })
    .setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setSubject(sub).setExpirationTime(exp)
    .sign(new TextEncoder().encode(HS_KEY));
}

type Msg = Record<string, any>;
function client(t: TestContext, url: string, protocol?: string) {
  const ws = protocol ? new WebSocket(url, protocol) : new WebSocket(url);
  t.after(() => ws.terminate());
  const messages: Msg[] = [];
  ws.on('message', (raw) => {
    const m = JSON.parse(String(raw)) as Msg;
    if (m.type !== 'ka' && m.type !== 'ping') messages.push(m);
  });
  const closed = new Promise<{ code: number; reason: string }>((r) => ws.once('close', (code, reason) => r({ code, reason: reason.toString() })));
  const opened = new Promise<void>((r) => ws.once('open', () => r()));
  const until = async (cond: () => boolean, ms = 5000) => {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out; got ${JSON.stringify(messages)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return {
    ws, messages, closed, until,
    async init(headers: Record<string, string>) {
      await opened;
      ws.send(JSON.stringify({ type: 'connection_init', payload: { headers } }));
      await until(() => messages.some((m) => m.type === 'connection_ack'));
      messages.splice(0);
    },
    send: (m: unknown) => ws.send(JSON.stringify(m)),
  };
}

const STREAM = 'subscription { s: events_stream(cursor: {initial_value: {id: 0}}, batch_size: 2) { id body } }';

void test('streaming over Apollo graphql-ws and graphql-transport-ws: one message per non-empty batch, permissions per user', async (t) => {
  const { url, pool } = await app(t);
  await pool.query("INSERT INTO events (owner, body) VALUES ('u1', 'a'), ('u2', 'x'), ('u1', 'b'), ('u1', 'c')");
  const apollo = client(t, url);
  await apollo.init({ authorization: `Bearer ${await token('u1')}` });
  apollo.send({ type: 'start', id: 's', payload: { query: STREAM } });
  await apollo.until(() => apollo.messages.length >= 2);
  assert.deepEqual(apollo.messages.slice(0, 2), [
    { type: 'data', id: 's', payload: { data: { s: [{ id: 1, body: 'a' }, { id: 3, body: 'b' }] } } },
    { type: 'data', id: 's', payload: { data: { s: [{ id: 4, body: 'c' }] } } },
  ]);
  const gql = client(t, url, 'graphql-transport-ws');
  await gql.init({ authorization: `Bearer ${await token('u2')}` });
  gql.send({ type: 'subscribe', id: 'g', payload: { query: STREAM } });
  await gql.until(() => gql.messages.length >= 1);
  assert.deepEqual(gql.messages[0], { type: 'next', id: 'g', payload: { data: { s: [{ id: 2, body: 'x' }] } } });
  await pool.query("INSERT INTO events (owner, body) VALUES ('u2', 'y')");
  await gql.until(() => gql.messages.length >= 2);
  assert.deepEqual(gql.messages[1], { type: 'next', id: 'g', payload: { data: { s: [{ id: 5, body: 'y' }] } } });
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(apollo.messages.length, 2, 'u1 sees nothing of u2\'s row');
  // A request error is answered at once, as for live queries.
  apollo.send({ type: 'start', id: 'bad', payload: { query: 'subscription { events_stream(cursor: [], batch_size: 1) { id } }' } });
  await apollo.until(() => apollo.messages.some((m) => m.id === 'bad' && m.type === 'complete'));
  const err = apollo.messages.find((m) => m.id === 'bad' && m.type === 'error');
  assert.equal(err?.payload.errors[0].message, 'one streaming column field is expected');
});

void test('JWT exp: the connection is dropped without a close frame, as Hasura\'s tokenExpiryHandler does; subscriptions stop', async (t) => {
  const { url } = await app(t);
  const c = client(t, url, 'graphql-transport-ws');
  await c.init({ authorization: `Bearer ${await token('u1', {}, Math.floor(Date.now() / 1000) + 2)}` });
  c.send({ type: 'subscribe', id: 'l', payload: { query: 'subscription { events { id } }' } });
  await c.until(() => c.messages.length >= 1);
  const { code } = await c.closed;
  assert.equal(code, 1006, 'abnormal closure: no close frame');
});

void test('shutdown: every running subscription gets complete, then the socket closes 1012', async (t) => {
  const { app: a, url } = await app(t);
  const c = client(t, url);
  await c.init(ADMIN);
  c.send({ type: 'start', id: 'live', payload: { query: 'subscription { events { id } }' } });
  c.send({ type: 'start', id: 'stream', payload: { query: STREAM } });
  await c.until(() => c.messages.some((m) => m.id === 'live'));
  await new Promise((r) => setTimeout(r, 100));
  await a.close();
  const { code, reason } = await c.closed;
  assert.equal(code, 1012);
  assert.equal(reason, 'shutting server down');
  const completes = c.messages.filter((m) => m.type === 'complete').map((m) => m.id).sort();
  assert.deepEqual(completes, ['live', 'stream']);
});

void test('revocation fallback: after the listener reconnects, credentials core now refuses are closed with 4401', async (t) => {
  // Core's verify endpoint, standing in: refuses the revoked session's token.
  const revoked = new Set<string>();
  const core = http.createServer((req, res) => {
    const tok = String(req.headers.authorization ?? '').replace(/^Bearer /, '');
    res.statusCode = revoked.has(tok) ? 401 : 200;
    res.end();
  });
  await new Promise<void>((r) => core.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => core.close(() => r())));
  const verifyUrl = `http://127.0.0.1:${(core.address() as AddressInfo).port}/v1/core/auth/verify`;
  const { url, pool } = await app(t, { ENGINE_REVOCATION_VERIFY_URL: verifyUrl });
  const bad = await token('u1', { sid: 'session-1' });
  const good = await token('u2', { sid: 'session-2' });
  const a = client(t, url, 'graphql-transport-ws');
  await a.init({ authorization: `Bearer ${bad}` });
  const b = client(t, url, 'graphql-transport-ws');
  await b.init({ authorization: `Bearer ${good}` });
  // The listener is up: a NOTIFY closes at once (what core's revoking statement sends).
  const c = client(t, url, 'graphql-transport-ws');
  await c.init({ authorization: `Bearer ${await token('u3', { sid: 'session-3' })}` });
  await pool.query(`SELECT pg_notify('linkport_revocations', '{"kind":"session","sid":"session-3"}')`);
  assert.equal((await c.closed).code, 4401);
  // The listener's connection dies; a revocation happens meanwhile (its NOTIFY is lost).
  revoked.add(bad);
  await pool.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'hasura-engine-revocations'");
  const closed = await Promise.race([a.closed, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 5000))]);
  assert.notEqual(closed, 'timeout', 'closed within 5 s of the listener coming back');
  assert.equal((closed as { code: number }).code, 4401);
  assert.equal(b.ws.readyState, WebSocket.OPEN, 'a credential core still accepts stays open');
});

void test('metrics: pollers, cohorts and subscribers per kind at scrape; poll durations and statements per kind', async (t) => {
  const { app: a, url, pool } = await app(t);
  await pool.query("INSERT INTO events (owner, body) VALUES ('u1', 'a')");
  const c = client(t, url);
  await c.init(ADMIN);
  c.send({ type: 'start', id: 'live', payload: { query: 'subscription { events { id } }' } });
  for (const id of ['s1', 's2']) c.send({ type: 'start', id, payload: { query: STREAM } });
  await c.until(() => ['live', 's1', 's2'].every((id) => c.messages.some((m) => m.id === id)));
  await new Promise((r) => setTimeout(r, 1200));
  const body = (await a.inject({ method: 'GET', url: '/metrics' })).body;
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(body)?.[1]);
  assert.equal(value('linkport_graphql_subscription_subscribers{kind="streaming"}'), 2);
  assert.equal(value('linkport_graphql_subscription_cohorts{kind="streaming"}'), 1, 'two streams at the same cursor: one cohort');
  assert.equal(value('linkport_graphql_subscription_pollers{kind="streaming"}'), 1);
  assert.equal(value('linkport_graphql_subscription_subscribers{kind="live"}'), 1);
  assert.ok(value('linkport_graphql_subscription_poll_duration_seconds_count{kind="streaming"}') >= 2, body);
  assert.ok(value('linkport_graphql_subscription_poll_duration_seconds_count{kind="live"}') >= 1, body);
  assert.ok(value('linkport_graphql_subscription_statements_total{kind="streaming"}') >= 2);
});

/**
 * Event-trigger tests' parts, all real: the engine app on a fresh database, a webhook receiver
 * (node:http on port 0) that records every delivery and answers as the test says, processors on
 * the app's metadata with a clock the test moves, and small SQL helpers over hdb_catalog.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import pg from 'pg';
import type { FastifyInstance } from 'fastify';
import { createTestDatabase, type TestDatabase } from '@linkport/devstack/testing';
import { buildApp } from '../../src/app.ts';
import { loadEngineConfig } from '../../src/config.ts';
import { EventProcessor, Slots, defaultEventsConfig, type EventsConfig } from '../../src/events/processor.ts';
import { ScheduledProcessor } from '../../src/scheduled/processor.ts';

export const SECRET = { 'x-hasura-admin-secret': 'sekret' };

export interface Delivery {
  method: string;
  /** Path and query string. */
  url: string;
  headers: http.IncomingHttpHeaders;
  /** The raw body text. */
  raw: string;
  body: any;
  at: number;
}

export interface Receiver {
  url: string;
  deliveries: Delivery[];
  /** How the next requests are answered (default 200 `ok`). */
  respond: (d: Delivery, res: http.ServerResponse) => void;
  /** Resolves once `n` deliveries have arrived. */
  waitFor(n: number, timeoutMs?: number): Promise<void>;
}

export async function startReceiver(t: TestContext): Promise<Receiver> {
  const deliveries: Delivery[] = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const receiver: Receiver = {
    url: '',
    deliveries,
    respond: (_d, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'),
    waitFor(n, timeoutMs = 15_000) {
      if (deliveries.length >= n) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`waited for ${n} deliveries, got ${deliveries.length}`)), timeoutMs);
        waiters.push({ n, resolve: () => { clearTimeout(timer); resolve(); } });
      });
    },
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        body = raw; // a transformed (form or empty) body
      }
      const d: Delivery = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, raw, body, at: Date.now() };
      deliveries.push(d);
      for (const w of waiters.filter((x) => deliveries.length >= x.n)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
      receiver.respond(d, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  t.after(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return receiver;
}

/** A clock the test moves; starts at the real time. */
export class TestClock {
  private offset = 0;
  now = (): Date => new Date(Date.now() + this.offset);
  advance(ms: number): void {
    this.offset += ms;
  }
}

export interface EventsTestApp {
  app: FastifyInstance;
  db: TestDatabase;
  pool: pg.Pool;
  clock: TestClock;
  env: Record<string, string>;
}

/** The engine with its own delivery loops off (tests drive processors with `processor()`). */
export async function eventsApp(t: TestContext, opts: { env?: Record<string, string>; db?: TestDatabase; dropDb?: boolean; processor?: 'on' | 'off' } = {}): Promise<EventsTestApp> {
  const db = opts.db ?? (await createTestDatabase({ migrated: false }));
  const clock = new TestClock();
  const env = {
    HASURA_GRAPHQL_DATABASE_URL: db.adminUrl,
    HASURA_GRAPHQL_ADMIN_SECRET: 'sekret',
    LOG_LEVEL: 'silent',
    ENGINE_EVENTS_PROCESSOR: opts.processor ?? 'off',
    ...opts.env,
  };
  const app = await buildApp(loadEngineConfig(env), { eventsClock: clock.now });
  const pool = new pg.Pool({ connectionString: db.adminUrl, max: 4 });
  // An idle connection ended under the pool (a backend terminated by the server) is dropped and
  // replaced; without a listener its 'error' would end the test process. Queries still reject.
  pool.on('error', () => undefined);
  // One hook, in order: the database is dropped only after everything using it let go.
  t.after(async () => {
    await app.close();
    await pool.end();
    if (!opts.db || opts.dropDb) await db.drop();
  });
  return { app, db, pool, clock, env };
}

export function processor(t: TestContext, ta: EventsTestApp, config: Partial<EventsConfig> = {}, pool?: pg.Pool): EventProcessor {
  const svc = ta.app.metadataService;
  const cfg = { ...defaultEventsConfig, ...config };
  const p = new EventProcessor({
    pool: pool ?? ta.pool,
    metadata: () => svc.current,
    version: () => svc.version,
    env: ta.env,
    log: ta.app.log,
    config: cfg,
    now: ta.clock.now,
  });
  t.after(() => p.stop(0));
  return p;
}

export function scheduledProcessor(t: TestContext, ta: EventsTestApp, config: Partial<EventsConfig> = {}): ScheduledProcessor {
  const svc = ta.app.metadataService;
  const cfg = { ...defaultEventsConfig, ...config };
  const p = new ScheduledProcessor({
    pool: ta.pool,
    metadata: () => svc.current,
    version: () => svc.version,
    env: ta.env,
    log: ta.app.log,
    config: cfg,
    slots: new Slots(cfg.httpPoolSize),
    now: ta.clock.now,
  });
  t.after(() => p.stop(0));
  return p;
}

/** POST to an admin endpoint through the app. */
export async function admin(app: FastifyInstance, body: unknown, url = '/v1/metadata') {
  const res = await app.inject({ method: 'POST', url, payload: JSON.stringify(body), headers: { 'content-type': 'application/json', ...SECRET } });
  return { status: res.statusCode, body: JSON.parse(res.body) as any };
}

export async function gql(app: FastifyInstance, query: string, headers: Record<string, string> = SECRET) {
  const res = await app.inject({ method: 'POST', url: '/v1/graphql', payload: JSON.stringify({ query }), headers: { 'content-type': 'application/json', ...headers } });
  return JSON.parse(res.body) as any;
}

/** run_sql + track_table of a fresh table. */
export async function setupTable(app: FastifyInstance, ddl: string, table: string | { schema: string; name: string }): Promise<void> {
  const r = await admin(app, { type: 'bulk', args: [{ type: 'run_sql', args: { sql: ddl } }, { type: 'pg_track_table', args: { table } }] }, '/v1/metadata');
  if (r.status !== 200) throw new Error(JSON.stringify(r.body));
}

export async function createTrigger(app: FastifyInstance, args: Record<string, unknown>) {
  return admin(app, { type: 'pg_create_event_trigger', args });
}

export async function eventRows(pool: pg.Pool, trigger?: string) {
  const { rows } = await pool.query(
    `SELECT id, trigger_name, payload, delivered, error, tries, locked, next_retry_at, archived FROM hdb_catalog.event_log
      WHERE $1::text IS NULL OR trigger_name = $1 ORDER BY created_at, id`,
    [trigger ?? null],
  );
  return rows;
}

export async function invocations(pool: pg.Pool, eventId?: string) {
  const { rows } = await pool.query(
    `SELECT event_id, trigger_name, status, request, response FROM hdb_catalog.event_invocation_logs
      WHERE $1::text IS NULL OR event_id = $1 ORDER BY created_at, id`,
    [eventId ?? null],
  );
  return rows;
}

/** Runs ticks until the processor has nothing in flight and a tick takes nothing. */
export async function drain(p: EventProcessor | ScheduledProcessor): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const taken = await p.tick();
    await p.idle();
    if (taken === 0) return;
  }
  throw new Error('processor never drained');
}

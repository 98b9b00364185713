import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '@linkport/devstack/testing';
import { buildEvents, type EventsOptions, type EventsService } from '../src/app.ts';
import { loadEventsConfig } from '../src/config.ts';

export const HASURA_SECRET = 'test-hasura-events-secret';

export interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
  at: number;
}

/** A real HTTP receiver on port 0 that records every request and answers with `respond`. */
export async function receiver(t: TestContext, respond: (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void = (_q, r) => void r.end('ok')) {
  const got: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
      respond(req, res, got.length);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}/hook`, port, got };
}

export class TestClock {
  constructor(private t = Date.now()) {}
  now = (): Date => new Date(this.t);
  advance(ms: number): void {
    this.t += ms;
  }
}

export const newSecret = (): string => `whsec_${randomBytes(24).toString('base64')}`;

export interface Env {
  db: TestDatabase;
  admin: pg.Pool;
  env(overrides?: Record<string, string>): Record<string, string>;
  build(overrides?: Record<string, string>, opts?: EventsOptions): Promise<EventsService>;
  newUser(): Promise<string>;
  newEndpoint(ownerId: string, url: string, fields?: { event_types?: string[]; secret?: string }): Promise<{ id: string; secret: string }>;
  newLink(ownerId: string, fields?: Record<string, unknown>): Promise<Record<string, unknown>>;
}

export async function setup(t: TestContext): Promise<Env> {
  const db = await createTestDatabase();
  const admin = new pg.Pool({ connectionString: db.adminUrl, max: 3 });
  const built: EventsService[] = [];
  t.after(async () => {
    for (const b of built) await b.close().catch(() => undefined);
    await admin.end();
    await db.drop();
  });
  const env = (overrides: Record<string, string> = {}) => ({
    DATABASE_URL: db.roleUrl('links_admin'),
    HOST: '127.0.0.1',
    EVENTS_PORT: '0',
    LOG_LEVEL: 'silent',
    EVENTS_HASURA_SECRET: HASURA_SECRET,
    EVENTS_ALLOW_LOOPBACK: '1',
    EVENTS_DELIVERY_TIMEOUT_MS: '3000',
    ...overrides,
  });
  let n = 0;
  return {
    db,
    admin,
    env,
    async build(overrides = {}, opts = {}) {
      const s = await buildEvents(loadEventsConfig(env(overrides)), opts);
      built.push(s);
      return s;
    },
    async newUser() {
      const { rows } = await admin.query<{ id: string }>(`INSERT INTO core.users (email, password_hash) VALUES ($1, 'x') RETURNING id`, [`u${Date.now()}${n++}@example.com`]);
      return rows[0]!.id;
    },
    async newEndpoint(ownerId, url, fields = {}) {
      const secret = fields.secret ?? newSecret();
      const { rows } = await admin.query<{ id: string }>(
        `INSERT INTO webhooks.endpoints (owner_id, url, secret, event_types) VALUES ($1, $2, $3, $4) RETURNING id`,
        [ownerId, url, secret, fields.event_types ?? []],
      );
      return { id: rows[0]!.id, secret };
    },
    async newLink(ownerId, fields = {}) {
      const { rows } = await admin.query<Record<string, unknown>>(
        `INSERT INTO links.links (owner_id, code, destination, max_clicks) VALUES ($1, $2, $3, $4) RETURNING *`,
        [ownerId, `c${Date.now().toString(36)}${n++}`, 'https://example.com/x', fields.max_clicks ?? null],
      );
      return JSON.parse(JSON.stringify(rows[0]!)) as Record<string, unknown>;
    },
  };
}

/** A Hasura v2 event-trigger body (hasura.io/docs/2.0/event-triggers/payload/). */
export function hasuraPayload(table: string, op: 'INSERT' | 'UPDATE' | 'DELETE', data: { old?: unknown; new?: unknown }, id = `evt-${Math.random().toString(36).slice(2)}`) {
  const [schema, name] = table.split('.');
  return {
    id,
    created_at: new Date().toISOString(),
    trigger: { name: `${name}_events` },
    table: { schema, name },
    delivery_info: { max_retries: 5, current_retry: 0 },
    event: { op, session_variables: { 'x-hasura-role': 'admin' }, data: { old: data.old ?? null, new: data.new ?? null } },
  };
}

export async function postEvent(s: EventsService, payload: unknown, secret = HASURA_SECRET) {
  return s.app.inject({ method: 'POST', url: '/internal/hasura/events', headers: { 'x-linkport-events-secret': secret }, payload: payload as object });
}

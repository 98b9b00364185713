/**
 * Upstream's event-trigger classes (test_events.py) in the conformance runner: a real webhook
 * server, as upstream's `evts_webhook` fixture (tests-py/context.py `EvtsWebhookServer`: records
 * every POST's path, headers and JSON body; answers 200), whose URL the engine gets as
 * EVENT_WEBHOOK_HANDLER (the setups write `webhook: "{{EVENT_WEBHOOK_HANDLER}}"`), and ports of
 * the few test bodies that are Python rather than YAML: each does what the Python does, in order,
 * with upstream's assertions (validate.py `check_event_transformed`: path, headers present,
 * headers removed, body).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import assert from 'node:assert/strict';
import type { ManifestClass } from './suite.ts';

export interface WebhookEvent {
  path: string;
  method: string;
  headers: http.IncomingHttpHeaders;
  body: unknown;
}

export interface EventsWebhook {
  url: string;
  /** The next event not yet taken, waiting up to `timeoutMs` (EvtsWebhookServer.get_event). */
  getEvent(timeoutMs?: number): Promise<WebhookEvent>;
  /** Forgets what arrived (upstream empties its queue between tests). */
  clear(): void;
  close(): Promise<void>;
}

export async function startEventsWebhook(): Promise<EventsWebhook> {
  const queue: WebhookEvent[] = [];
  let waiter: (() => void) | undefined;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown = raw;
      try {
        body = JSON.parse(raw);
      } catch {
        // a transformed body need not be JSON
      }
      queue.push({ path: req.url ?? '', method: req.method ?? '', headers: req.headers, body });
      waiter?.();
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  // Never what keeps a test process alive.
  server.unref();
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async getEvent(timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (queue.length === 0) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no webhook event within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiter = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      return queue.shift()!;
    },
    clear: () => void queue.splice(0),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Classes that need the webhook: upstream's `evts_webhook` module fixture covers test_events.py. */
export const usesEventsWebhook = (c: ManifestClass) => c.dir.startsWith('queries/event_triggers/');

export interface PortContext {
  /** POST a body to the engine; the status and JSON answer. */
  request(endpoint: string, body: unknown): Promise<{ status: number; body: unknown }>;
  /** The YAML file's query(ies) of the class directory, as `hge_ctx.v1metadataq_f` sends it. */
  yamlQuery(file: string): unknown;
  /** Runs a check_query_f YAML file of the class directory (throws on a difference). */
  checkQuery(file: string): Promise<void>;
  webhook: EventsWebhook;
}

export type PortedTest = (ctx: PortContext) => Promise<void>;

async function manualBasic(ctx: PortContext): Promise<void> {
  // test_events.py TestManualEvents.test_basic: enabled → 200, disabled → 400.
  const enabled = await ctx.request('/v1/metadata', ctx.yamlQuery('enabled.yaml'));
  assert.equal(enabled.status, 200, JSON.stringify(enabled.body));
  const disabled = await ctx.request('/v1/metadata', ctx.yamlQuery('disabled.yaml'));
  assert.equal(disabled.status, 400, JSON.stringify(disabled.body));
}

/** By `<class>.<test>` of the manifest. */
export const pythonPorts: Record<string, PortedTest> = {
  'TestManualEvents.test_basic': manualBasic,
  'TestManualEvents.test_basic_with_reload_metadata': async (ctx) => {
    for (let i = 0; i < 5; i++) {
      await manualBasic(ctx);
      const r = await ctx.request('/v1/metadata', { type: 'reload_metadata', args: { source: 'mssql', reload_sources: true } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      await manualBasic(ctx);
    }
  },
  'TestEventTransform.test_basic': async (ctx) => {
    await ctx.checkQuery('basic_transform.yaml');
    const row = { id: 0, first_name: 'Simon', last_name: 'Marlow' };
    const ins = await ctx.request('/v1/query', { type: 'insert', args: { table: { schema: 'hge_tests', name: 'test_t1' }, objects: [row], returning: [] } });
    assert.equal(ins.status, 200, JSON.stringify(ins.body));
    const ev = await ctx.webhook.getEvent();
    // check_event_transformed(…, expectedBody, headers={"foo": "bar"}, removedHeaders=["user-agent"], webhook_path="/?foo=bar")
    assert.equal(ev.path, '/?foo=bar');
    assert.equal(ev.headers.foo, 'bar');
    assert.equal(ev.headers['user-agent'], undefined);
    assert.deepEqual(ev.body, row);
  },
};

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
import { CronExpressionParser } from 'cron-parser';
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
  /** Forgets what arrived (upstream's fixture is per class: a new server, an empty queue). */
  clear(): void;
  /** Requests to /block waiting for unblock() (EvtsWebhookServer.blocked_count). */
  readonly blockedCount: number;
  /** Answers every waiting and future /block request (EvtsWebhookServer.unblock; idempotent). */
  unblock(): void;
  close(): Promise<void>;
}

export async function startEventsWebhook(): Promise<EventsWebhook> {
  const queue: WebhookEvent[] = [];
  let waiter: (() => void) | undefined;
  let unblocked = false;
  const blocked = new Set<() => void>();
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
      // EvtsWebhookHandler: /fail answers 500, /sleep_2s 204 after two seconds, everything else 204;
      // the request is queued once answered.
      const done = () => {
        queue.push({ path: req.url ?? '', method: req.method ?? '', headers: req.headers, body });
        waiter?.();
      };
      // /block: held until unblock(), at most 60 s as upstream's wait(timeout=60).
      if (req.url === '/block' && !unblocked) {
        const release = () => {
          clearTimeout(timer);
          blocked.delete(release);
          if (!res.destroyed) res.writeHead(204).end();
          done();
        };
        const timer = setTimeout(release, 60_000);
        timer.unref();
        blocked.add(release);
        return;
      }
      if (req.url === '/sleep_2s') {
        setTimeout(() => {
          if (!res.destroyed) res.writeHead(204).end();
          done();
        }, 2000).unref();
        return;
      }
      res.writeHead(req.url === '/fail' ? 500 : 204).end();
      done();
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
    get blockedCount() {
      return blocked.size;
    },
    unblock() {
      unblocked = true;
      for (const release of [...blocked]) release();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Classes that need the webhook: upstream's `evts_webhook` module fixture covers test_events.py,
 * `scheduled_triggers_evts_webhook` test_scheduled_triggers.py.
 */
export const usesEventsWebhook = (c: ManifestClass) => c.dir.startsWith('queries/event_triggers/') || c.dir === 'queries/scheduled_triggers';

export interface PortContext {
  /** POST a body to the engine (as the admin, plus `headers`); the status and JSON answer. */
  request(endpoint: string, body: unknown, headers?: Record<string, string>): Promise<{ status: number; body: unknown }>;
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

/** run_sql's rows (the first row of a TuplesOk result is the header). */
async function sqlRows(ctx: PortContext, sql: string): Promise<string[][]> {
  const r = await ctx.request('/v2/query', { type: 'run_sql', args: { sql } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return ((r.body as { result?: string[][] }).result ?? []).slice(1);
}

async function v1q(ctx: PortContext, body: unknown, status = 200): Promise<unknown> {
  const r = await ctx.request('/v1/query', body);
  assert.equal(r.status, status, JSON.stringify(r.body));
  return r.body;
}

/** until_asserts_pass: the check, again every 200 ms until it passes or time is up. */
async function untilPasses(check: () => Promise<void>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** `croniter(schedule, from)`'s next `n` times, as naive UTC text (what timezone('utc', …) gives). */
function cronNext(schedule: string, from: Date, n: number): string[] {
  const it = CronExpressionParser.parse(schedule, { tz: 'UTC', currentDate: from });
  return Array.from({ length: n }, () => it.next().toDate().toISOString().slice(0, 19));
}

/** TestCronTrigger's class attributes: a schedule 30 minutes ahead so nothing fires meanwhile. */
const cronClass = (() => {
  let state: { schedule: string; initTime: Date } | undefined;
  return {
    init(): { schedule: string; initTime: Date } {
      const initTime = new Date();
      state = { schedule: `${new Date(initTime.getTime() + 30 * 60_000).getUTCMinutes()} * * * *`, initTime };
      return state;
    },
    get(): { schedule: string; initTime: Date } {
      return state ?? this.init();
    },
  };
})();
const CRON = 'cron_trigger';

async function verifyTimestamps(ctx: PortContext, expected: string[]): Promise<void> {
  const rows = await sqlRows(ctx, `SELECT to_json(timezone('utc', scheduled_time))#>>'{}' FROM hdb_catalog.hdb_cron_events WHERE trigger_name = '${CRON}' ORDER BY scheduled_time ASC`);
  assert.deepEqual(rows.map((r) => r[0]), expected);
}

const cronArgs = (hook: string, headers: Array<{ name: string; value: string }>, extra: Record<string, unknown> = {}) => ({
  type: 'create_cron_trigger',
  args: { name: CRON, webhook: `${hook}/foo`, schedule: cronClass.get().schedule, headers, payload: { foo: 'baz' }, include_in_metadata: true, ...extra },
});

const defaultRetry = { num_retries: 0, retry_interval_seconds: 10, timeout_seconds: 60, tolerance_seconds: 21600 };

const T1 = { schema: 'hge_tests', name: 'test_t1' };

/** validate.py check_event: the next event is this trigger's `op` on `table` with this data. */
async function checkEvent(
  ctx: PortContext,
  trigger: string,
  table: { schema: string; name: string },
  op: string,
  data: unknown,
  opts: { headers?: Record<string, string>; path?: string; session?: Record<string, string>; timeoutMs?: number; retry?: number } = {},
): Promise<void> {
  // get_event(3) upstream; the engine fetches every second (HASURA_GRAPHQL_EVENTS_FETCH_INTERVAL).
  const ev = await ctx.webhook.getEvent(opts.timeoutMs ?? 10_000);
  const body = ev.body as { event: { op: string; data: unknown; session_variables: unknown }; table: unknown; trigger: { name: string }; delivery_info: { current_retry: number } };
  assert.equal(ev.path, opts.path ?? '/');
  for (const [k, v] of Object.entries(opts.headers ?? {})) assert.equal(ev.headers[k.toLowerCase()], v, k);
  for (const k of ['created_at', 'event', 'id', 'table', 'trigger']) assert.ok(k in body, k);
  assert.deepEqual(body.table, table);
  assert.equal(body.trigger.name, trigger);
  assert.equal(body.event.op, op);
  assert.deepEqual(body.event.session_variables, opts.session ?? { 'x-hasura-role': 'admin' });
  assert.deepEqual(body.event.data, data);
  assert.equal(body.delivery_info.current_retry, opts.retry ?? 0);
}

/** `with pytest.raises(queue.Empty): check_event(…, get_timeout=n)`: no event within n seconds. */
async function noEvent(ctx: PortContext, seconds: number): Promise<void> {
  await assert.rejects(ctx.webhook.getEvent(seconds * 1000), /no webhook event/);
}

async function v1qHeaders(ctx: PortContext, body: unknown, headers: Record<string, string>): Promise<void> {
  const r = await ctx.request('/v1/query', body, headers);
  assert.equal(r.status, 200, JSON.stringify(r.body));
}

const insert = (ctx: PortContext, table: unknown, row: unknown, headers: Record<string, string> = {}) =>
  v1qHeaders(ctx, { type: 'insert', args: { table, objects: [row], returning: [] } }, headers);
const update = (ctx: PortContext, table: unknown, where: unknown, set: unknown, headers: Record<string, string> = {}) =>
  v1qHeaders(ctx, { type: 'update', args: { table, where, $set: set } }, headers);
const remove = (ctx: PortContext, table: unknown, where: unknown, headers: Record<string, string> = {}) =>
  v1qHeaders(ctx, { type: 'delete', args: { table, where } }, headers);

/** The insert → update → delete walk most test_events.py classes make, each checked. */
async function crud(ctx: PortContext, opts: { path?: string; headers?: Record<string, string> } = {}): Promise<void> {
  const row = { c1: 1, c2: 'hello' };
  await insert(ctx, T1, row);
  await checkEvent(ctx, 't1_all', T1, 'INSERT', { old: null, new: row }, opts);
  await update(ctx, T1, { c1: 1 }, { c2: 'world' });
  await checkEvent(ctx, 't1_all', T1, 'UPDATE', { old: row, new: { c1: 1, c2: 'world' } }, opts);
  await remove(ctx, T1, { c1: 1 });
  await checkEvent(ctx, 't1_all', T1, 'DELETE', { old: { c1: 1, c2: 'world' }, new: null }, opts);
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

  'TestCreateEventQueryPostgresMSSQL.test_basic': (ctx) => crud(ctx),
  'TestCreateEventQueryPostgres.test_partitioned_table_basic_insert': async (ctx) => {
    await v1q(ctx, ctx.yamlQuery('partition_table_setup.yaml'));
    const table = { schema: 'hge_tests', name: 'measurement' };
    const row = { city_id: 1, logdate: '2006-02-02', peaktemp: 1, unitsales: 1 };
    await insert(ctx, table, row);
    await checkEvent(ctx, 'measurement_all', table, 'INSERT', { old: null, new: row });
    await v1q(ctx, ctx.yamlQuery('partition_table_teardown.yaml'));
  },
  'TestEventSessionVariables.test_basic': async (ctx) => {
    const row = { c1: 1, c2: 'hello' };
    const s1 = { 'x-hasura-role': 'admin', 'x-hasura-allowed-roles': "['admin','user']", 'x-hasura-user-id': '1' };
    await insert(ctx, T1, row, s1);
    await checkEvent(ctx, 't1_all', T1, 'INSERT', { old: null, new: row }, { session: s1 });
    const s2 = { 'x-hasura-role': 'admin', 'x-hasura-random': 'some_random_info', 'X-Random-Header': 'not_session_variable' };
    await update(ctx, T1, { c1: 1 }, { c2: 'world' }, s2);
    const { 'X-Random-Header': _notSession, ...s2Session } = s2;
    await checkEvent(ctx, 't1_all', T1, 'UPDATE', { old: row, new: { c1: 1, c2: 'world' } }, { session: s2Session });
    await remove(ctx, T1, { c1: 1 });
    await checkEvent(ctx, 't1_all', T1, 'DELETE', { old: { c1: 1, c2: 'world' }, new: null });
  },
  // retry_conf/setup.yaml: t1_retry → /fail (num_retries 4, interval_sec 1); t2_timeout_short →
  // /sleep_2s (num_retries 2, interval_sec 1, timeout_sec 1); t3_timeout_long → /sleep_2s (timeout_sec 10).
  'TestEventRetryConfPostgresMSSQL.test_basic': async (ctx) => {
    const row = { c1: 1, c2: 'hello' };
    await insert(ctx, T1, row);
    for (let retry = 0; retry <= 4; retry++) await checkEvent(ctx, 't1_retry', T1, 'INSERT', { old: null, new: row }, { path: '/fail', retry });
  },
  'TestEventRetryConfPostgresMSSQL.test_timeout_short': async (ctx) => {
    const t2 = { schema: 'hge_tests', name: 'test_t2' };
    const row = { c1: 1, c2: 'hello' };
    await insert(ctx, t2, row);
    for (let retry = 0; retry <= 2; retry++) await checkEvent(ctx, 't2_timeout_short', t2, 'INSERT', { old: null, new: row }, { path: '/sleep_2s', retry });
  },
  'TestEventRetryConfPostgresMSSQL.test_timeout_long': async (ctx) => {
    const t3 = { schema: 'hge_tests', name: 'test_t3' };
    const row = { c1: 1, c2: 'hello' };
    await insert(ctx, t3, row);
    await new Promise((r) => setTimeout(r, 2000));
    await checkEvent(ctx, 't3_timeout_long', t3, 'INSERT', { old: null, new: row }, { path: '/sleep_2s' });
  },
  // "Keep this one last": no stray retry or redelivery arrives.
  'TestEventRetryConfPostgresMSSQL.test_queue_empty': (ctx) => noEvent(ctx, 3),
  // TestUpdateEventQuery's autouse `transact` fixture is part of the port: create, then replace
  // the trigger (insert → gone; update columns [c2, c3] → [c1, c3]; webhook → /new), teardown after.
  'TestUpdateEventQuery.test_update_basic': async (ctx) => {
    await v1q(ctx, ctx.yamlQuery('create-setup.yaml'));
    try {
      const resp = (await v1q(ctx, ctx.yamlQuery('update-setup.yaml'))) as Array<{ sources: Array<{ tables: Array<{ event_triggers: Array<{ webhook: string }> }> }> }>;
      assert.equal(resp[1]!.sources[0]!.tables[0]!.event_triggers[0]!.webhook, '{{EVENT_WEBHOOK_HANDLER}}/new');
      const row = { c1: 1, c2: 'hello', c3: { name: 'clarke' } };
      await insert(ctx, T1, row);
      await noEvent(ctx, 0);
      await update(ctx, T1, { c1: 1 }, { c2: 'world' });
      await noEvent(ctx, 0);
      await update(ctx, T1, { c1: 1 }, { c3: { name: 'bellamy' } });
      await checkEvent(ctx, 't1_cols', T1, 'UPDATE', { old: { c1: 1, c2: 'world', c3: { name: 'clarke' } }, new: { c1: 1, c2: 'world', c3: { name: 'bellamy' } } }, { path: '/new' });
      await update(ctx, T1, { c1: 1 }, { c1: 2 });
      await checkEvent(ctx, 't1_cols', T1, 'UPDATE', { old: { c1: 1, c2: 'world', c3: { name: 'bellamy' } }, new: { c1: 2, c2: 'world', c3: { name: 'bellamy' } } }, { path: '/new' });
      await remove(ctx, T1, { c1: 2 });
      await checkEvent(ctx, 't1_cols', T1, 'DELETE', { old: { c1: 2, c2: 'world', c3: { name: 'bellamy' } }, new: null }, { path: '/new' });
    } finally {
      await v1q(ctx, ctx.yamlQuery('teardown.yaml'));
    }
  },
  'TestEventInsertOnly.test_insert_only': async (ctx) => {
    const row = { c1: 1, c2: 'hello' };
    await insert(ctx, T1, row);
    await checkEvent(ctx, 't1_insert', T1, 'INSERT', { old: null, new: row });
    await update(ctx, T1, { c1: 1 }, { c2: 'world' });
    await noEvent(ctx, 0);
    await remove(ctx, T1, { c1: 1 });
    // NOTE upstream: a bit of a delay here, to catch any stray events generated above.
    await noEvent(ctx, 2);
  },
  'TestEventHeadersPostgresMSSQL.test_basic': async (ctx) => {
    const row = { c1: 1, c2: 'hello' };
    await insert(ctx, T1, row);
    await checkEvent(ctx, 't1_all', T1, 'INSERT', { old: null, new: row }, { headers: { 'X-Header-From-Value': 'MyValue', 'X-Header-From-Env': 'MyEnvValue' } });
  },
  'TestWebhookEvent.test_basic': (ctx) => crud(ctx),
  'TestEventWebhookTemplateURL.test_basic': (ctx) => crud(ctx, { path: '/trigger' }),

  // TestEventSelCols (selected_cols/setup.yaml: t1_cols fires on an update of c1 only).
  'TestEventSelCols.test_selected_cols': async (ctx) => {
    await insert(ctx, T1, { c1: 1, c2: 'hello' });
    await checkEvent(ctx, 't1_cols', T1, 'INSERT', { old: null, new: { c1: 1, c2: 'hello' } });
    await update(ctx, T1, { c1: 1 }, { c2: 'world' });
    await noEvent(ctx, 0);
    await update(ctx, T1, { c1: 1 }, { c1: 2 });
    await checkEvent(ctx, 't1_cols', T1, 'UPDATE', { old: { c1: 1, c2: 'world' }, new: { c1: 2, c2: 'world' } });
    await remove(ctx, T1, { c1: 2 });
    await checkEvent(ctx, 't1_cols', T1, 'DELETE', { old: { c1: 2, c2: 'world' }, new: null });
  },
  'TestEventSelCols.test_selected_cols_dep': async (ctx) => {
    // c1 is an update column of t1_cols: dropping it is a dependency error; c2 is not.
    const r = (await v1q(ctx, { type: 'run_sql', args: { sql: 'alter table hge_tests.test_t1 drop column c1' } }, 400)) as { code: string };
    assert.equal(r.code, 'dependency-error', JSON.stringify(r));
    await v1q(ctx, { type: 'run_sql', args: { sql: 'alter table hge_tests.test_t1 drop column c2' } });
  },
  // TestEventSelPayload (selected_payload/setup.yaml: update payload [c1], delete payload [c2]).
  'TestEventSelPayload.test_selected_payload': async (ctx) => {
    await insert(ctx, T1, { c1: 1, c2: 'hello' });
    await checkEvent(ctx, 't1_payload', T1, 'INSERT', { old: null, new: { c1: 1, c2: 'hello' } });
    await update(ctx, T1, { c1: 1 }, { c2: 'world' });
    await checkEvent(ctx, 't1_payload', T1, 'UPDATE', { old: { c1: 1 }, new: { c1: 1 } });
    await update(ctx, T1, { c1: 1 }, { c1: 2 });
    await checkEvent(ctx, 't1_payload', T1, 'UPDATE', { old: { c1: 1 }, new: { c1: 2 } });
    await remove(ctx, T1, { c1: 2 });
    await checkEvent(ctx, 't1_payload', T1, 'DELETE', { old: { c2: 'world' }, new: null });
  },
  'TestEventSelPayload.test_selected_payload_dep': async (ctx) => {
    for (const col of ['c1', 'c2']) {
      const r = (await v1q(ctx, { type: 'run_sql', args: { sql: `alter table hge_tests.test_t1 drop column ${col}` } }, 400)) as { code: string };
      assert.equal(r.code, 'dependency-error', JSON.stringify(r));
    }
  },
  // TestDeleteEventQuery: basic/setup.yaml then delete_query/setup.yaml (t1_all deleted): nothing fires.
  'TestDeleteEventQuery.test_delete_basic': async (ctx) => {
    await insert(ctx, T1, { c1: 1, c2: 'hello' });
    await noEvent(ctx, 0);
    await update(ctx, T1, { c1: 1 }, { c2: 'world' });
    await noEvent(ctx, 0);
    await remove(ctx, T1, { c1: 1 });
    // NOTE upstream: a bit of a delay here, to catch any stray events generated above.
    await noEvent(ctx, 2);
  },
  // Five events to /sleep_2s (2 s each) all delivered within 10 s: delivered side by side.
  'TestEventsAsynchronousExecutionPostgresMSSQL.test_async_execution': async (ctx) => {
    await v1q(ctx, { type: 'insert', args: { table: T1, objects: [1, 2, 3, 4, 5].map((c1) => ({ c1, c2: 'hello' })), returning: [] } });
    const start = performance.now();
    for (let i = 0; i < 5; i++) await ctx.webhook.getEvent(5_000);
    assert.ok(performance.now() - start < 10_000, `took ${Math.round(performance.now() - start)} ms`);
  },
  // TestEventDataFormat: a bigint beyond 2^53 arrives as a string; a geography as GeoJSON.
  'TestEventDataFormat.test_bigint': async (ctx) => {
    const table = { schema: 'hge_tests', name: 'test_bigint' };
    // Upstream sends the JSON number 50755254975729665; a JS number cannot hold it (2^53 < it), so
    // it goes as a string, which /v1/query insert takes for a bigint column as Hasura does.
    await insert(ctx, table, { id: '50755254975729665', name: 'hello' });
    await checkEvent(ctx, 'bigint_all', table, 'INSERT', { old: null, new: { id: '50755254975729665', name: 'hello' } });
  },
  'TestEventDataFormat.test_geojson': async (ctx) => {
    const table = { schema: 'hge_tests', name: 'test_geojson' };
    const location = { coordinates: [-43.77, 45.64], crs: { type: 'name', properties: { name: 'urn:ogc:def:crs:EPSG::4326' } }, type: 'Point' };
    await update(ctx, table, { id: 1 }, { id: 2 });
    await checkEvent(ctx, 'geojson_all', table, 'UPDATE', { old: { id: 1, location }, new: { id: 2, location } });
  },
  // TestEventFloodPostgresMSSQL (engine env HASURA_GRAPHQL_EVENTS_FETCH_BATCH_SIZE=100,
  // HASURA_GRAPHQL_EVENTS_HTTP_POOL_SIZE=8): 1000 events against /block.
  'TestEventFloodPostgresMSSQL.test_flood': async (ctx) => {
    const table = { schema: 'hge_tests', name: 'test_flood' };
    const payload = Array.from({ length: 1000 }, (_, i) => i + 1);
    await v1q(ctx, { type: 'insert', args: { table, objects: payload.map((c1) => ({ c1, c2: 'hello' })), returning: [] } });
    const checkBackpressure = async () => {
      // HASURA_GRAPHQL_EVENTS_HTTP_POOL_SIZE webhooks pending: delivered concurrently, at most that many.
      assert.equal(ctx.webhook.blockedCount, 8);
      const rows = await sqlRows(ctx, "select (select count(*) from hdb_catalog.event_log where locked IS NOT NULL) as num_locked, count(*) as total from hdb_catalog.event_log where table_name = 'test_flood'");
      // 2 × FETCH_BATCH_SIZE checked out: 100 prefetched, 100 being processed (blocked on the pool).
      assert.equal(rows[0]![0], '200');
    };
    // A failed backpressure check still unblocks and takes the 1000 deliveries before it is
    // reported: otherwise they would land in the next classes' queue (one webhook per run).
    let backpressure: unknown;
    try {
      await untilPasses(checkBackpressure, 30_000);
      // …then make sure it is truly stable.
      await new Promise((r) => setTimeout(r, 3000));
      await checkBackpressure();
    } catch (err) {
      backpressure = err;
    }
    ctx.webhook.unblock();
    const ns: number[] = [];
    for (let i = 0; i < payload.length; i++) {
      const ev = await ctx.webhook.getEvent(600_000);
      ns.push((ev.body as { event: { data: { new: { c1: number } } } }).event.data.new.c1);
    }
    ns.sort((a, b) => a - b);
    assert.deepEqual(ns, payload);
    if (backpressure) throw backpressure;
  },

  // test_scheduled_triggers.py
  'TestScheduledEvent.test_scheduled_events': async (ctx) => {
    const now = new Date().toISOString();
    const payload = { foo: 'baz' };
    const headers = [{ name: 'header-key', value: 'header-value' }];
    const hook = ctx.webhook.url;
    const resp = (await v1q(ctx, {
      type: 'bulk',
      args: [
        { type: 'create_scheduled_event', args: { webhook: `${hook}/test`, schedule_at: now, payload, headers, comment: 'test scheduled event' } },
        { type: 'create_scheduled_event', args: { webhook: `${hook}/`, schedule_at: '2020-01-01T00:00:00Z', payload, headers } },
        { type: 'create_scheduled_event', args: { webhook: `${hook}/fail`, schedule_at: now, payload, headers, retry_conf: { num_retries: 1, retry_interval_seconds: 1, timeout_seconds: 1, tolerance_seconds: 21600 } } },
      ],
    })) as Array<Record<string, unknown>>;
    assert.equal(resp.length, 3);
    assert.ok(resp.every((r) => 'event_id' in r), JSON.stringify(resp));
    // get_event(12) three times: at least 10 s apart (the scheduled processor's sleep).
    const events = [await ctx.webhook.getEvent(12_000), await ctx.webhook.getEvent(12_000), await ctx.webhook.getEvent(12_000)];
    const [fail1, fail2, success] = events.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    assert.equal(fail1!.path, '/fail');
    assert.equal(fail2!.path, '/fail');
    const [[createdAt]] = (await sqlRows(ctx, `SELECT to_json(timezone('utc', created_at))#>>'{}' FROM hdb_catalog.hdb_scheduled_events WHERE comment = 'test scheduled event'`)) as [[string]];
    assert.equal(success!.path, '/test');
    assert.equal(success!.headers['header-key'], 'header-value');
    const body = success!.body as Record<string, unknown>;
    assert.deepEqual(body.payload, payload);
    assert.equal(body.created_at, `${createdAt}Z`);
    for (const k of ['scheduled_time', 'created_at', 'id']) assert.ok(k in body, k);
    await assert.rejects(ctx.webhook.getEvent(0), 'the queue is empty');
    await untilPasses(async () => {
      const rows = await sqlRows(ctx, 'SELECT status, tries FROM hdb_catalog.hdb_scheduled_events ORDER BY status DESC');
      assert.deepEqual(rows, [['error', '2'], ['delivered', '1'], ['dead', '0']]);
    });
  },
  'TestCronTrigger.test_create_cron_schedule_triggers': async (ctx) => {
    cronClass.init();
    const r = (await v1q(ctx, cronArgs(ctx.webhook.url, [{ name: 'foo', value: 'baz' }]))) as { message: string };
    assert.equal(r.message, 'success');
  },
  'TestCronTrigger.test_check_generated_cron_scheduled_events': async (ctx) => {
    const { schedule, initTime } = cronClass.get();
    await untilPasses(() => verifyTimestamps(ctx, cronNext(schedule, initTime, 100)));
  },
  'TestCronTrigger.test_update_existing_cron_trigger': async (ctx) => {
    const expected = cronNext(cronClass.get().schedule, new Date(), 100);
    await v1q(ctx, cronArgs(ctx.webhook.url, [{ name: 'header-name', value: 'header-value' }], { replace: true }));
    const exported = (await v1q(ctx, { type: 'export_metadata', args: {} })) as { cron_triggers: Array<{ name: string; headers: unknown }> };
    for (const c of exported.cron_triggers) if (c.name === CRON) assert.deepEqual(c.headers, [{ name: 'header-name', value: 'header-value' }]);
    await untilPasses(() => verifyTimestamps(ctx, expected));
  },
  'TestCronTrigger.test_check_fired_webhook_event': async (ctx) => {
    await v1q(ctx, {
      type: 'create_cron_trigger',
      args: { name: 'test_cron_trigger', webhook: `${ctx.webhook.url}/test`, schedule: '* * * * *', headers: [{ name: 'header-key', value: 'header-value' }], payload: { foo: 'baz' }, include_in_metadata: false },
    });
    // Upstream waits up to 75 s: the first event is at the next minute, taken within the 10 s sleep.
    const event = await ctx.webhook.getEvent(75_000);
    assert.equal(event.path, '/test');
    assert.equal(event.headers['header-key'], 'header-value');
    assert.deepEqual((event.body as { payload: unknown }).payload, { foo: 'baz' });
    assert.equal((event.body as { name: unknown }).name, 'test_cron_trigger');
  },
  'TestCronTrigger.test_get_cron_triggers': async (ctx) => {
    const r = await ctx.request('/v1/metadata', { type: 'get_cron_triggers', args: {} });
    assert.equal(r.status, 200);
    assert.deepEqual((r.body as { cron_triggers: unknown }).cron_triggers, [
      { headers: [{ name: 'header-name', value: 'header-value' }], include_in_metadata: true, name: CRON, payload: { foo: 'baz' }, retry_conf: defaultRetry, schedule: cronClass.get().schedule, webhook: `${ctx.webhook.url}/foo` },
      { headers: [{ name: 'header-key', value: 'header-value' }], include_in_metadata: false, name: 'test_cron_trigger', payload: { foo: 'baz' }, retry_conf: defaultRetry, schedule: '* * * * *', webhook: `${ctx.webhook.url}/test` },
    ]);
  },
  'TestCronTrigger.test_export_and_import_cron_triggers': async (ctx) => {
    const exported = (await v1q(ctx, { type: 'export_metadata', args: {} })) as { cron_triggers: unknown };
    assert.deepEqual(exported.cron_triggers, [
      { headers: [{ name: 'header-name', value: 'header-value' }], include_in_metadata: true, name: CRON, payload: { foo: 'baz' }, schedule: cronClass.get().schedule, webhook: `${ctx.webhook.url}/foo` },
    ]);
    await v1q(ctx, { type: 'replace_metadata', args: { metadata: exported } });
    const [[count]] = (await sqlRows(ctx, `SELECT count(1) FROM hdb_catalog.hdb_cron_events WHERE trigger_name = '${CRON}'`)) as [[string]];
    assert.equal(Number(count), 100);
  },
  'TestCronTrigger.test_attempt_to_create_duplicate_cron_trigger_fail': async (ctx) => {
    const resp = await v1q(ctx, {
      type: 'create_cron_trigger',
      args: { name: 'test_cron_trigger', webhook: `${ctx.webhook.url}/test`, schedule: '* * * * *', headers: [{ name: 'header-key', value: 'header-value' }], payload: { foo: 'baz' }, include_in_metadata: false },
    }, 400);
    assert.deepEqual(resp, { code: 'already-exists', error: 'cron trigger with name: test_cron_trigger already exists', path: '$.args' });
  },
  'TestCronTrigger.test_delete_cron_scheduled_trigger': async (ctx) => {
    await v1q(ctx, { type: 'bulk', args: [{ type: 'delete_cron_trigger', args: { name: CRON } }, { type: 'delete_cron_trigger', args: { name: 'test_cron_trigger' } }] });
  },
};

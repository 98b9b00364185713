/**
 * Request and response transforms on real deliveries (upstream RQL/DDL/Webhook/Transform*.hs,
 * Eventing/HTTP.hs `mkRequest`/`invokeRequest`; docs "REST connectors" of event and cron
 * triggers): a real engine and PostgreSQL, a node:http receiver, processors driven by the test.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { admin, createTrigger, drain, eventRows, eventsApp, invocations, processor, scheduledProcessor, setupTable, startReceiver } from '../events/helper.ts';

const TABLE = { schema: 'hge_tests', name: 'users' };
const DDL = 'CREATE SCHEMA IF NOT EXISTS hge_tests; CREATE TABLE hge_tests.users (id int PRIMARY KEY, name text)';

void test('event trigger: method, url template, query params, headers added and removed, body and response transformed', async (t) => {
  const ta = await eventsApp(t);
  const hook = await startReceiver(t);
  hook.respond = (_d, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, extra: 'dropped' }));
  await setupTable(ta.app, DDL, TABLE);
  const r = await createTrigger(ta.app, {
    name: 'users_rest', table: TABLE, webhook: hook.url, insert: { columns: '*' },
    request_transform: {
      version: 2, template_engine: 'Kriti', method: 'PUT',
      url: '{{$base_url}}/users/{{$body.event.data.new.id}}',
      query_params: { source: 'hasura', op: '{{$body.event.op}}', gone: '{{$body.event.data.old}}' },
      request_headers: { add_headers: { 'x-kind': '{{ toLower($body.event.op) }}' }, remove_headers: ['User-Agent'] },
      body: { action: 'transform', template: '{"name": {{$body.event.data.new.name}}, "role": {{ $body.event.session_variables?["x-hasura-role"] ?? "none" }}, "tags": {{ range _, x := ["a", "b"] }} {{ toUpper(x) }} {{ end }} }' },
    },
    response_transform: { version: 2, body: { action: 'transform', template: '{"ok": {{$body.ok}}, "status": {{$response.status}}, "base": {{$request.base_url}}, "sent": {{$request.body.event.data.new.id}} }' } },
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  await ta.pool.query(`INSERT INTO hge_tests.users VALUES (1, 'Ada')`);
  await drain(processor(t, ta));

  assert.equal(hook.deliveries.length, 1);
  const d = hook.deliveries[0]!;
  assert.equal(d.method, 'PUT');
  // Pairs in key order; `gone` renders "null" (no old row on INSERT) and is left out.
  assert.equal(d.url, '/users/1?op=INSERT&source=hasura');
  assert.equal(d.headers['x-kind'], 'insert');
  assert.equal(d.headers['user-agent'], undefined, 'remove_headers is case-insensitive and nothing adds a user-agent back');
  assert.equal(d.headers['content-type'], 'application/json');
  assert.deepEqual(d.body, { name: 'Ada', role: 'none', tags: ['A', 'B'] });

  const [ev] = await eventRows(ta.pool, 'users_rest');
  assert.equal(ev.delivered, true);
  const [inv] = await invocations(ta.pool, ev.id);
  // The logged request is the event payload; the logged response body is the transformed one.
  assert.equal(inv.request.payload.event.op, 'INSERT');
  assert.deepEqual(JSON.parse(inv.response.data.body), { ok: true, status: 200, base: hook.url, sent: 1 });
});

void test('a request transform that fails at delivery marks the event failed at once, no retries; one that fails to parse is refused at create', async (t) => {
  const ta = await eventsApp(t);
  const hook = await startReceiver(t);
  await setupTable(ta.app, DDL, TABLE);
  const bad = await createTrigger(ta.app, {
    name: 'users_bad', table: TABLE, webhook: hook.url, insert: { columns: '*' },
    request_transform: { version: 2, body: { action: 'transform', template: '{{ $body.event.data.new.name' } },
  });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.code, 'validation-failed');
  assert.equal(bad.body.error, 'request transform validation failed');
  assert.equal(bad.body.internal[0].error_code, 'Parse Error');
  const exported = await admin(ta.app, { type: 'export_metadata', args: {} });
  assert.equal(JSON.stringify(exported.body).includes('users_bad'), false, 'nothing stored');

  const badResponse = await createTrigger(ta.app, {
    name: 'users_bad', table: TABLE, webhook: hook.url, insert: { columns: '*' },
    response_transform: { version: 1, body: '{{ }}' },
  });
  assert.equal(badResponse.body.error, 'response transform validation failed');

  const ok = await createTrigger(ta.app, {
    name: 'users_missing', table: TABLE, webhook: hook.url, insert: { columns: '*' }, retry_conf: { num_retries: 3, interval_sec: 0 },
    request_transform: { version: 2, body: { action: 'transform', template: '{{ $body.event.data.new.nickname }}' } },
  });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  await ta.pool.query(`INSERT INTO hge_tests.users VALUES (2, 'Bob')`);
  await drain(processor(t, ta));
  assert.equal(hook.deliveries.length, 0, 'nothing sent');
  const [ev] = await eventRows(ta.pool, 'users_missing');
  assert.equal(ev.error, true);
  assert.equal(ev.tries, 1);
  const [inv] = await invocations(ta.pool, ev.id);
  assert.match(inv.response.data.message, /has no attribute 'nickname'/);
});

void test('cron trigger: form-urlencoded body (keys sorted, "null" values left out), content-type replaced, GET with the body removed', async (t) => {
  const ta = await eventsApp(t);
  const hook = await startReceiver(t);
  const cron = await admin(ta.app, {
    type: 'create_cron_trigger',
    args: {
      name: 'form_job', webhook: `${hook.url}/form`, schedule: '* * * * *', include_in_metadata: true, payload: { x: 'hello world', n: 3 },
      request_transform: {
        version: 2,
        body: { action: 'x_www_form_urlencoded', form_template: { z: '{{$body.payload.x}}', a: '{{$body.payload.n}}', none: '{{$body.payload?.missing}}', who: '{{$body.name}}' } },
        request_headers: { add_headers: { 'content-type': 'application/x-www-form-urlencoded' } },
      },
    },
  });
  assert.equal(cron.status, 200, JSON.stringify(cron.body));
  const get = await admin(ta.app, {
    type: 'create_cron_trigger',
    args: { name: 'get_job', webhook: `${hook.url}/get`, schedule: '* * * * *', include_in_metadata: true, request_transform: { version: 2, method: 'GET', body: { action: 'remove' }, query_params: '{{ "a=1&b=" + "x" }}' } },
  });
  // `+` is not Kriti: the template does not parse.
  assert.equal(get.status, 400);
  assert.equal((await admin(ta.app, {
    type: 'create_cron_trigger',
    args: { name: 'get_job', webhook: `${hook.url}/get`, schedule: '* * * * *', include_in_metadata: true, request_transform: { version: 2, method: 'GET', body: { action: 'remove' }, query_params: 'a=1&b={{ $body.name }}' } },
  })).status, 200);

  const p = scheduledProcessor(t, ta);
  await p.generate();
  ta.clock.advance(61_000);
  await drain(p);
  const form = hook.deliveries.find((d) => d.url === '/form');
  assert.ok(form, JSON.stringify(hook.deliveries.map((d) => d.url)));
  assert.equal(form.method, 'POST');
  assert.equal(form.raw, 'a=3&who=form_job&z=hello%20world');
  assert.equal(form.headers['content-type'], 'application/x-www-form-urlencoded');
  const g = hook.deliveries.find((d) => d.url.startsWith('/get'));
  assert.ok(g);
  assert.equal(g.method, 'GET');
  assert.equal(g.url, '/get?a=1&b=get_job');
  assert.equal(g.raw, '');
});

void test('test_webhook_transform: the request a webhook would get, sample env only, errors with Kriti positions', async (t) => {
  const ta = await eventsApp(t, { env: { SECRET_HOOK: 'http://should-not-leak' } });
  const r = await admin(ta.app, {
    type: 'test_webhook_transform',
    args: {
      webhook_url: '{{BASE}}/x', env: { BASE: 'http://example.test' }, body: { event: { data: { new: { id: 7 } } } },
      request_headers: [['Keep', 'me'], ['Drop', 'me']],
      session_variables: { 'X-Hasura-Role': 'user' },
      request_transform: { version: 2, method: 'PATCH', request_headers: { remove_headers: ['drop'], add_headers: { 'X-Role': '{{ getSessionVariable("x-hasura-role") }}' } }, body: { action: 'transform', template: '{"id": {{$body.event.data.new.id}}, "url": {{$base_url}} }' } },
    },
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body, { webhook_url: 'http://example.test/x', method: 'PATCH', headers: [['keep', 'me'], ['x-role', 'user']], body: { id: 7, url: 'http://example.test/x' } });
  // The engine's own environment is never read: only the sample env.
  const missing = await admin(ta.app, { type: 'test_webhook_transform', args: { webhook_url: '{{SECRET_HOOK}}', body: {}, request_transform: {} } });
  assert.equal(missing.status, 400); // err400 NotFound
  assert.equal(missing.body.code, 'not-found');
  assert.match(missing.body.error, /^Missing Env Var: SECRET_HOOK\./);
  const parse = await admin(ta.app, { type: 'test_webhook_transform', args: { webhook_url: 'http://x', body: {}, request_transform: { version: 2, body: { action: 'bogus' } } } });
  assert.equal(parse.status, 400);
  assert.equal(parse.body.code, 'parse-failed');
  const url = await admin(ta.app, { type: 'test_webhook_transform', args: { webhook_url: 'http://x', body: {}, request_transform: { url: '{{ 1 }}' } } });
  assert.equal(url.status, 400);
  assert.deepEqual(url.body.internal, [{ error_code: 'TransformationError', message: 'Invalid URL: 1' }]);
});

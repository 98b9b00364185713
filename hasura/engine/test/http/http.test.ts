/**
 * The HTTP surface answers as Hasura does (docs/research/hasura-v2.md §B.4, §C.3): bad bodies, wrong paths and
 * methods get Hasura's error JSON — never a 500 page.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp, post } from './helper.ts';

void test('GraphQL endpoints: bodies, batches, errors', async (t) => {
  const { app } = await buildTestApp(t);

  const ok = await post(app, '/v1/graphql', { query: '{ whoami }' });
  assert.equal(ok.status, 200);
  assert.equal(ok.body.data.whoami.role, 'admin');
  assert.ok(ok.headers['x-request-id']);

  const badJson = await post(app, '/v1/graphql', '{nope');
  assert.equal(badJson.status, 200);
  assert.equal(badJson.body.errors[0].extensions.code, 'invalid-json');
  assert.equal(badJson.body.errors[0].extensions.path, '$');

  const alphaBad = await post(app, '/v1alpha1/graphql', '{nope');
  assert.equal(alphaBad.status, 400);

  const noQuery = await post(app, '/v1/graphql', { variables: {} });
  assert.equal(noQuery.status, 200);
  assert.deepEqual(noQuery.body, { errors: [{ extensions: { path: '$', code: 'parse-failed' }, message: 'key "query" not found' }] });

  const notObject = await post(app, '/v1/graphql', 42);
  assert.equal(notObject.body.errors[0].extensions.code, 'parse-failed');

  const batch = await post(app, '/v1/graphql', [{ query: '{ whoami }' }, { nope: 1 }, { query: '{ invalid }' }]);
  assert.equal(batch.status, 200);
  assert.equal(batch.body.length, 3);
  assert.equal(batch.body[0].data.whoami.role, 'admin');
  assert.equal(batch.body[1].errors[0].extensions.code, 'parse-failed');
  assert.equal(batch.body[2].errors[0].extensions.code, 'validation-failed');

  const alphaInvalid = await post(app, '/v1alpha1/graphql', { query: '{ invalid }' });
  assert.equal(alphaInvalid.status, 400);

  const thrown = await post(app, '/v1/graphql', { query: '{ boom }' });
  assert.equal(thrown.status, 200);
  assert.equal(thrown.body.errors[0].extensions.code, 'unexpected');

  const get = await app.inject({ method: 'GET', url: '/v1/graphql?query=%7B%20whoami%20%7D' });
  assert.equal(get.statusCode, 200);
  assert.equal(JSON.parse(get.body).data.whoami.role, 'admin');
});

void test('health, version, unknown paths and methods', async (t) => {
  const { app } = await buildTestApp(t);
  const health = await app.inject({ method: 'GET', url: '/healthz' });
  assert.equal(health.statusCode, 200);
  assert.equal(health.body, 'OK');
  const version = await app.inject({ method: 'GET', url: '/v1/version' });
  assert.match(JSON.parse(version.body).version, /^v2\./);
  for (const [method, url] of [['GET', '/nope'], ['PUT', '/v1/graphql'], ['DELETE', '/v1/metadata'], ['GET', '/v1/metadata']] as const) {
    const res = await app.inject({ method, url });
    assert.equal(res.statusCode, 404, `${method} ${url}`);
    assert.deepEqual(JSON.parse(res.body), { path: '$', error: 'resource does not exist', code: 'not-found' });
  }
  const consolePage = await app.inject({ method: 'GET', url: '/console' });
  assert.equal(consolePage.statusCode, 200);
  assert.match(consolePage.body, /\/v1\/links\/graphql/);
});

void test('admin APIs: admin only, Hasura error JSON', async (t) => {
  const { app } = await buildTestApp(t, { env: { HASURA_GRAPHQL_ADMIN_SECRET: 's3cret' } });
  const none = await post(app, '/v1/metadata', { type: 'export_metadata', args: {} });
  assert.equal(none.status, 401);
  assert.deepEqual(none.body, { path: '$', error: 'x-hasura-admin-secret/x-hasura-access-key required, but not found', code: 'access-denied' });
  const wrong = await post(app, '/v1/query', { type: 'run_sql', args: { sql: 'select 1' } }, { 'x-hasura-admin-secret': 'x' });
  assert.equal(wrong.status, 401);
  const asUser = await post(app, '/v2/query', { type: 'run_sql', args: { sql: 'select 1' } }, { 'x-hasura-admin-secret': 's3cret', 'x-hasura-role': 'user' });
  assert.equal(asUser.status, 400);
  assert.deepEqual(asUser.body, { path: '$.args', error: 'restricted access : admin only', code: 'access-denied' });
  const badJson = await post(app, '/v1/metadata', '{', { 'x-hasura-admin-secret': 's3cret' });
  assert.equal(badJson.status, 400);
  assert.equal(badJson.body.code, 'invalid-json');
  const unknown = await post(app, '/v1/metadata', { type: 'no_such_thing', args: {} }, { 'x-hasura-admin-secret': 's3cret' });
  assert.equal(unknown.status, 400);
  const sql = await post(app, '/v2/query', { type: 'run_sql', args: { sql: "select 1 as a, 'x' as b, true as c, null as d" } }, { 'x-hasura-admin-secret': 's3cret' });
  assert.deepEqual(sql.body, { result_type: 'TuplesOk', result: [['a', 'b', 'c', 'd'], ['1', 'x', 't', null]] });
  const sqlErr = await post(app, '/v2/query', { type: 'run_sql', args: { sql: 'select * from nowhere' } }, { 'x-hasura-admin-secret': 's3cret' });
  assert.equal(sqlErr.status, 400);
  assert.equal(sqlErr.body.code, 'postgres-error');
  assert.equal(sqlErr.body.error, 'query execution failed');
});

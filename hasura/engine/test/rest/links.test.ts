/**
 * The links REST endpoints of hasura/metadata/rest_endpoints.yaml (list, create, get by code,
 * update, delete, stats) over the migrated schema as `user`, with the allow-list on as in
 * production; and hasura/engine/openapi.json, the committed OpenAPI document of them, checked
 * for drift against /api/swagger/json (regenerate: LINKPORT_UPDATE_OPENAPI=1 npm test -- hasura/engine/test/rest/links).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { buildTestApp } from '../http/helper.ts';
import { SEED_SQL, USERS } from '../query/fixtures.ts';

const METADATA = path.resolve(import.meta.dirname, '../../../metadata');
const OPENAPI = path.resolve(import.meta.dirname, '../../openapi.json');

void test('links REST endpoints: list, create, get by code, update, stats, delete as the owner; others see nothing', async (t) => {
  const { app, db } = await buildTestApp(t, {
    fake: false, migrated: true, role: 'links_admin',
    env: { HASURA_GRAPHQL_METADATA_DIR: METADATA, HASURA_GRAPHQL_ENABLE_ALLOWLIST: 'true', HASURA_GRAPHQL_ENABLE_CONSOLE: 'false' },
  });
  const seed = new pg.Client({ connectionString: db.adminUrl });
  await seed.connect();
  await seed.query(SEED_SQL);
  await seed.end();
  const call = async (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, who: string, body?: unknown) => {
    const res = await app.inject({
      method, url,
      headers: { 'x-hasura-role': 'user', 'x-hasura-user-id': who, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
    });
    return { status: res.statusCode, body: JSON.parse(res.body) };
  };
  const created = await call('POST', '/api/rest/links', USERS.carol, { destination: 'https://example.com/rest', title: 'REST' });
  assert.equal(created.status, 200, JSON.stringify(created.body));
  const link = created.body.insert_links_links_one;
  assert.equal(link.destination, 'https://example.com/rest');
  assert.equal(link.title, 'REST');
  assert.match(link.code, /^[23456789a-km-zA-HJ-NP-Z]{7}$/);
  // A nullable variable left out is null (Rest.hs resolveVar `This` → Nothing).
  const untitled = await call('POST', '/api/rest/links', USERS.carol, { destination: 'https://example.com/untitled' });
  assert.equal(untitled.body.insert_links_links_one.title, null);

  const list = await call('GET', '/api/rest/links?limit=1', USERS.carol);
  assert.equal(list.status, 200);
  assert.equal(list.body.links_links.length, 1);
  const all = await call('GET', '/api/rest/links', USERS.carol);
  const codes = (r: { body: { links_links: Array<{ code: string }> } }) => r.body.links_links.map((l) => l.code);
  assert.ok(codes(all).includes(link.code) && codes(all).includes(untitled.body.insert_links_links_one.code));
  assert.ok(!codes(await call('GET', '/api/rest/links', USERS.bob)).includes(link.code), 'another user does not list them');

  const byCode = await call('GET', `/api/rest/links/${link.code}`, USERS.carol);
  assert.equal(byCode.body.links_links[0].id, link.id);
  assert.deepEqual((await call('GET', `/api/rest/links/${link.code}`, USERS.bob)).body, { links_links: [] });

  const updated = await call('PATCH', `/api/rest/links/${link.id}`, USERS.carol, { changes: { title: 'Renamed' } });
  assert.equal(updated.body.update_links_links_by_pk.title, 'Renamed');
  assert.deepEqual((await call('PATCH', `/api/rest/links/${link.id}`, USERS.bob, { changes: { title: 'Mine' } })).body, { update_links_links_by_pk: null });

  const stats = await call('GET', `/api/rest/links/${link.id}/stats?days=7`, USERS.carol);
  assert.equal(stats.status, 200, JSON.stringify(stats.body));
  assert.deepEqual(stats.body.links_links_by_pk, { id: link.id, code: link.code, click_count: '0', last_clicked_at: null, daily_stats: [] });

  // Errors as Hasura answers them on /api/rest.
  assert.deepEqual((await call('GET', '/api/rest/links/x/y/z', USERS.carol)), { status: 404, body: { path: '$', error: 'Endpoint not found', code: 'not-found' } });
  assert.deepEqual((await call('PUT' as 'GET', `/api/rest/links/${link.id}`, USERS.carol)), { status: 405, body: { path: '$', error: 'Allowed methods: GET, PATCH, DELETE', code: 'method-not-allowed' } });
  const badId = await call('GET', '/api/rest/links/not-a-uuid/stats', USERS.carol);
  assert.equal(badId.status, 400);
  assert.equal(badId.body.code, 'data-exception');
  assert.equal((await call('GET', '/api/rest/links?nope=1', USERS.carol)).body.error, 'Unexpected variable nope');

  assert.deepEqual((await call('DELETE', `/api/rest/links/${link.id}`, USERS.bob)).body, { delete_links_links_by_pk: null });
  assert.deepEqual((await call('DELETE', `/api/rest/links/${link.id}`, USERS.carol)).body, { delete_links_links_by_pk: { id: link.id, code: link.code } });
});

void test('hasura/engine/openapi.json is the OpenAPI document /api/swagger/json generates for the project metadata', async (t) => {
  const { app } = await buildTestApp(t, { fake: false, migrated: true, role: 'links_admin', env: { HASURA_GRAPHQL_METADATA_DIR: METADATA, HASURA_GRAPHQL_ENABLE_CONSOLE: 'false' } });
  const res = await app.inject({ method: 'GET', url: '/api/swagger/json' });
  assert.equal(res.statusCode, 200);
  const text = `${JSON.stringify(JSON.parse(res.body), null, 2)}\n`;
  if (process.env.LINKPORT_UPDATE_OPENAPI === '1') fs.writeFileSync(OPENAPI, text);
  assert.equal(fs.readFileSync(OPENAPI, 'utf8'), text, 'openapi.json drifted: regenerate with LINKPORT_UPDATE_OPENAPI=1');
  const doc = JSON.parse(text) as { paths: Record<string, Record<string, unknown>> };
  assert.deepEqual(Object.keys(doc.paths).sort(), ['/api/rest/links', '/api/rest/links/{code}', '/api/rest/links/{id}', '/api/rest/links/{id}/stats']);
  // Only the admin reads it.
  const asUser = await app.inject({ method: 'GET', url: '/api/swagger/json', headers: { 'x-hasura-role': 'user', 'x-hasura-user-id': USERS.alice } });
  assert.equal(asUser.statusCode, 400);
});

/**
 * The links REST endpoints (hasura/metadata/rest_endpoints.yaml, docs/engine-serving.md) through
 * the gateway on the `npm start` stack: /v1/links/api/<url> reaches the engine's /api/rest/<url>
 * with the caller's identity from forwardAuth (a JWT from login), and `@cached` runs against the
 * stack's Redis; the engine runs with the allow-list on, as in production.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '@linkport/devstack/testing';
import { startStack, type RunningStack, stackPortVariables } from '@linkport/launcher';

async function register(gw: string, email: string): Promise<string> {
  const reg = await fetch(`${gw}/v1/core/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: 'correct horse battery' }) });
  assert.equal(reg.status, 201, await reg.clone().text());
  return ((await reg.json()) as { access_token: string }).access_token;
}

void test('links REST endpoints through the gateway with the allow-list on: create, list, get by code, update, stats (@cached), delete; owners only', { timeout: 180_000 }, async (t) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'linkport-e2e-rest-'));
  const ports: Record<string, string> = {};
  for (const name of stackPortVariables()) {
    ports[name] = String(await freePort());
  }
  let stack: RunningStack | undefined;
  t.after(async () => {
    await stack?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  const { DATABASE_URL: _d, REDIS_URL: _r, S3_ENDPOINT: _s, HASURA_URL: _h, ...env } = process.env;
  // The allow-list on, as production runs: the REST queries are in linkport_first_party.
  stack = await startStack({ env: { ...env, ...ports, LOG_LEVEL: 'warn', LINKPORT_NO_INSTALL: '1', HASURA_GRAPHQL_ENABLE_ALLOWLIST: 'true' }, dataDir, log: (line) => t.diagnostic(line) });
  const gw = stack.endpoints.gateway!;
  const ada = { authorization: `Bearer ${await register(gw, `ada-${Date.now()}@example.com`)}` };
  const eve = { authorization: `Bearer ${await register(gw, `eve-${Date.now()}@example.com`)}` };
  const api = async (method: string, url: string, headers: Record<string, string>, body?: unknown) => {
    const res = await fetch(`${gw}/v1/links/api/${url}`, { method, headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
    const text = await res.text();
    return { status: res.status, body: JSON.parse(text) as Record<string, any>, headers: res.headers };
  };

  const created = await api('POST', 'links', ada, { destination: 'https://example.com/rest', title: 'REST' });
  assert.equal(created.status, 200, JSON.stringify(created.body));
  const link = created.body.insert_links_links_one as { id: string; code: string };
  assert.match(link.code, /^[23456789a-km-zA-HJ-NP-Z]{7}$/);
  assert.deepEqual((await api('GET', 'links', ada)).body.links_links.map((l: { code: string }) => l.code), [link.code]);
  assert.deepEqual((await api('GET', 'links', eve)).body, { links_links: [] });
  assert.equal((await api('GET', `links/${link.code}`, ada)).body.links_links[0].id, link.id);
  assert.equal((await api('PATCH', `links/${link.id}`, ada, { changes: { title: 'Renamed' } })).body.update_links_links_by_pk.title, 'Renamed');
  assert.deepEqual((await api('PATCH', `links/${link.id}`, eve, { changes: { title: 'Mine' } })).body, { update_links_links_by_pk: null });
  const stats = await api('GET', `links/${link.id}/stats?days=7`, ada);
  assert.equal(stats.status, 200, JSON.stringify(stats.body));
  assert.equal(stats.body.links_links_by_pk.click_count, '0');
  // The stats endpoint's query is @cached(ttl: 10): the second call is a hit from the stack's Redis.
  const again = await api('GET', `links/${link.id}/stats?days=7`, ada);
  assert.ok(stats.headers.get('x-hasura-query-cache-key'), 'the first call stored the answer');
  assert.equal(again.headers.get('x-hasura-query-cache-key'), stats.headers.get('x-hasura-query-cache-key'));
  assert.match(again.headers.get('cache-control') ?? '', /^max-age=\d+$/);
  assert.equal((await api('GET', 'links', { authorization: 'Bearer not-a-token' })).status, 401, 'the gateway refuses a bad token');
  assert.deepEqual(await api('GET', 'nope', ada).then((r) => [r.status, r.body.code]), [404, 'not-found']);
  assert.deepEqual((await api('DELETE', `links/${link.id}`, eve)).body, { delete_links_links_by_pk: null });
  assert.deepEqual((await api('DELETE', `links/${link.id}`, ada)).body, { delete_links_links_by_pk: { id: link.id, code: link.code } });

  // An operation outside the collection is refused for a user, over the gateway too.
  const refused = await fetch(`${gw}/v1/links/graphql`, { method: 'POST', headers: { ...ada, 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ links_links { owner_id } }' }) });
  assert.deepEqual(await refused.json(), { errors: [{ extensions: { path: '$', code: 'validation-failed' }, message: 'query is not allowed' }] });
});

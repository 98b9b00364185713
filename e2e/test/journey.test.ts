/**
 * The whole journey through the gateway on the `npm start` stack (issue: mutations and the
 * journey), with graphql-request as a frontend would use it:
 * register → log in → create a link (the database generates the code) → upload an image through a
 * presigned URL and attach it → visit the short link → the worker counts the click → the owner
 * reads the count and daily stats → another user can neither see, update nor delete the link → an
 * API key with `links:read` reads but cannot write.
 *
 * The README's "first five minutes" walks the same steps with curl.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GraphQLClient, ClientError } from 'graphql-request';
import { freePort } from '@linkport/devstack/testing';
import { startStack, type RunningStack, stackPortVariables } from '@linkport/launcher';

// A real 1×1 PNG: media's complete step checks the leading bytes against the declared type.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);
// A browser's user agent: bots and link-preview fetchers are recorded but not counted.
const BROWSER_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';

interface TokenPair {
  access_token: string;
  token_type: string;
  refresh_token: string;
}

async function json<T>(res: Response): Promise<T> {
  const text = await res.text();
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`HTTP ${res.status}: ${text.slice(0, 300)}`);
  }
}

function graphqlErrorCode(err: unknown): string | undefined {
  return err instanceof ClientError ? (err.response.errors?.[0]?.extensions?.code as string | undefined) : undefined;
}

async function eventually<T>(fn: () => Promise<T | undefined>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

void test('the journey: register → link → upload → click → stats → isolation → read-only key', { timeout: 180_000 }, async (t) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'linkport-e2e-'));
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
  const { DATABASE_URL: _d, REDIS_URL: _r, S3_ENDPOINT: _s, HASURA_URL: _h, ...env } = process.env;
  stack = await startStack({ env: { ...env, ...ports, LOG_LEVEL: 'warn', LINKPORT_NO_INSTALL: '1' }, dataDir, log: (line) => t.diagnostic(line) });
  const gw = stack.endpoints.gateway;
  assert.ok(gw, 'the gateway runs');

  // 1. Register and log in (OAuth 2 token response).
  const email = `ada-${Date.now()}@example.com`;
  const reg = await fetch(`${gw}/v1/core/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: 'correct horse battery', display_name: 'Ada' }),
  });
  assert.equal(reg.status, 201, await reg.clone().text());
  const login = await fetch(`${gw}/v1/core/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: 'correct horse battery' }),
  });
  assert.equal(login.status, 200);
  const tokens = await json<TokenPair>(login);
  assert.equal(tokens.token_type, 'Bearer');
  const auth = { authorization: `Bearer ${tokens.access_token}` };
  const gql = new GraphQLClient(`${gw}/v1/links/graphql`, { headers: auth });

  // 2. Create a link; the database generates the short code.
  const created = await gql.request<{ insert_links_links_one: { id: string; code: string; destination: string; click_count: string } }>(
    `mutation Create($dest: String!) {
       insert_links_links_one(object: {destination: $dest, title: "Launch"}) { id code destination click_count }
     }`,
    { dest: 'https://example.com/launch?ref=lp' },
  );
  const link = created.insert_links_links_one;
  assert.match(link.code, /^[23456789a-km-zA-HJ-NP-Z]{7}$/);
  assert.equal(link.click_count, '0', 'bigint as a string, as Hasura with stringified numerics');

  // 3. Upload an image through a presigned URL and attach it to the link.
  const upRes = await fetch(`${gw}/v1/media/uploads`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ filename: 'launch.png', contentType: 'image/png', size: PNG.length, visibility: 'public' }),
  });
  assert.equal(upRes.status, 201, await upRes.clone().text());
  const upload = await json<{ id: string; upload: { method: string; url: string; headers: Record<string, string> } }>(upRes);
  const put = await fetch(upload.upload.url, { method: 'PUT', headers: upload.upload.headers, body: PNG });
  assert.equal(put.status, 200, await put.clone().text());
  const complete = await fetch(`${gw}/v1/media/uploads/${upload.id}/complete`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: '{}',
  });
  assert.equal(complete.status, 200, await complete.clone().text());
  const attached = await gql.request<{ update_links_links_by_pk: { image_asset_id: string } | null }>(
    `mutation Attach($id: uuid!, $asset: uuid!) {
       update_links_links_by_pk(pk_columns: {id: $id}, _set: {image_asset_id: $asset}) { image_asset_id }
     }`,
    { id: link.id, asset: upload.id },
  );
  assert.equal(attached.update_links_links_by_pk?.image_asset_id, upload.id);

  // 4. Visit the short link through the gateway: 302 to the destination.
  const visit = await fetch(`${gw}/${link.code}`, { redirect: 'manual', headers: { 'user-agent': BROWSER_UA } });
  assert.equal(visit.status, 302);
  assert.equal(new URL(visit.headers.get('location') ?? '').toString(), 'https://example.com/launch?ref=lp');

  // 5. The worker counts the click; the owner reads the count and today's rollup.
  const stats = await eventually(async () => {
    const r = await gql.request<{ links_links_by_pk: { click_count: string; daily_stats: Array<{ day: string; clicks: string; visitors: string }> } | null }>(
      `query Stats($id: uuid!) {
         links_links_by_pk(id: $id) {
           click_count
           daily_stats(where: {dimension: {_eq: "total"}}) { day clicks visitors }
         }
       }`,
      { id: link.id },
    );
    return r.links_links_by_pk?.click_count === '1' ? r.links_links_by_pk : undefined;
  }, 'the worker to count the click');
  assert.equal(stats.daily_stats.length, 1);
  assert.equal(stats.daily_stats[0]?.clicks, '1');
  assert.equal(stats.daily_stats[0]?.visitors, '1');

  // 6. Another user sees nothing, and updates/deletes touch nothing — as Hasura answers them.
  const other = `eve-${Date.now()}@example.com`;
  const otherReg = await fetch(`${gw}/v1/core/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: other, password: 'another long password' }),
  });
  const otherTokens = await json<TokenPair>(otherReg);
  const eve = new GraphQLClient(`${gw}/v1/links/graphql`, { headers: { authorization: `Bearer ${otherTokens.access_token}` } });
  const seen = await eve.request<{ links_links: unknown[]; links_links_by_pk: unknown }>(
    `query($id: uuid!) { links_links { id } links_links_by_pk(id: $id) { id } }`,
    { id: link.id },
  );
  assert.deepEqual(seen, { links_links: [], links_links_by_pk: null });
  const upd = await eve.request<{ update_links_links_by_pk: unknown; update_links_links: { affected_rows: number } }>(
    `mutation($id: uuid!) {
       update_links_links_by_pk(pk_columns: {id: $id}, _set: {destination: "https://evil.example"}) { id }
       update_links_links(where: {id: {_eq: $id}}, _set: {destination: "https://evil.example"}) { affected_rows }
     }`,
    { id: link.id },
  );
  assert.deepEqual(upd, { update_links_links_by_pk: null, update_links_links: { affected_rows: 0 } });
  const del = await eve.request<{ delete_links_links_by_pk: unknown }>(`mutation($id: uuid!) { delete_links_links_by_pk(id: $id) { id } }`, {
    id: link.id,
  });
  assert.equal(del.delete_links_links_by_pk, null);
  const still = await gql.request<{ links_links_by_pk: { destination: string } | null }>(`query($id: uuid!) { links_links_by_pk(id: $id) { destination } }`, {
    id: link.id,
  });
  assert.equal(still.links_links_by_pk?.destination, 'https://example.com/launch?ref=lp');

  // 7. An API key with links:read reads, but cannot write.
  const keyRes = await fetch(`${gw}/v1/core/api-keys`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'dashboard', scopes: ['links:read'] }),
  });
  assert.equal(keyRes.status, 201, await keyRes.clone().text());
  const { key } = await json<{ key: string }>(keyRes);
  assert.match(key, /^lp_/);
  const reader = new GraphQLClient(`${gw}/v1/links/graphql`, { headers: { authorization: `Bearer ${key}` } });
  const read = await reader.request<{ links_links: Array<{ code: string }> }>(`{ links_links { code } }`);
  assert.deepEqual(read.links_links, [{ code: link.code }]);
  await assert.rejects(
    reader.request(`mutation { insert_links_links_one(object: {destination: "https://example.org"}) { id } }`),
    (err: unknown) => graphqlErrorCode(err) === 'validation-failed',
  );
});

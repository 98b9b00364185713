/**
 * Webhooks for users end to end on the `npm start` stack (issue 15 §2, events/README.md): a user
 * registers an endpoint through GraphQL (hasura/metadata webhooks_endpoints.yaml permissions), a
 * link insert goes engine event trigger (links_links.yaml links_webhooks) → events receiver →
 * signed delivery to a loopback receiver (EVENTS_ALLOW_LOOPBACK=1, as the launcher sets locally),
 * verified with the independent `standardwebhooks` package; clicks through the gateway reach the
 * owner as a batched link.clicked; another user's endpoint receives nothing; a link to a page
 * created without a title gets the page's Open Graph title and description (link previews).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Webhook } from 'standardwebhooks';
import { freePort } from '@linkport/devstack/testing';
import { startStack, type RunningStack, stackPortVariables } from '@linkport/launcher';

const BROWSER_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';

interface Hit {
  headers: Record<string, string>;
  body: string;
}

async function receiver(t: import('node:test').TestContext): Promise<{ url: string; hits: Hit[] }> {
  const hits: Hit[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
      hits.push({ headers, body: Buffer.concat(chunks).toString('utf8') });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, hits };
}

async function until<T>(what: string, f: () => T | undefined | Promise<T | undefined>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

void test('webhooks through the stack: endpoint via GraphQL, signed link.created, batched link.clicked, nothing for another user', { timeout: 240_000 }, async (t) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'linkport-e2e-webhooks-'));
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
  stack = await startStack({
    env: {
      ...env, ...ports, LOG_LEVEL: 'warn', LINKPORT_NO_INSTALL: '1',
      // Loopback receivers (the launcher's local default, explicit here) and short windows for the test.
      EVENTS_ALLOW_LOOPBACK: '1', EVENTS_CLICK_BATCH_MS: '500', EVENTS_DELIVERY_POLL_MS: '100',
    },
    dataDir,
    log: (line) => t.diagnostic(line),
  });
  const gw = stack.endpoints.gateway!;

  const register = async (email: string) => {
    const reg = await fetch(`${gw}/v1/core/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: 'correct horse battery' }) });
    assert.equal(reg.status, 201, await reg.clone().text());
    const token = ((await reg.json()) as { access_token: string }).access_token;
    return async <T = Record<string, any>>(query: string, variables?: Record<string, unknown>): Promise<{ data?: T; errors?: Array<{ message: string }> }> => {
      const res = await fetch(`${gw}/v1/links/graphql`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
      return (await res.json()) as { data?: T; errors?: Array<{ message: string }> };
    };
  };
  const ada = await register(`ada-${Date.now()}@example.com`);
  const eve = await register(`eve-${Date.now()}@example.com`);
  const adaHook = await receiver(t);
  const eveHook = await receiver(t);
  // The client makes the secret and sees it only now: no role may select it (events/README.md).
  const adaSecret = `whsec_${randomBytes(32).toString('base64')}`;
  const eveSecret = `whsec_${randomBytes(32).toString('base64')}`;

  const addEndpoint = 'mutation AddWebhookEndpoint($url: String!, $secret: String!, $description: String) { insert_webhooks_endpoints_one(object: {url: $url, secret: $secret, description: $description}) { id url enabled event_types } }';
  const a = await ada(addEndpoint, { url: adaHook.url, secret: adaSecret, description: 'ada' });
  assert.equal(a.data?.insert_webhooks_endpoints_one?.enabled, true, JSON.stringify(a));
  const e = await eve(addEndpoint, { url: eveHook.url, secret: eveSecret, description: 'eve' });
  assert.equal(e.data?.insert_webhooks_endpoints_one?.enabled, true, JSON.stringify(e));
  const secretRead = await ada('query { webhooks_endpoints { id secret } }');
  assert.match(secretRead.errors?.[0]?.message ?? '', /field 'secret' not found/, 'the secret is write-only');
  const listed = await eve('query ListWebhookEndpoints { webhooks_endpoints { id url enabled event_types } }');
  assert.deepEqual(listed.data?.webhooks_endpoints?.map((x: { url: string }) => x.url), [eveHook.url], 'each user lists only their endpoints');

  const created = await ada<{ insert_links_links_one: { id: string; code: string } }>(
    'mutation CreateLink($dest: String!) { insert_links_links_one(object: {destination: $dest}) { id code } }',
    { dest: 'https://example.com/webhooks' },
  );
  const link = created.data!.insert_links_links_one;
  assert.ok(link, JSON.stringify(created));

  const wh = new Webhook(adaSecret);
  const verified = (h: Hit) => wh.verify(h.body, h.headers) as { type: string; data: Record<string, any> };
  const linkCreated = await until('link.created at ada\'s receiver', () => adaHook.hits.map(verified).find((m) => m.type === 'link.created'));
  assert.equal(linkCreated.data.link.id, link.id);
  assert.equal(linkCreated.data.link.code, link.code);
  assert.ok(!('password' in linkCreated.data.link), 'no password hash in a webhook');
  const hit = adaHook.hits[0]!;
  assert.match(hit.headers['webhook-id'] ?? '', /^msg_/);
  assert.throws(() => new Webhook(eveSecret).verify(hit.body, hit.headers), 'another secret does not verify');

  for (let i = 0; i < 3; i++) {
    const visit = await fetch(`${gw}/${link.code}`, { redirect: 'manual', headers: { 'user-agent': BROWSER_UA } });
    assert.equal(visit.status, 302);
    await visit.body?.cancel();
  }
  // The worker may count the three clicks in one or several batches: the link.clicked messages sum to 3.
  const clicked = await until('three clicks in link.clicked', () => {
    const msgs = adaHook.hits.map(verified).filter((m) => m.type === 'link.clicked');
    const sum = msgs.reduce((s, m) => s + Number(m.data.clicks), 0);
    return sum >= 3 ? { msgs, sum } : undefined;
  });
  assert.equal(clicked.sum, 3);
  for (const m of clicked.msgs) assert.equal(m.data.link.id, link.id);

  // The delivery log, as the owner reads it; the other user sees none of it.
  const log = await until('the delivery log to show the deliveries succeeded', async () => {
    const r = await ada<{ webhooks_deliveries: Array<{ event_type: string; status: string; message: { payload: Record<string, any> } }> }>(
      'query WebhookDeliveries { webhooks_deliveries(order_by: {created_at: asc}) { id event_type status attempts last_response_code created_at message { payload } } }',
    );
    const rows = r.data?.webhooks_deliveries ?? [];
    return rows.length >= 1 + clicked.msgs.length && rows.every((x) => x.status === 'succeeded') ? rows : undefined;
  });
  assert.equal(log[0]!.event_type, 'link.created');
  assert.equal(log[0]!.message.payload.data.link.id, link.id);
  assert.deepEqual((await eve('query WebhookDeliveries { webhooks_deliveries(order_by: {created_at: asc}) { id event_type status attempts last_response_code created_at message { payload } } }')).data, { webhooks_deliveries: [] });
  assert.deepEqual(eveHook.hits, [], 'eve\'s endpoint received nothing of ada\'s links');

  // Link preview (issue 15 §4): a link to a page, created without a title, gets the page's
  // Open Graph title and description (engine trigger → events → SSRF-guarded fetch → update).
  const page = http.createServer((_req, res) => {
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end('<html><head><title>Plain</title><meta property="og:title" content="Preview title"><meta property="og:description" content="Preview text"></head><body></body></html>');
  });
  await new Promise<void>((r) => page.listen(0, '127.0.0.1', r));
  t.after(() => {
    page.closeAllConnections();
    page.close();
  });
  const previewed = await ada<{ insert_links_links_one: { id: string; code: string } }>(
    'mutation CreateLink($dest: String!) { insert_links_links_one(object: {destination: $dest}) { id code } }',
    { dest: `http://127.0.0.1:${(page.address() as AddressInfo).port}/article` },
  );
  const previewId = previewed.data?.insert_links_links_one?.id;
  assert.ok(previewId, JSON.stringify(previewed));
  const filled = await until('the preview to fill the title', async () => {
    const r = await ada<{ links_links_by_pk: { title: string | null; description: string | null } | null }>(
      'query LinkPreview($id: uuid!) { links_links_by_pk(id: $id) { title description } }',
      { id: previewId },
    );
    return r.data?.links_links_by_pk?.title ? r.data.links_links_by_pk : undefined;
  });
  assert.deepEqual(filled, { title: 'Preview title', description: 'Preview text' });
});

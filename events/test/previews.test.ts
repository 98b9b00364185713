/**
 * Link previews (issue 15 §4): a real loopback HTML server, the real database, the events receiver.
 * A link created with an empty title gets one from the page (Open Graph first), through a redirect;
 * what the owner typed is kept; a destination changed meanwhile wins; fetches are SSRF-guarded
 * (metadata and private addresses, also behind a redirect) and size-bounded.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parsePreview } from '../src/previews/parse.ts';
import { hasuraPayload, postEvent, setup, TestClock } from './helper.ts';

async function site(t: TestContext, pages: Record<string, (res: http.ServerResponse) => void>) {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(req.url ?? '');
    const page = pages[req.url ?? ''];
    if (!page) {
      res.statusCode = 404;
      res.end();
      return;
    }
    page(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits };
}

const html = (body: string) => (res: http.ServerResponse) => {
  res.setHeader('content-type', 'text/html; charset=utf-8');
  res.end(body);
};

void test('parsePreview: Open Graph before Twitter card before <title>/description, entities decoded, image resolved, nothing from <body>', () => {
  const page = `<!doctype html><html><head>
    <title>  Plain &amp; simple </title>
    <meta name="twitter:title" content="Card title">
    <meta property="og:title" content="OG &quot;title&quot;">
    <meta name="description" content="Meta description">
    <meta name="twitter:image" content="/img/card.png">
  </head><body><meta property="og:description" content="not in head"></body></html>`;
  assert.deepEqual(parsePreview(page, 'https://example.com/a/b'), { title: 'OG "title"', description: 'Meta description', imageUrl: 'https://example.com/img/card.png' });
  assert.deepEqual(parsePreview('<title>Only\n  a   title</title>', 'https://example.com/'), { title: 'Only a title' });
  assert.deepEqual(parsePreview('<meta property="og:image" content="javascript:alert(1)"><<<>', 'https://example.com/'), {});
  assert.equal(parsePreview(`<title>${'x'.repeat(600)}</title>`, 'https://example.com/').title?.length, 500, 'the links.title limit');
});

void test('a created link gets the page title through a redirect; the owner\'s description stays; a changed destination wins; SSRF and size bounds', async (t) => {
  const e = await setup(t);
  const clock = new TestClock();
  const s = await e.build({ EVENTS_PREVIEW_MAX_BYTES: '4096', EVENTS_PREVIEW_RETRY_MS: '1000' }, { clock });
  const padding = `<meta name="pad" content="${'p'.repeat(5000)}">`;
  const web = await site(t, {
    '/go': (res) => {
      res.statusCode = 301;
      res.setHeader('location', '/article');
      res.end();
    },
    '/article': html('<html><head><title>Fallback</title><meta property="og:title" content="The Article"><meta property="og:description" content="About it"></head><body>hi</body></html>'),
    '/second': html('<head><meta name="twitter:title" content="Second page"><meta name="twitter:description" content="Second text"></head>'),
    '/huge': html(`<head>${padding}<meta property="og:title" content="Too far down"></head>`),
    '/image': (res) => {
      res.setHeader('content-type', 'image/png');
      res.end(Buffer.alloc(100));
    },
    '/to-private': (res) => {
      res.statusCode = 302;
      res.setHeader('location', 'http://10.1.2.3/admin');
      res.end();
    },
  });
  const owner = await e.newUser();
  const linkWith = async (destination: string, fields: { title?: string; description?: string } = {}) => {
    const link = await e.newLink(owner);
    const { rows } = await e.admin.query(`UPDATE links.links SET destination = $2, title = $3, description = $4 WHERE id = $1 RETURNING *`, [link.id, destination, fields.title ?? null, fields.description ?? null]);
    const row = JSON.parse(JSON.stringify(rows[0])) as Record<string, unknown>;
    assert.equal((await postEvent(s, hasuraPayload('links.links', 'INSERT', { new: row }))).statusCode, 200);
    return row;
  };
  const read = async (id: unknown) => (await e.admin.query(`SELECT title, description FROM links.links WHERE id = $1`, [id])).rows[0] as { title: string | null; description: string | null };
  const jobs = async () => (await e.admin.query(`SELECT link_id, attempts, last_error FROM webhooks.preview_jobs ORDER BY created_at`)).rows as Array<{ link_id: string; attempts: number; last_error: string | null }>;

  const a = await linkWith(`${web.base}/go`, { description: 'Mine' });
  const complete = await linkWith(`${web.base}/article`, { title: 'T', description: 'D' });
  assert.deepEqual((await jobs()).map((j) => j.link_id), [a.id], 'a link with title and description needs no preview');
  assert.equal(await s.previews.runOnce(), 1);
  assert.deepEqual(await read(a.id), { title: 'The Article', description: 'Mine' });
  assert.deepEqual(web.hits, ['/go', '/article']);
  assert.deepEqual(await read(complete.id), { title: 'T', description: 'D' });
  assert.deepEqual(await jobs(), []);

  // A destination change re-queues the link; the pending job for the old page is replaced.
  const b = await linkWith(`${web.base}/huge`);
  await e.admin.query(`UPDATE links.links SET destination = $2 WHERE id = $1`, [b.id, `${web.base}/second`]);
  const moved = await postEvent(s, hasuraPayload('links.links', 'UPDATE', { old: b, new: { ...b, destination: `${web.base}/second` } }));
  assert.deepEqual(moved.json().events, ['link.updated']);
  assert.equal((await jobs()).length, 1);
  await s.previews.runOnce();
  assert.deepEqual(await read(b.id), { title: 'Second page', description: 'Second text' });

  // Size bound: the og:title after EVENTS_PREVIEW_MAX_BYTES is never read; the job ends anyway.
  const c = await linkWith(`${web.base}/huge`);
  await s.previews.runOnce();
  assert.deepEqual(await read(c.id), { title: null, description: null });
  assert.deepEqual(await jobs(), []);

  // Failures: not HTML, a metadata address, a redirect into private space — retried, then given up.
  const bad = [await linkWith(`${web.base}/image`), await linkWith('http://169.254.169.254/latest/meta-data/'), await linkWith(`${web.base}/to-private`)];
  await s.previews.runOnce();
  const failed = new Map((await jobs()).map((j) => [j.link_id, j.last_error]));
  assert.deepEqual(bad.map((l) => failed.get(l.id as string)), ['not_html', 'ssrf_blocked', 'ssrf_blocked']);
  assert.equal(await s.previews.runOnce(), 0, 'not due before the retry time');
  for (let i = 0; i < 3; i++) {
    clock.advance(10_000);
    await s.previews.runOnce();
  }
  assert.deepEqual(await jobs(), [], 'given up after EVENTS_PREVIEW_MAX_ATTEMPTS (3)');
  for (const l of bad) assert.deepEqual(await read(l.id), { title: null, description: null });
});

void test('without EVENTS_ALLOW_LOOPBACK a loopback destination is refused', async (t) => {
  const e = await setup(t);
  const s = await e.build({ EVENTS_ALLOW_LOOPBACK: '0' });
  const web = await site(t, { '/p': html('<title>Local</title>') });
  const link = await e.newLink(await e.newUser());
  await e.admin.query(`UPDATE links.links SET destination = $2 WHERE id = $1`, [link.id, `${web.base}/p`]);
  await postEvent(s, hasuraPayload('links.links', 'INSERT', { new: { ...link, destination: `${web.base}/p` } }));
  await s.previews.runOnce();
  const { rows } = await e.admin.query(`SELECT last_error FROM webhooks.preview_jobs WHERE link_id = $1`, [link.id]);
  assert.deepEqual(rows, [{ last_error: 'ssrf_blocked' }]);
  assert.deepEqual(web.hits, []);
});

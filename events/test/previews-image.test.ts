/**
 * Link preview images (issue 15 §4): a real loopback page whose og:image points to a real loopback
 * image server, the real media-service (its internal route, a real S3 server, the same database) and
 * the events runner. The stored asset's bytes are the served bytes; an og:image that is HTML, too
 * large or at the metadata address leaves the link without an image but with its title.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { spawn } from 'node:child_process';
import { freePort, startS3Server } from '@linkport/devstack/testing';
import { sniffImage } from '../src/previews/image.ts';
import { hasuraPayload, postEvent, setup, type Env } from './helper.ts';

const MEDIA_SECRET = 'test-media-internal-secret';
// A real 1×1 PNG.
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000200e22f7e6d0000000049454e44ae426082', 'hex');

async function serve(t: TestContext, routes: Record<string, (res: http.ServerResponse) => void>) {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(req.url ?? '');
    const route = routes[req.url ?? ''];
    if (!route) {
      res.statusCode = 404;
      res.end();
      return;
    }
    route(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits };
}

/**
 * The real media-service process (its server.ts, as the launcher runs it) on the test database and a
 * real S3 server (devstack's access front: public/ keys readable anonymously, like R2's public
 * bucket). A child process because workspaces do not import each other (eslint.config.js).
 */
async function startMedia(t: TestContext, e: Env) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'linkport-events-s3-'));
  const s3 = await startS3Server({ dir, buckets: ['linkport-media'] });
  const port = await freePort();
  const root = path.resolve(import.meta.dirname, '..', '..');
  const child = spawn(process.execPath, ['--import', 'tsx', 'media-service/src/server.ts'], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      PATH: process.env.PATH ?? '',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATABASE_URL: e.db.roleUrl('media_service'),
      S3_ENDPOINT: s3.endpoint,
      S3_ACCESS_KEY_ID: s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      S3_BUCKET: 'linkport-media',
      MEDIA_PUBLIC_BASE_URL: 'https://cdn.example.test/media',
      JWKS_URL: 'http://127.0.0.1:9/jwks.json',
      LOG_LEVEL: 'warn',
      MEDIA_EXPIRY_INTERVAL_SECONDS: '0',
      MEDIA_VERIFY_INTERVAL_SECONDS: '0',
      MEDIA_INTERNAL_SECRET: MEDIA_SECRET,
    },
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  t.after(async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    await s3.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`media-service exited: ${stderr}`);
    const ready = await fetch(`${url}/health/ready`).then((r) => r.ok, () => false);
    if (ready) break;
    if (i > 300) throw new Error(`media-service not ready: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, s3 };
}

void test('sniffImage: raster signatures only (HTML and SVG are not images)', () => {
  assert.equal(sniffImage(PNG), 'image/png');
  assert.equal(sniffImage(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10])), 'image/jpeg');
  assert.equal(sniffImage(Buffer.from('GIF89a\x01\x00')), 'image/gif');
  assert.equal(sniffImage(Buffer.from('RIFF\x10\x00\x00\x00WEBPVP8 ')), 'image/webp');
  assert.equal(sniffImage(Buffer.from('<!doctype html><html>')), undefined);
  assert.equal(sniffImage(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"></svg>')), undefined);
  assert.equal(sniffImage(Buffer.alloc(0)), undefined);
});

void test('og:image is fetched, checked and stored by media as the owner\'s public ready asset; bad images leave the title', async (t) => {
  const e = await setup(t);
  const media = await startMedia(t, e);
  const big = Buffer.alloc(6 * 1024 * 1024, 1);
  PNG.copy(big);
  const images = await serve(t, {
    '/pic.png': (res) => {
      res.setHeader('content-type', 'image/png');
      res.end(PNG);
    },
    '/fake.png': (res) => {
      res.setHeader('content-type', 'image/png');
      res.end('<!doctype html><html><body>not an image</body></html>');
    },
    '/page.png': (res) => {
      res.setHeader('content-type', 'text/html');
      res.end('<html></html>');
    },
    '/big.png': (res) => {
      res.setHeader('content-type', 'image/png');
      res.end(big);
    },
    '/big-chunked.png': (res) => {
      // No Content-Length: the size bound must hold while reading, too.
      res.setHeader('content-type', 'image/png');
      res.write(big.subarray(0, 3 * 1024 * 1024));
      res.end(big.subarray(3 * 1024 * 1024));
    },
  });
  const pageWith = (image: string, title: string) => (res: http.ServerResponse) => {
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(`<html><head><meta property="og:title" content="${title}"><meta property="og:image" content="${image}"></head><body></body></html>`);
  };
  const site = await serve(t, {
    '/good': pageWith(`${images.base}/pic.png`, 'Good'),
    '/fake': pageWith(`${images.base}/fake.png`, 'Fake'),
    '/html': pageWith(`${images.base}/page.png`, 'Html'),
    '/big': pageWith(`${images.base}/big.png`, 'Big'),
    '/chunked': pageWith(`${images.base}/big-chunked.png`, 'Chunked'),
    '/metadata': pageWith('http://169.254.169.254/latest/meta-data/x.png', 'Metadata'),
  });
  const s = await e.build({ EVENTS_MEDIA_URL: media.url, EVENTS_MEDIA_SECRET: MEDIA_SECRET, EVENTS_PREVIEW_TIMEOUT_MS: '5000' });
  const owner = await e.newUser();
  const linkTo = async (destination: string) => {
    const link = await e.newLink(owner);
    await e.admin.query(`UPDATE links.links SET destination = $2 WHERE id = $1`, [link.id, destination]);
    assert.equal((await postEvent(s, hasuraPayload('links.links', 'INSERT', { new: { ...link, destination } }))).statusCode, 200);
    return link.id as string;
  };
  const good = await linkTo(`${site.base}/good`);
  const bad = { Fake: await linkTo(`${site.base}/fake`), Html: await linkTo(`${site.base}/html`), Big: await linkTo(`${site.base}/big`), Chunked: await linkTo(`${site.base}/chunked`), Metadata: await linkTo(`${site.base}/metadata`) };
  while ((await s.previews.runOnce()) > 0);

  const read = async (id: string) =>
    (await e.admin.query<{ title: string | null; image_asset_id: string | null }>(`SELECT title, image_asset_id FROM links.links WHERE id = $1`, [id])).rows[0]!;
  const g = await read(good);
  assert.equal(g.title, 'Good');
  assert.ok(g.image_asset_id, 'the link has an image asset');
  const { rows } = await e.admin.query<{ owner_id: string; status: string; visibility: string; content_type: string; size: string; object_key: string }>(
    `SELECT owner_id, status, visibility, content_type, size::text, object_key FROM media.assets WHERE id = $1`,
    [g.image_asset_id],
  );
  const asset = rows[0]!;
  assert.deepEqual(
    { owner: asset.owner_id, status: asset.status, visibility: asset.visibility, type: asset.content_type, size: Number(asset.size) },
    { owner, status: 'ready', visibility: 'public', type: 'image/png', size: PNG.length },
  );
  assert.match(asset.object_key, new RegExp(`^public/${owner}/${g.image_asset_id}/preview\\.png$`));
  // The bytes in the bucket are the served image's.
  const object = await fetch(`${media.s3.endpoint}/linkport-media/${asset.object_key}`);
  assert.equal(object.status, 200);
  assert.deepEqual(Buffer.from(await object.arrayBuffer()), PNG);

  for (const [title, id] of Object.entries(bad)) assert.deepEqual(await read(id), { title, image_asset_id: null }, `${title}: title kept, no image`);
  const stored = await e.admin.query(`SELECT count(*)::int AS n FROM media.assets`);
  assert.equal(stored.rows[0].n, 1, 'no asset for a refused image');
  assert.deepEqual(await e.admin.query(`SELECT * FROM webhooks.preview_jobs`).then((r) => r.rows), []);
});

void test('media\'s internal route: secret required, bytes must match the type, an unknown owner is 422', async (t) => {
  const e = await setup(t);
  const media = await startMedia(t, e);
  const owner = await e.newUser();
  const post = (headers: Record<string, string>, body: Buffer | string, who = owner) =>
    fetch(`${media.url}/internal/preview-images?owner=${who}`, { method: 'POST', headers, body });
  const auth = { 'x-linkport-internal-secret': MEDIA_SECRET };
  assert.equal((await post({ 'content-type': 'image/png' }, PNG)).status, 401);
  assert.equal((await post({ 'content-type': 'image/png', 'x-linkport-internal-secret': 'wrong-secret-wrong-secret' }, PNG)).status, 401);
  const mismatch = await post({ ...auth, 'content-type': 'image/png' }, '<html></html>');
  assert.equal(mismatch.status, 422);
  assert.equal(((await mismatch.json()) as { error: { code: string } }).error.code, 'CONTENT_MISMATCH');
  assert.equal((await post({ ...auth, 'content-type': 'image/svg+xml' }, '<svg/>')).status, 415);
  assert.equal((await post({ ...auth, 'content-type': 'image/png' }, PNG, '00000000-0000-4000-8000-000000000000')).status, 422);
  assert.equal((await post({ ...auth, 'content-type': 'image/png' }, PNG, 'not-a-uuid')).status, 400);
  const ok = await post({ ...auth, 'content-type': 'image/png' }, PNG);
  assert.equal(ok.status, 201);
  const body = (await ok.json()) as { id: string; url: string };
  assert.match(body.url, new RegExp(`^https://cdn\\.example\\.test/media/public/${owner}/${body.id}/preview\\.png$`));
  // The public route is not reachable with a user token path prefix either: it is not under /v1/media.
  assert.equal((await fetch(`${media.url}/v1/media/internal/preview-images?owner=${owner}`, { method: 'POST', headers: { ...auth, 'content-type': 'image/png' }, body: PNG })).status, 404);
});

/**
 * The dashboard's static server (src/app.ts) on a real build in a temporary folder: redirects into
 * /app/, precompressed answers by Accept-Encoding, immutable hashed assets, no-cache index.html
 * for client routes, 404 for a missing asset, no path escapes, and the build's freshness check.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { buildWebApp } from '../src/app.ts';
import { isFresh, precompress } from '../src/build.ts';
import { configSchema } from '../src/config.ts';

function fakeDist(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'web-dist-'));
  fs.mkdirSync(path.join(dir, 'assets'));
  fs.writeFileSync(path.join(dir, 'index.html'), `<!doctype html><title>x</title>${'<p>hello</p>'.repeat(50)}`);
  fs.writeFileSync(path.join(dir, 'assets', 'index-abc123.js'), `console.log(${JSON.stringify('x'.repeat(4000))});`);
  fs.writeFileSync(path.join(dir, '.build-stamp'), 'secret');
  precompress(dir);
  return dir;
}

void test('static server: routing, compression, caching, fallbacks', async (t) => {
  const dist = fakeDist();
  const app = await buildWebApp(configSchema.parse({ WEB_DIST_DIR: dist, LOG_LEVEL: 'silent' }), { logger: false });
  t.after(async () => {
    await app.close();
    fs.rmSync(dist, { recursive: true, force: true });
  });
  const get = (url: string, headers: Record<string, string> = {}) => app.inject({ method: 'GET', url, headers });

  const root = await get('/');
  assert.equal(root.statusCode, 302);
  assert.equal(root.headers.location, '/app/');
  const bare = await get('/app?x=1');
  assert.equal(bare.statusCode, 301);
  assert.equal(bare.headers.location, '/app/?x=1');

  const index = await get('/app/', { 'accept-encoding': 'gzip, deflate, br' });
  assert.equal(index.statusCode, 200);
  assert.equal(index.headers['content-encoding'], 'br');
  assert.equal(index.headers['cache-control'], 'no-cache');
  assert.match(String(index.headers['content-security-policy']), /script-src 'self'/);
  assert.match(zlib.brotliDecompressSync(index.rawPayload).toString(), /hello/);

  // A client-side route is the same index.html.
  const route = await get('/app/links/123/edit', { 'accept-encoding': 'gzip' });
  assert.equal(route.headers['content-encoding'], 'gzip');
  assert.match(zlib.gunzipSync(route.rawPayload).toString(), /<title>x<\/title>/);

  const js = await get('/app/assets/index-abc123.js');
  assert.equal(js.statusCode, 200);
  assert.equal(js.headers['content-encoding'], undefined, 'no Accept-Encoding: identity');
  assert.equal(js.headers['cache-control'], 'public, max-age=31536000, immutable');
  assert.equal(js.headers.vary, 'Accept-Encoding');
  assert.match(String(js.headers['content-type']), /^text\/javascript/);
  const refused = await get('/app/assets/index-abc123.js', { 'accept-encoding': 'br;q=0, gzip' });
  assert.equal(refused.headers['content-encoding'], 'gzip', 'q=0 refuses br');

  const again = await get('/app/assets/index-abc123.js', { 'if-none-match': String(js.headers.etag) });
  assert.equal(again.statusCode, 304);

  assert.equal((await get('/app/assets/index-gone.js')).statusCode, 404, 'a missing hashed asset is not index.html');
  assert.equal((await get('/app/favicon.png')).statusCode, 404);
  assert.equal((await get('/app/.build-stamp')).statusCode, 404, 'no dotfiles');
  assert.equal((await get('/app/..%2f..%2fetc%2fpasswd')).statusCode, 404, 'no escape from dist');

  const head = await app.inject({ method: 'HEAD', url: '/app/assets/index-abc123.js' });
  assert.equal(head.statusCode, 200);
  assert.equal(head.body, '');

  const ready = await get('/health/ready');
  assert.equal(ready.statusCode, 200);
  fs.rmSync(path.join(dist, 'index.html'));
  assert.equal((await get('/health/ready')).statusCode, 503, 'not ready without a build');
});

void test('build freshness: a stamp that does not match the sources is stale', () => {
  const dist = fakeDist();
  try {
    assert.equal(isFresh(dist), false, 'the fake stamp does not match');
  } finally {
    fs.rmSync(dist, { recursive: true, force: true });
  }
});

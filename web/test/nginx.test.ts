/**
 * The production config (docker/nginx.conf) served by a real nginx, with the same expectations as
 * the Node server under `npm start` (server.test.ts): redirects into /app/, client routes get
 * index.html (no-cache, CSP), hashed assets are immutable and sent precompressed (gzip_static),
 * a missing asset and dotfiles are 404, /health/ready answers. Needs an `nginx` binary (Debian:
 * `apt-get install nginx`); without one the test is skipped and says so. The Docker image itself
 * (web/Dockerfile) cannot be built here (no Docker engine).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { precompress } from '../src/build.ts';

const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx', '/usr/local/sbin/nginx'].find((p) => fs.existsSync(p));
const CONF = fs.readFileSync(path.resolve(import.meta.dirname, '../docker/nginx.conf'), 'utf8');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function waitPort(port: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((r) => {
      const s = net.connect(port, '127.0.0.1', () => (s.destroy(), r(true)));
      s.once('error', () => r(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nginx did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// npm test sets LINKPORT_REQUIRE_NGINX=1 once nginx is installed (devstack optionalTestPackages):
// then a missing binary is a failure here, not a skip.
const skip = NGINX || process.env.LINKPORT_REQUIRE_NGINX === '1' ? false : 'no nginx binary: install it (Debian: apt-get install nginx) to check web/docker/nginx.conf';
void test('docker/nginx.conf serves the dashboard as the Node server does', { skip }, async (t) => {
  assert.ok(NGINX, 'LINKPORT_REQUIRE_NGINX=1 but no nginx binary found');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'web-nginx-'));
  // Started as root, nginx's workers run as an unprivileged user: they must be able to read the files.
  fs.chmodSync(dir, 0o755);
  const html = path.join(dir, 'html');
  const dist = path.join(html, 'app');
  fs.mkdirSync(path.join(dist, 'assets'), { recursive: true });
  fs.writeFileSync(path.join(dist, 'index.html'), `<!doctype html><title>x</title>${'<p>hello</p>'.repeat(50)}`);
  fs.writeFileSync(path.join(dist, 'assets', 'index-abc123.js'), `console.log(${JSON.stringify('x'.repeat(4000))});`);
  fs.writeFileSync(path.join(dist, '.build-stamp'), 'secret');
  precompress(dist);
  const port = await freePort();
  const server = CONF.replace(/listen 8080;/, `listen 127.0.0.1:${port};`).replace(/root \/usr\/share\/nginx\/html;/, `root ${html};`);
  assert.notEqual(server, CONF, 'the listen and root lines were found');
  const conf = path.join(dir, 'nginx.conf');
  fs.writeFileSync(
    conf,
    `daemon off;\nworker_processes 1;\npid ${dir}/nginx.pid;\nerror_log ${dir}/error.log warn;\nevents { worker_connections 64; }\n` +
      `http {\n include /etc/nginx/mime.types;\n default_type application/octet-stream;\n access_log off;\n` +
      ` client_body_temp_path ${dir}/tmp; proxy_temp_path ${dir}/tmp; fastcgi_temp_path ${dir}/tmp; uwsgi_temp_path ${dir}/tmp; scgi_temp_path ${dir}/tmp;\n${server}\n}\n`,
  );
  const child = spawn(NGINX!, ['-p', dir, '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += String(d)));
  t.after(async () => {
    child.kill('SIGQUIT');
    await new Promise((r) => child.once('exit', r));
    fs.rmSync(dir, { recursive: true, force: true });
  });
  await waitPort(port, 10_000).catch((err: unknown) => {
    throw new Error(`${String(err)}: ${stderr}`);
  });
  const base = `http://127.0.0.1:${port}`;
  const get = (p: string, headers: Record<string, string> = {}) => fetch(base + p, { headers, redirect: 'manual' });

  const root = await get('/');
  assert.equal(root.status, 302);
  assert.equal(new URL(root.headers.get('location')!, base).pathname, '/app/');
  const bare = await get('/app?x=1');
  assert.equal(bare.status, 301);
  assert.match(bare.headers.get('location')!, /\/app\/\?x=1$/);

  const route = await get('/app/links/123/edit');
  assert.equal(route.status, 200);
  assert.equal(route.headers.get('cache-control'), 'no-cache');
  assert.match(route.headers.get('content-security-policy') ?? '', /script-src 'self'/);
  assert.match(await route.text(), /<title>x<\/title>/);

  // fetch asks for gzip and decodes it; a raw request shows the precompressed file is sent.
  const raw = await new Promise<{ headers: Record<string, string | string[] | undefined>; body: Buffer }>((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(`GET /app/assets/index-abc123.js HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n`));
    const chunks: Buffer[] = [];
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('end', () => {
      const all = Buffer.concat(chunks);
      const i = all.indexOf('\r\n\r\n');
      const headers: Record<string, string> = {};
      for (const line of all.subarray(0, i).toString().split('\r\n').slice(1)) {
        const [k, ...v] = line.split(':');
        headers[k!.toLowerCase()] = v.join(':').trim();
      }
      resolve({ headers, body: all.subarray(i + 4) });
    });
    s.on('error', reject);
  });
  assert.equal(raw.headers['content-encoding'], 'gzip');
  assert.equal(raw.headers['cache-control'], 'public, max-age=31536000, immutable');
  assert.match(String(raw.headers['content-type']), /javascript/);
  assert.equal(raw.body.length, fs.statSync(path.join(dist, 'assets', 'index-abc123.js.gz')).size, 'the .gz file as built');
  assert.match(zlib.gunzipSync(raw.body).toString(), /^console\.log/);

  assert.equal((await get('/app/assets/index-gone.js')).status, 404, 'a missing hashed asset is not index.html');
  assert.equal((await get('/app/.build-stamp')).status, 404, 'no dotfiles');
  assert.equal((await get('/health/ready')).status, 200);
});

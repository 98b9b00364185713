/**
 * `npm run loadtest` end to end against a stand-in gateway (a real HTTP server on a free port that
 * answers the four routes as the platform does: register, GraphQL, a short link's 302, an upload
 * presign): the table counts every request per route and the errors it was served, and the PNG
 * chart is written and decodes to an image with both panels drawn. The topology itself is not
 * started here (it needs every service): the loadtest's own code, the chart included, is what runs.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { PNG } from 'pngjs';
import { runLoadtest } from '../src/loadtest.ts';
import { perSecond } from '../src/loadtest-chart.ts';

void test('loadtest: per-route table and a PNG chart of throughput and latency over time', async (t) => {
  let presigns = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const json = (status: number, v: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(v));
      };
      if (req.method === 'POST' && req.url === '/v1/core/auth/register') return json(201, { access_token: 'token' });
      if (req.method === 'POST' && req.url === '/v1/links/graphql') {
        assert.equal(req.headers.authorization, 'Bearer token');
        const q = (JSON.parse(body) as { query: string }).query;
        return json(200, { data: q.includes('insert_links_links_one') ? { insert_links_links_one: { id: 1, code: 'x' } } : { links_links: [] } });
      }
      // every fourth presign fails: the table must count it as an error
      if (req.method === 'POST' && req.url === '/v1/media/uploads') return ++presigns % 4 === 0 ? json(503, { error: 'down' }) : json(201, { url: 'http://s3/x' });
      if (req.method === 'GET' && /^\/lt[a-z0-9]+$/.test(req.url ?? '')) {
        // a little latency so the chart's latency panel has a shape
        setTimeout(() => {
          res.writeHead(302, { location: 'https://example.com/' });
          res.end();
        }, 1 + Math.random() * 4);
        return;
      }
      json(404, { error: 'not found' });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loadtest-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const chart = path.join(dir, 'out', 'loadtest.png');
  const lines: string[] = [];
  const { rows, samples } = await runLoadtest({ base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, durationMs: 2500, concurrency: 4, chart, log: (l) => lines.push(l) });

  const by = new Map(rows.map((r) => [r.route, r]));
  for (const route of ['redirect', 'graphql-read', 'graphql-write', 'presign'] as const) assert.ok((by.get(route)?.requests ?? 0) > 0, `${route} was exercised`);
  assert.equal(by.get('redirect')?.errors, 0);
  assert.equal(by.get('graphql-read')?.errors, 0);
  const presign = by.get('presign');
  assert.ok(presign && presign.errors > 0 && presign.errors < presign.requests, 'failed presigns are counted');
  assert.equal(rows.reduce((a, r) => a + r.requests, 0), samples.length);
  assert.ok(lines.some((l) => l.includes(chart)), 'the chart path is printed');

  // the per-second series: every second of the run, throughput adding up to the requests made
  const series = perSecond(samples);
  assert.ok(new Set(series.map((s) => s.second)).size >= 2);
  assert.equal(series.reduce((a, s) => a + s.rps, 0), samples.length);
  for (const s of series) assert.ok(s.p50 <= s.p99);

  const png = PNG.sync.read(fs.readFileSync(chart));
  assert.ok(png.width >= 800 && png.height >= 450, `${png.width}x${png.height}`);
  // drawn, not blank: coloured (non-grey) pixels for the route lines, in the upper (throughput) and
  // lower (latency) halves, and dark ones for axes and text
  let dark = 0;
  const coloured = [0, 0];
  for (let y = 0; y < png.height; y++) {
    for (let x = 0; x < png.width; x++) {
      const i = (y * png.width + x) * 4;
      const [r, g, b] = [png.data[i] as number, png.data[i + 1] as number, png.data[i + 2] as number];
      if (r + g + b < 200) dark++;
      if (Math.max(r, g, b) - Math.min(r, g, b) > 60) coloured[y < png.height / 2 ? 0 : 1]!++;
    }
  }
  assert.ok(dark > 500, `axes and text drawn (${dark} dark pixels)`);
  assert.ok(coloured[0]! > 200 && coloured[1]! > 200, `lines in both panels (${coloured.join(', ')} coloured pixels)`);
});

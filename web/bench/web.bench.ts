/**
 * bench:web — the dashboard's first-load budget, against a baseline built and measured in the same
 * run: a blank Vite page (one module that writes a paragraph), built by the same script
 * (src/build.ts viteBuild: same config, precompression) and served by the same static server.
 *
 *  1. first-load JS: the scripts index.html loads before anything else (entry + modulepreload),
 *     raw and gzip (-9, as the .gz files served) — lazy chunks (uPlot on a link's page) excluded
 *     and listed apart;
 *  2. time to interactive in Chromium, cold cache (a fresh context per run), median of N:
 *     app = navigation start → the log-in form's button is enabled, through the gateway of a real
 *     stack (includes the session check against core, as a person sees it);
 *     baseline = navigation start → its paragraph is there, served by the same static server.
 *
 *   npm run bench:web [-- --runs=7]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { buildWebApp } from '../src/app.ts';
import { viteBuild } from '../src/build.ts';
import { configSchema, WEB_ROOT } from '../src/config.ts';
import { findChromium, launchChromium, startTestStack } from '../test/browser.ts';

const runs = Number(process.argv.find((a) => a.startsWith('--runs='))?.slice(7) ?? 5);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'web-bench-'));

function firstLoad(dist: string): { files: string[]; raw: number; gzip: number; lazy: Array<[string, number]> } {
  const html = fs.readFileSync(path.join(dist, 'index.html'), 'utf8');
  const files = [...html.matchAll(/<(?:script[^>]*\ssrc|link[^>]*rel="modulepreload"[^>]*\shref)="\/app\/([^"]+\.js)"/g)].map((m) => m[1]!);
  let raw = 0;
  let gzip = 0;
  for (const f of files) {
    const buf = fs.readFileSync(path.join(dist, f));
    raw += buf.length;
    gzip += zlib.gzipSync(buf, { level: 9 }).length;
  }
  const lazy = fs
    .readdirSync(path.join(dist, 'assets'))
    .filter((f) => f.endsWith('.js') && !files.includes(`assets/${f}`))
    .map((f): [string, number] => [f, zlib.gzipSync(fs.readFileSync(path.join(dist, 'assets', f)), { level: 9 }).length]);
  return { files, raw, gzip, lazy };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};
const kb = (n: number) => `${(n / 1024).toFixed(1)} kB`;

// 1. Builds: the app and the blank baseline, same config and script.
const appDist = path.join(work, 'app');
const baseRoot = path.join(work, 'baseline-src');
const baseDist = path.join(work, 'baseline');
fs.mkdirSync(baseRoot, { recursive: true });
fs.writeFileSync(path.join(baseRoot, 'index.html'), '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>blank</title></head><body><script type="module" src="/main.ts"></script></body></html>');
fs.writeFileSync(path.join(baseRoot, 'main.ts'), "const p = document.createElement('p');\np.id = 'ready';\np.textContent = 'ready';\ndocument.body.append(p);\n");
let t0 = performance.now();
await viteBuild({ outDir: appDist, root: path.join(WEB_ROOT, 'app') });
const appBuildMs = performance.now() - t0;
t0 = performance.now();
await viteBuild({ outDir: baseDist, root: baseRoot });
const baseBuildMs = performance.now() - t0;
const app = firstLoad(appDist);
const base = firstLoad(baseDist);

console.log('# bench:web — first-load JS (what index.html loads first; gzip -9)');
console.log(`app       ${app.files.length} file(s)  raw ${kb(app.raw)}  gzip ${kb(app.gzip)}   (build ${Math.round(appBuildMs)} ms)`);
console.log(`baseline  ${base.files.length} file(s)  raw ${kb(base.raw)}  gzip ${kb(base.gzip)}   (build ${Math.round(baseBuildMs)} ms)`);
console.log(`app − baseline: ${kb(app.gzip - base.gzip)} gzip`);
for (const [f, n] of app.lazy) console.log(`  lazy (not in first load): ${f} ${kb(n)} gzip`);

// 2. Time to interactive.
const chromium = findChromium();
if (!chromium.bin) {
  console.log(`# time to interactive: skipped — ${chromium.missing}`);
  fs.rmSync(work, { recursive: true, force: true });
  process.exit(0);
}
const stack = await startTestStack(() => undefined);
const baseServer = await buildWebApp(configSchema.parse({ WEB_DIST_DIR: baseDist, LOG_LEVEL: 'silent' }), { logger: false });
const baseUrl = await baseServer.listen({ host: '127.0.0.1', port: 0 });
const browser = await launchChromium(chromium.bin);
try {
  const measure = async (url: string, ready: string): Promise<{ tti: number; dcl: number }> => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto(url, { waitUntil: 'commit' });
    await page.waitForSelector(ready, { state: 'visible' });
    const r = await page.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
      return { tti: performance.now(), dcl: nav.domContentLoadedEventEnd };
    });
    await ctx.close();
    return r;
  };
  const appT: number[] = [];
  const baseT: number[] = [];
  const appD: number[] = [];
  const baseD: number[] = [];
  // Warm-up of each (JIT, first connection), not counted; then interleaved so noise hits both.
  await measure(`${stack.gateway}/app/login`, 'button[type=submit]:not([disabled])');
  await measure(`${baseUrl}/app/`, '#ready');
  for (let i = 0; i < runs; i++) {
    const a = await measure(`${stack.gateway}/app/login`, 'button[type=submit]:not([disabled])');
    const b = await measure(`${baseUrl}/app/`, '#ready');
    appT.push(a.tti);
    appD.push(a.dcl);
    baseT.push(b.tti);
    baseD.push(b.dcl);
  }
  console.log(`# time to interactive, Chromium headless, cold cache, median of ${runs} (loopback, shared 2-core machine)`);
  console.log(`app (log-in page via the gateway)   TTI ${median(appT).toFixed(0)} ms   DOMContentLoaded ${median(appD).toFixed(0)} ms   [${appT.map((x) => x.toFixed(0)).join(', ')}]`);
  console.log(`baseline (blank Vite page)           TTI ${median(baseT).toFixed(0)} ms   DOMContentLoaded ${median(baseD).toFixed(0)} ms   [${baseT.map((x) => x.toFixed(0)).join(', ')}]`);
  console.log(`app / baseline TTI: ${(median(appT) / median(baseT)).toFixed(2)}×`);
} finally {
  await browser.close();
  await baseServer.close();
  await stack.stop();
  fs.rmSync(work, { recursive: true, force: true });
}

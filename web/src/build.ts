/**
 * Builds the dashboard (Vite) into web/dist, then writes a .br and a .gz beside every text asset so
 * the static servers send them without compressing per request (src/app.ts; nginx's gzip_static /
 * brotli_static in production). `ensureBuilt` is what `npm start` runs: it builds only when
 * web/dist is missing or its fingerprint differs from the sources', and several processes starting
 * at once (parallel e2e tests) build once — a lock directory (mkdir is atomic) and a build into a
 * temporary folder renamed into place, so nobody ever serves half a build.
 *
 *   node --import tsx web/src/build.ts [--force]
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { WEB_ROOT } from './config.ts';

const SOURCES = ['app', 'vite.config.ts', 'package.json'];
const STAMP = '.build-stamp';
const COMPRESSIBLE = /\.(js|mjs|css|html|svg|json|txt|map|webmanifest)$/;

function walk(dir: string, out: string[] = []): string[] {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

/** Path, size and mtime of every source file: any edit changes it. */
export function sourceFingerprint(root = WEB_ROOT): string {
  const h = crypto.createHash('sha256');
  for (const rel of SOURCES) {
    const p = path.join(root, rel);
    if (!fs.existsSync(p)) continue;
    const files = fs.statSync(p).isDirectory() ? walk(p) : [p];
    for (const f of files.sort()) {
      const st = fs.statSync(f);
      h.update(`${path.relative(root, f)}\0${st.size}\0${Math.floor(st.mtimeMs)}\n`);
    }
  }
  return h.digest('hex');
}

export function isFresh(distDir: string, root = WEB_ROOT): boolean {
  try {
    return fs.readFileSync(path.join(distDir, STAMP), 'utf8') === sourceFingerprint(root) && fs.existsSync(path.join(distDir, 'index.html'));
  } catch {
    return false;
  }
}

/** Brotli (quality 11) and gzip (level 9) copies, kept only when smaller than the original. */
export function precompress(distDir: string): { files: number } {
  let files = 0;
  for (const f of walk(distDir)) {
    if (!COMPRESSIBLE.test(f)) continue;
    const raw = fs.readFileSync(f);
    const br = zlib.brotliCompressSync(raw, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: raw.length } });
    const gz = zlib.gzipSync(raw, { level: 9 });
    if (br.length < raw.length) fs.writeFileSync(`${f}.br`, br);
    if (gz.length < raw.length) fs.writeFileSync(`${f}.gz`, gz);
    files++;
  }
  return { files };
}

export interface BuildOptions {
  outDir: string;
  /** Vite's root (web/app by default); the bench builds a blank page the same way. */
  root?: string;
  log?: (msg: string) => void;
}

/** One Vite production build into outDir (emptied first), precompressed. */
export async function viteBuild(opts: BuildOptions): Promise<void> {
  const { build } = await import('vite');
  await build({
    configFile: path.join(WEB_ROOT, 'vite.config.ts'),
    root: opts.root ?? path.join(WEB_ROOT, 'app'),
    logLevel: 'warn',
    build: { outDir: opts.outDir, emptyOutDir: true },
  });
  precompress(opts.outDir);
}

function lockAlive(lockDir: string): boolean {
  try {
    const pid = Number(fs.readFileSync(path.join(lockDir, 'pid'), 'utf8'));
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists (another user's); anything else (ENOENT, ESRCH): the lock is stale.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Builds distDir unless fresh; waits for another process's build instead of racing it. */
export async function ensureBuilt(distDir: string, opts: { force?: boolean; log?: (msg: string) => void; timeoutMs?: number } = {}): Promise<'fresh' | 'built'> {
  const log = opts.log ?? (() => undefined);
  const lockDir = `${distDir}.lock`;
  const deadline = Date.now() + (opts.timeoutMs ?? 180_000);
  fs.mkdirSync(path.dirname(distDir), { recursive: true });
  for (;;) {
    if (!opts.force && isFresh(distDir)) return 'fresh';
    try {
      fs.mkdirSync(lockDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (!lockAlive(lockDir) && fs.existsSync(lockDir)) {
        // Give a process that just created the folder time to write its pid before calling it stale.
        const age = Date.now() - fs.statSync(lockDir).mtimeMs;
        if (age > 2000) fs.rmSync(lockDir, { recursive: true, force: true });
      }
      if (Date.now() > deadline) throw new Error(`web build: ${lockDir} held too long; remove it if no build runs`);
      await new Promise((r) => setTimeout(r, 250));
      continue;
    }
    try {
      fs.writeFileSync(path.join(lockDir, 'pid'), String(process.pid));
      const fingerprint = sourceFingerprint();
      const tmp = `${distDir}.tmp-${process.pid}`;
      const t0 = Date.now();
      log(`building the web dashboard into ${distDir}`);
      await viteBuild({ outDir: tmp });
      fs.writeFileSync(path.join(tmp, STAMP), fingerprint);
      const old = `${distDir}.old-${process.pid}`;
      if (fs.existsSync(distDir)) fs.renameSync(distDir, old);
      fs.renameSync(tmp, distDir);
      fs.rmSync(old, { recursive: true, force: true });
      log(`web dashboard built in ${Date.now() - t0} ms`);
      return 'built';
    } finally {
      fs.rmSync(lockDir, { recursive: true, force: true });
    }
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const out = process.argv.find((a) => a.startsWith('--out='))?.slice(6) ?? path.join(WEB_ROOT, 'dist', 'app');
  const r = await ensureBuilt(path.resolve(out), { force: process.argv.includes('--force'), log: (m) => console.log(m) });
  console.log(`web: ${r} (${out})`);
}

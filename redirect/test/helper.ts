import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { TestContext } from 'node:test';
import pg from 'pg';
import { createTestDatabase, startTestRedis, type TestDatabase } from '@linkport/devstack/testing';
import { loadRedirectConfig, type Config } from '../src/config.ts';
import { buildRedirectApp, type RedirectApp } from '../src/app.ts';

export const root = path.resolve(import.meta.dirname, '../..');
export const BROWSER_UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36';

export interface Env {
  db: TestDatabase;
  admin: pg.Pool;
  redis: Awaited<ReturnType<typeof startTestRedis>>;
  ownerId: string;
  env(overrides?: Record<string, string>): Record<string, string>;
  config(overrides?: Record<string, string>): Config;
  newLink(fields?: Record<string, unknown>): Promise<{ id: string; code: string }>;
}

/** A migrated database, a real redis-server, an owner user; all torn down after the test. */
export async function setup(t: TestContext, opts: { appendonly?: boolean } = {}): Promise<Env> {
  const db = await createTestDatabase();
  const redis = await startTestRedis({ appendonly: opts.appendonly ?? false });
  const admin = new pg.Pool({ connectionString: db.adminUrl, max: 3 });
  t.after(async () => {
    await admin.end();
    await redis.stop();
    await db.drop();
  });
  const { rows } = await admin.query<{ id: string }>(
    `INSERT INTO core.users (email, password_hash) VALUES ($1, 'x') RETURNING id`,
    [`u${Math.random().toString(36).slice(2)}@example.com`],
  );
  const ownerId = rows[0]!.id;
  const env = (overrides: Record<string, string> = {}) => ({
    DATABASE_URL: db.roleUrl('redirect_service'),
    REDIS_URL: redis.url,
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'silent',
    COUNTRY_HEADER: 'cf-ipcountry',
    // Tests speak as the gateway would (loopback peer); test/trust.test.ts covers untrusted peers.
    TRUSTED_PROXIES: 'loopback',
    ...overrides,
  });
  let n = 0;
  return {
    db,
    admin,
    redis,
    ownerId,
    env,
    config: (o) => loadRedirectConfig(env(o)),
    async newLink(fields = {}) {
      const f: Record<string, unknown> = { code: `c${Date.now().toString(36)}${n++}`, destination: 'https://example.com/landing', ...fields };
      const cols = ['owner_id', ...Object.keys(f)];
      const vals = [ownerId, ...Object.values(f).map((v) => (v !== null && typeof v === 'object' ? JSON.stringify(v) : v))];
      const r = await admin.query<{ id: string; code: string }>(
        `INSERT INTO links.links (${cols.join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING id, code`,
        vals,
      );
      return r.rows[0]!;
    },
  };
}

export async function startApp(t: TestContext, e: Env, overrides: Record<string, string> = {}): Promise<RedirectApp & { url: string }> {
  const app = await buildRedirectApp(e.config(overrides));
  const { url } = await app.listen();
  t.after(() => app.close());
  return Object.assign(app, { url });
}

/** The click worker as a real child process (node --import tsx redirect/src/worker.ts). */
export function spawnWorker(env: Record<string, string>): ChildProcess & { exited: Promise<number | null> } {
  // WORKER_PORT=0: the worker's private probe port, so concurrent test workers never collide.
  return spawnService('redirect/src/worker.ts', { WORKER_PORT: '0', ...env }, 'worker');
}

/** A service entry point as a real child process; its output is kept (and printed if it fails). */
export function spawnService(entry: string, env: Record<string, string>, name: string): ChildProcess & { exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, entry)], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  const keep = (d: Buffer) => {
    err = (err + d.toString()).slice(-4000);
    if (process.env.WORKER_DEBUG || process.env.CHAOS_DEBUG) process.stderr.write(d);
  };
  child.stderr?.on('data', keep);
  child.stdout?.on('data', keep);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code, signal) => {
      if ((code && code !== 0) || (signal && signal !== 'SIGKILL')) console.error(`${name} exited ${code ?? signal}: ${err}`);
      resolve(code);
    }),
  );
  return Object.assign(child, { exited });
}

export async function waitFor<T>(fn: () => Promise<T | undefined | false>, timeoutMs: number, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const get = (url: string, init: RequestInit = {}) => fetch(url, { redirect: 'manual', ...init, headers: { 'user-agent': BROWSER_UA, ...(init.headers as Record<string, string>) } });

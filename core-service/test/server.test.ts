import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { ConfigError } from '@linkport/common';
import { loadConfig } from '../src/config.ts';
import { build, useFileDatabase } from './helper.ts';

useFileDatabase();

void test('a bad environment stops boot listing every bad key at once', () => {
  assert.throws(
    () => loadConfig({ PORT: 'eighty', REDIS_URL: 'http://nope', JWT_PRIVATE_KEYS: '[{"kty":"oct"}]' }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      const keys = err.issues.map((i) => i.split(/[.:]/)[0]).sort();
      assert.deepEqual([...new Set(keys)], ['DATABASE_URL', 'JWT_PRIVATE_KEYS', 'PORT', 'REDIS_URL']);
      return true;
    },
  );
  assert.throws(() => loadConfig({ DATABASE_URL: 'postgres://x@h/db', REDIS_URL: 'redis://h', JWT_PRIVATE_KEYS: 'not json' }), /JWT_PRIVATE_KEYS/);
});

void test('server.ts: JSON logs with request ids and no secrets; SIGTERM drains and exits 0', async (t) => {
  // build() provides a database and Redis; the process under test is a real `node src/server.ts`.
  const { config } = await build(t);
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: path.resolve(import.meta.dirname, '..'),
    env: { ...process.env, DATABASE_URL: config.DATABASE_URL, REDIS_URL: config.REDIS_URL, PORT: '0', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const lines: Record<string, unknown>[] = [];
  const rl = readline.createInterface({ input: child.stdout! });
  const port = await new Promise<number>((resolve, reject) => {
    rl.on('line', (line) => {
      const entry = JSON.parse(line) as Record<string, unknown>;
      lines.push(entry);
      const m = /listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(String(entry.msg));
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  const base = `http://127.0.0.1:${port}`;
  assert.equal((await fetch(`${base}/health/ready`)).status, 200);
  const secret = 'Bearer super-secret-token-value';
  const res = await fetch(`${base}/v1/core/me`, { headers: { authorization: secret, 'x-request-id': 'trace-42', cookie: 'lp_refresh=also-secret' } });
  assert.equal(res.status, 401);
  assert.equal(res.headers.get('x-request-id'), 'trace-42');

  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  assert.equal(await exited, 0, 'graceful shutdown exits 0 (pool and Redis closed, nothing left open)');
  const traced = lines.filter((l) => l.reqId === 'trace-42');
  assert.ok(traced.length >= 2, 'request and response lines carry the request id');
  const all = JSON.stringify(lines);
  assert.ok(!all.includes('super-secret-token-value') && !all.includes('also-secret'), 'no credentials in logs');
  assert.ok(lines.every((l) => l.name === 'core-service' && typeof l.level === 'number'));
});

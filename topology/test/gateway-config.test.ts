/** The topology's gateway files: every shipped service gets its N replicas, a health check, and the retry middleware last. */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { RETRY_MIDDLEWARE, writeDynamicDir } from '../src/gateway-config.ts';
import { repoRoot } from '../src/topology.ts';

void test('dynamic files: N servers with healthCheck per service, retry last on every router', (t) => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'lp-h11-dyn-'));
  t.after(() => fs.rmSync(out, { recursive: true, force: true }));
  const urls = (base: number, n: number) => Array.from({ length: n }, (_, i) => `http://127.0.0.1:${base + i}`);
  writeDynamicDir(path.join(repoRoot, 'gateway/dynamic'), out, [
    { envName: 'REDIRECT_URL', urls: urls(23200, 3), healthPath: '/health/ready' },
    { envName: 'CORE_URL', urls: urls(23260, 2), healthPath: '/health/ready' },
    { envName: 'MEDIA_URL', urls: urls(23280, 2), healthPath: '/health/ready' },
    { envName: 'HASURA_URL', urls: urls(23240, 2), healthPath: '/healthz' },
  ]);
  type Svc = { loadBalancer: { servers: Array<{ url: string }>; healthCheck?: { path: string } } };
  const files = fs.readdirSync(out).map((f) => parse(fs.readFileSync(path.join(out, f), 'utf8').replace(/^\s*\{\{-?\s*(if|else|end)\b[^}]*\}\}\s*$/gm, '').replace(/\{\{[^}]*\}\}/g, 'x')) as { http?: { routers?: Record<string, { middlewares?: string[] }>; services?: Record<string, Svc>; middlewares?: Record<string, unknown> } });
  const services = Object.assign({}, ...files.map((f) => f.http?.services ?? {})) as Record<string, Svc>;
  assert.equal(services.redirect?.loadBalancer.servers.length, 3);
  assert.equal(services.redirect?.loadBalancer.healthCheck?.path, '/health/ready');
  assert.equal(services.core?.loadBalancer.servers.length, 2);
  assert.equal(services.hasura?.loadBalancer.healthCheck?.path, '/healthz');
  assert.equal(services.media?.loadBalancer.servers.length, 2);
  const routers = Object.assign({}, ...files.map((f) => f.http?.routers ?? {})) as Record<string, { middlewares?: string[] }>;
  assert.ok(Object.keys(routers).length > 5);
  for (const [name, r] of Object.entries(routers)) assert.equal(r.middlewares?.at(-1), RETRY_MIDDLEWARE, name);
  const mws = Object.assign({}, ...files.map((f) => f.http?.middlewares ?? {})) as Record<string, unknown>;
  assert.deepEqual(mws[RETRY_MIDDLEWARE], { retry: { attempts: 3, initialInterval: '50ms' } });
});

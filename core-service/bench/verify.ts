/**
 * `npm run bench:verify -w @linkport/core-service`: requests per second and latency of the
 * forwardAuth endpoint against a bare route, in one run:
 *   (a) GET /bench/bare        — baseline: Fastify with core's hooks, no work
 *   (b) GET /v1/core/auth/verify with a JWT      — in-memory RS256 verification (+ cached role)
 *   (c) GET /v1/core/auth/verify with an API key — cached lookup by hash (+ cached minted JWT)
 * The server runs in its own process (so autocannon does not share its event loop), against a
 * real PostgreSQL (embedded, throwaway) and a real redis-server.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { createRequire } from 'node:module';
import { startEmbeddedPostgres } from '@linkport/devstack/testing';

// autocannon ships no types; this is the slice used. Loaded untyped rather than declared as an
// ambient module, which would leak into every workspace's typecheck.
interface Histogram {
  average: number;
  p50: number;
  p99: number;
}
interface Result {
  requests: Histogram;
  latency: Histogram;
  errors: number;
  non2xx: number;
  timeouts: number;
}
const autocannon = createRequire(import.meta.url)('autocannon') as (o: {
  url: string;
  headers: Record<string, string>;
  connections: number;
  duration: number;
}) => Promise<Result>;

const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'linkport-bench-'));
fs.chmodSync(dir, 0o755);
const pg = await startEmbeddedPostgres({ dataDir: path.join(dir, 'data'), persistent: false });
// Route the test helpers to this cluster (they would otherwise start one they cannot stop).
process.env.LINKPORT_TEST_PG_URL = pg.url;
const { createTestDatabase, startTestRedis } = await import('@linkport/devstack/testing');
const db = await createTestDatabase();
const redis = await startTestRedis();

const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'server.ts')], {
  env: { ...process.env, DATABASE_URL: db.roleUrl('core_service'), REDIS_URL: redis.url, LOG_LEVEL: 'warn' },
  stdio: ['ignore', 'pipe', 'inherit'],
});

async function cleanup(): Promise<void> {
  if (child.exitCode === null) {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
  await redis.stop();
  await db.drop().catch(() => undefined);
  await pg.stop();
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(redis.dir, { recursive: true, force: true });
}

try {
  const port = await new Promise<number>((resolve, reject) => {
    const rl = readline.createInterface({ input: child.stdout! });
    rl.once('line', (line) => resolve((JSON.parse(line) as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`bench server exited (${code})`)));
  });
  const base = `http://127.0.0.1:${port}`;
  const post = async (url: string, body: unknown, token?: string) => {
    const res = await fetch(`${base}${url}`, {
      method: 'POST',
      headers: token ? { 'content-type': 'application/json', authorization: `Bearer ${token}` } : { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
    return res.json() as Promise<Record<string, string>>;
  };
  const session = await post('/v1/core/auth/register', { email: 'bench@example.com', password: 'benchmark-password' });
  const apiKey = await post('/v1/core/api-keys', { name: 'bench', scopes: ['links:read', 'links:write'] }, session.access_token);

  const targets: { name: string; url: string; headers: Record<string, string> }[] = [
    { name: 'bare route (baseline)', url: `${base}/bench/bare`, headers: {} },
    { name: 'verify, JWT', url: `${base}/v1/core/auth/verify`, headers: { authorization: `Bearer ${session.access_token}` } },
    { name: 'verify, API key', url: `${base}/v1/core/auth/verify`, headers: { authorization: `Bearer ${apiKey.key}` } },
  ];
  const results: { name: string; r: Result }[] = [];
  for (const t of targets) {
    const check = await fetch(t.url, { headers: t.headers });
    if (check.status !== 200) throw new Error(`${t.name}: ${check.status} ${await check.text()}`);
    await autocannon({ url: t.url, headers: t.headers, connections: CONNECTIONS, duration: 1 }); // warm-up
    const r = await autocannon({ url: t.url, headers: t.headers, connections: CONNECTIONS, duration: DURATION });
    if (r.errors || r.non2xx || r.timeouts) throw new Error(`${t.name}: ${r.errors} errors, ${r.non2xx} non-2xx, ${r.timeouts} timeouts`);
    results.push({ name: t.name, r });
  }

  const baseline = results[0]!.r.requests.average;
  console.log(`\ncore verify benchmark — ${CONNECTIONS} connections, ${DURATION} s each, ${os.availableParallelism()} CPUs, load ${os.loadavg()[0]!.toFixed(1)}\n`);
  console.log('target                    req/s     p50 ms   p99 ms   vs baseline');
  for (const { name, r } of results) {
    console.log(
      `${name.padEnd(24)} ${r.requests.average.toFixed(0).padStart(7)}  ${r.latency.p50.toFixed(1).padStart(7)}  ${r.latency.p99.toFixed(1).padStart(7)}   ${(r.requests.average / baseline).toFixed(2)}×`,
    );
  }
} finally {
  await cleanup();
}

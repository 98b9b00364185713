/**
 * npm run bench:media -w @linkport/media-service
 *
 * Presign throughput: POST /v1/media/uploads with valid JWTs through the real service (JWT verified
 * against a JWKS over HTTP, quota transaction in PostgreSQL, presigned PUT signed) vs a bare Fastify
 * route at the same path, in one run. Servers run in child processes so autocannon (here) never
 * shares their event loop. Runs:
 *   bare      bare Fastify, fixed 201
 *   service   the media service, requests spread over 50 users (the realistic case)
 *   1 user    the media service, one user: every request queues on that user's quota lock
 * Env: BENCH_DURATION (s, default 10), BENCH_CONNECTIONS (default 50), BENCH_LOG_LEVEL (default info),
 * BENCH_POOL_MAX (service DB pool, default 10), BENCH_CPU_PROF=<dir> (write V8 CPU profiles of the servers there).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createTestDatabase, startS3Server } from '@linkport/devstack/testing';
import { startIssuer } from '../test/helper.ts';

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  errors: number;
  non2xx: number;
}
interface AutocannonRequest {
  headers?: Record<string, string>;
  [k: string]: unknown;
}
type Autocannon = (o: {
  url: string;
  method: string;
  connections: number;
  duration: number;
  headers: Record<string, string>;
  body: string;
  requests?: Array<{ setupRequest?: (r: AutocannonRequest) => AutocannonRequest }>;
}) => Promise<AutocannonResult>;
// autocannon ships no types (and another workspace declares the module), so it is loaded untyped.
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const here = import.meta.dirname;
const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const USERS = 50;

function start(entry: string, env: Record<string, string>): Promise<{ child: ChildProcess; port: number }> {
  const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const child = spawn(process.execPath, [...prof, '--import', 'tsx', path.join(here, entry)], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      if (out.length < 100_000) out += d.toString();
      const m = /LISTENING (\d+)/.exec(out);
      if (m) resolve({ child, port: Number(m[1]) });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${entry} exited ${code}: ${out.slice(-2000)}`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

const payload = JSON.stringify({ filename: 'bench photo.png', contentType: 'image/png', size: 2048, visibility: 'private' });

async function run(name: string, port: number, tokens: string[]) {
  let i = 0;
  const r = await autocannon({
    url: `http://127.0.0.1:${port}/v1/media/uploads`,
    method: 'POST',
    connections: CONNECTIONS,
    duration: DURATION,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[0]}` },
    body: payload,
    requests: [{ setupRequest: (req) => ({ ...req, headers: { ...req.headers, authorization: `Bearer ${tokens[i++ % tokens.length]}` } }) }],
  });
  return { name, rps: Math.round(r.requests.average), p50: r.latency.p50, p99: r.latency.p99, total: r.requests.total, non2xx: r.non2xx, errors: r.errors };
}

async function main() {
  const db = await createTestDatabase();
  const s3dir = fs.mkdtempSync(path.join(os.tmpdir(), 'linkport-media-bench-s3-'));
  const s3 = await startS3Server({ dir: s3dir, buckets: ['linkport-media'] });
  const issuer = await startIssuer();
  const admin = new pg.Pool({ connectionString: db.adminUrl, max: 2 });
  const children: ChildProcess[] = [];
  try {
    const users = Array.from({ length: USERS }, () => randomUUID());
    for (const id of users) await admin.query("INSERT INTO core.users (id, email, password_hash) VALUES ($1, $2, 'x')", [id, `${id}@bench.test`]);
    const tokens = await Promise.all(users.map((u) => issuer.token(u, { expiresIn: '1h' })));
    const media = await start('media-server.ts', {
      DATABASE_URL: db.roleUrl('media_service'),
      S3_ENDPOINT: s3.endpoint,
      S3_ACCESS_KEY_ID: s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      S3_BUCKET: 'linkport-media',
      MEDIA_PUBLIC_BASE_URL: 'http://127.0.0.1/media',
      JWKS_URL: issuer.jwksUrl,
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
      MEDIA_USER_QUOTA_BYTES: '1TiB',
      MEDIA_EXPIRY_INTERVAL_SECONDS: '0',
      DATABASE_POOL_MAX: process.env.BENCH_POOL_MAX ?? '10',
    });
    children.push(media.child);
    const bare = await start('bare-server.ts', {});
    children.push(bare.child);

    // Warm-up: JIT, pool connections, the JWKS fetch.
    await autocannon({ url: `http://127.0.0.1:${media.port}/v1/media/uploads`, method: 'POST', connections: 10, duration: 2, headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[0]}` }, body: payload });
    await autocannon({ url: `http://127.0.0.1:${bare.port}/v1/media/uploads`, method: 'POST', connections: 10, duration: 1, headers: { 'content-type': 'application/json' }, body: payload });

    const results = [await run('bare fastify', bare.port, tokens), await run(`service (${USERS} users)`, media.port, tokens), await run('service (1 user)', media.port, tokens.slice(0, 1))];
    const base = results[0]?.rps ?? 1;
    console.log(`\npresign POST /v1/media/uploads — ${CONNECTIONS} connections, ${DURATION}s each, node ${process.version}, ${os.cpus().length} CPUs\n`);
    console.log('run                    req/s     p50 ms  p99 ms  requests  non-2xx  ratio vs bare');
    for (const r of results) {
      console.log(
        `${r.name.padEnd(22)} ${String(r.rps).padStart(7)} ${String(r.p50).padStart(9)} ${String(r.p99).padStart(7)} ${String(r.total).padStart(9)} ${String(r.non2xx + r.errors).padStart(8)}  ${(r.rps / base).toFixed(3)}`,
      );
    }
    const { rows } = await admin.query("SELECT count(*)::int AS n FROM media.assets WHERE status = 'pending'");
    console.log(`\nrows created: ${rows[0].n} (each 201 is one pending asset with a presigned PUT)`);
  } finally {
    for (const c of children) await stop(c);
    await admin.end();
    await issuer.close();
    await s3.stop();
    fs.rmSync(s3dir, { recursive: true, force: true });
    await db.drop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);

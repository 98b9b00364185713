/**
 * The whole pipeline on one machine (issue 16 §2): redirects/s on a warm code while the click worker
 * drains that traffic into PostgreSQL at the same time — the steady state of a single-box install —
 * against a bare node:http 302 in the same run, in interleaved rounds (the machine is shared; a
 * drift of its load then biases neither side). Target: >= 0.6x the bare server, p99 <= 5 ms.
 *
 * Own stream (CLICK_STREAM=clicks-pipeline) and consumer group, so bench/redirect.ts's other phases
 * keep their stream; the worker runs the default sink. After the rounds the backlog is drained and
 * checked: stream entries == new rows.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createRequire } from 'node:module';
import type pg from 'pg';
import type { Redis } from 'ioredis';

interface AcResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  errors: number;
  non2xx: number;
  statusCodeStats?: Record<string, { count: number }>;
}
const autocannon = createRequire(import.meta.url)('autocannon') as (opts: Record<string, unknown>) => Promise<AcResult>;

const root = path.resolve(import.meta.dirname, '../..');
const STREAM = 'clicks-pipeline';
const UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36';

export interface PipelineRun {
  rps: number;
  p50: number;
  p99: number;
  redirects: number;
  errors: number;
  /** Stream entries not yet written when the run ended (p only). */
  backlog?: number;
}

export interface PipelineResult {
  bare: PipelineRun[];
  pipeline: PipelineRun[];
  entries: number;
  rows: number;
  drainSeconds: number;
  sink: string;
}

function start(entry: string, env: Record<string, string>, ready: RegExp): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      out = (out + d.toString()).slice(-20_000);
      const m = ready.exec(out);
      if (m) resolve({ child, port: Number(m[1] ?? 0) });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${entry} exited ${code}: ${out.slice(-2000)}`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

async function load(port: number, seconds: number, connections: number): Promise<PipelineRun> {
  const r = await autocannon({ url: `http://127.0.0.1:${port}/warm1`, connections, duration: seconds, headers: { 'user-agent': UA } });
  const redirects = Object.entries(r.statusCodeStats ?? {}).reduce((s, [code, v]) => s + (code.startsWith('3') ? v.count : 0), 0);
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, redirects, errors: r.errors + r.non2xx - redirects };
}

/** Entries of the group not yet acked: delivered-but-pending plus never delivered (Redis 7 `lag`). */
async function backlog(redis: Redis, group: string): Promise<number> {
  const groups = (await redis.xinfo('GROUPS', STREAM)) as unknown[][];
  for (const g of groups) {
    const f = new Map<string, unknown>();
    for (let i = 0; i + 1 < g.length; i += 2) f.set(String(g[i]), g[i + 1]);
    if (f.get('name') === group) return Number(f.get('pending') ?? 0) + Number(f.get('lag') ?? 0);
  }
  return NaN;
}

/**
 * `env`: the redirect server's (DATABASE_URL as redirect_service, REDIS_URL, HOST, PORT=0...);
 * a link with code `warm1` must exist. `admin`: a superuser pool on the same database.
 */
export async function wholePipeline(admin: pg.Pool, redis: Redis, env: Record<string, string>, opts: { seconds: number; rounds: number; connections: number; sink?: string }): Promise<PipelineResult> {
  const group = `pipeline-${Date.now().toString(36)}`;
  const penv = { ...env, CLICK_STREAM: STREAM, CLICK_STREAM_SHARDS: '1' };
  // The group starts at the stream's end: the worker drains only what this phase produces.
  await redis.xgroup('CREATE', STREAM, group, '$', 'MKSTREAM');
  const rows0 = Number((await admin.query<{ n: string }>(`SELECT count(*) AS n FROM links.clicks`)).rows[0]!.n);
  const listening = /"url":"http:\/\/127\.0\.0\.1:(\d+)"/;
  const bare = await start(path.join(import.meta.dirname, 'fixed302.ts'), {}, /LISTENING (\d+)/);
  const server = await start(path.join(root, 'redirect/src/server.ts'), penv, listening);
  const sink = opts.sink ?? 'batch';
  const worker = await start(path.join(root, 'redirect/src/worker.ts'), { ...penv, CLICK_GROUP: group, WORKER_PORT: '0', WORKER_SINK: sink, LOG_LEVEL: 'info' }, /click worker started()/);
  const out: PipelineResult = { bare: [], pipeline: [], entries: 0, rows: 0, drainSeconds: 0, sink };
  try {
    // Warm-up: JIT, caches, the worker's first batches.
    await load(bare.port, 2, opts.connections);
    await load(server.port, 2, opts.connections);
    for (let round = 0; round < opts.rounds; round++) {
      const pair = round % 2 === 0 ? ['a', 'p'] : ['p', 'a'];
      for (const k of pair) {
        if (k === 'a') out.bare.push(await load(bare.port, opts.seconds, opts.connections));
        else out.pipeline.push({ ...(await load(server.port, opts.seconds, opts.connections)), backlog: await backlog(redis, group) });
      }
    }
    await stop(server.child);
    const t0 = performance.now();
    while ((await backlog(redis, group)) > 0 && performance.now() - t0 < 600_000) await new Promise((r) => setTimeout(r, 100));
    out.drainSeconds = (performance.now() - t0) / 1000;
    out.entries = await redis.xlen(STREAM);
    out.rows = Number((await admin.query<{ n: string }>(`SELECT count(*) AS n FROM links.clicks`)).rows[0]!.n) - rows0;
  } finally {
    await Promise.all([stop(bare.child), stop(server.child), stop(worker.child)]);
    await redis.xgroup('DESTROY', STREAM, group).catch(() => undefined);
  }
  return out;
}

const median = (xs: number[]) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)] ?? NaN;

export function printPipeline(r: PipelineResult, connections: number): void {
  const row = (name: string, rs: PipelineRun[]) =>
    `  ${name.padEnd(52)} rounds ${rs.map((x) => x.rps.toFixed(0)).join(' / ')} req/s (median ${median(rs.map((x) => x.rps)).toFixed(0)}), p50 ${median(rs.map((x) => x.p50))} ms, p99 ${rs.map((x) => x.p99).join(' / ')} ms, errors ${rs.reduce((s, x) => s + x.errors, 0)}`;
  const ratios = r.pipeline.map((p, i) => p.rps / r.bare[i]!.rps);
  console.log(`(p) whole pipeline, ${connections} connections, warm code, worker (WORKER_SINK=${r.sink}) draining at the same time:`);
  console.log(row('(a) node:http fixed 302, same run', r.bare));
  console.log(row('(p) redirect + click worker + PostgreSQL + Redis', r.pipeline));
  console.log(`  (p)/(a) paired per round ${ratios.map((x) => x.toFixed(2)).join(' / ')}, median ${median(ratios).toFixed(2)} (target >= 0.6, p99 <= 5 ms)`);
  console.log(`  worker backlog at the end of each (p) run: ${r.pipeline.map((p) => p.backlog).join(' / ')} entries; the rest drained in ${r.drainSeconds.toFixed(1)} s; stream entries ${r.entries} == new rows ${r.rows}: ${r.entries === r.rows ? 'YES' : 'NO'}`);
}

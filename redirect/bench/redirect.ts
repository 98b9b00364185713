/**
 * npm run bench:redirect -w @linkport/redirect
 *
 * One run on loopback, 50 connections, autocannon in this process and every server in a child
 * process (so the load generator never shares the server's event loop):
 *   (a) bare node:http answering a fixed 302 — the ceiling
 *   (b) the redirect server, warm code, click capture on          (and b' the same handler in Fastify)
 *   (t) (b) with tracing on (OTLP/HTTP to a sink in this process), OTEL_TRACES_SAMPLER_ARG=0.01 —
 *       issue 12's budget: at most 10 % fewer req/s than (b), measured in the same interleaved rounds
 *   (b2) a second, identical (b) process — the A/A control: how far two identical servers differ
 *       in this run is the noise floor any (t)-vs-(b) difference must be read against
 *   (c) the cold path: local and Redis caches off, distinct codes → PostgreSQL on every request
 *   (p) the whole pipeline (bench/pipeline.ts): redirects/s on a warm code while the click worker
 *       drains that traffic into PostgreSQL at the same time, against (a) in the same rounds
 *   (d) the click worker draining everything (b, b', c) produced into PostgreSQL, once per write
 *       path over the same stream (bench/drain.ts): the pre-issue-16 path (WORKER_SINK=legacy, the
 *       baseline), the one-statement path (statement), the in-memory aggregated path (batch, the
 *       default) and batch with larger batches and two workers, and statement and batch once more
 *       with migrations 1764900001800/1764900001810 reverted (`before:`, their same-run baseline:
 *       the foreign-key checks and per-row key function calls they removed); checks stream
 *       entries == rows == counters (+ bots) == rollups for each.
 *
 * Switches (environment):
 *   BENCH_DURATION=5 BENCH_ROUNDS=3  seconds per measured run, interleaved rounds
 *   BENCH_PHASES=a,f,t,b2,side,serial,c,p,d  which parts run besides (b), the baseline that always
 *                                    runs; e.g. BENCH_PHASES=t,b2,side for the tracing figures alone.
 *                                    `side`: each round also loads (t) and (b) at the same time, then
 *                                    (b2) and (b), at BENCH_SIDE_RATE=4000 req/s each, and compares
 *                                    CPU per request within each pair
 *   BENCH_TRACE_RATIO=0.01           (t)'s OTEL_TRACES_SAMPLER_ARG (0: the SDK loaded, no span made)
 *   BENCH_CPU_PROF=<dir>             (b), (t), (b2) run under `node --cpu-prof`, profiles into <dir>/<key>/
 * CPU per request is read per measured run from each server's own /metrics
 * (process_cpu_seconds_total before and after the run, divided by the requests autocannon counted):
 * it moves far less with the neighbours' load than req/s does, so on a shared machine it is the
 * figure that judges the tracing cost — best side by side, where both servers share the seconds.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { createRequire } from 'node:module';
import pg from 'pg';
import { Redis } from 'ioredis';
import { createTestDatabase, startTestRedis } from '@linkport/devstack/testing';
import { drainBoth, print as printDrain } from './drain.ts';
import { printPipeline, wholePipeline } from './pipeline.ts';

// autocannon ships no types; this is the slice used here (loaded through require so no ambient
// module declaration is needed, and none can clash with another workspace's).
interface AcRequest {
  path?: string;
  [k: string]: unknown;
}
interface AcOptions {
  url: string;
  connections?: number;
  duration?: number;
  overallRate?: number;
  headers?: Record<string, string>;
  requests?: { setupRequest?: (req: AcRequest) => AcRequest }[];
}
interface AcResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; average: number; max: number };
  errors: number;
  non2xx: number;
  statusCodeStats?: Record<string, { count: number }>;
}
const autocannon = createRequire(import.meta.url)('autocannon') as (opts: AcOptions) => Promise<AcResult>;

const here = import.meta.dirname;
const root = path.resolve(here, '../..');
const DURATION = Number(process.env.BENCH_DURATION ?? 5);
// (a), (b) and (b') are measured in interleaved rounds and the median round is reported: the build
// machines are shared, and a single run of each swings by ±30% with the neighbours' load.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = 50;
const PHASES = new Set((process.env.BENCH_PHASES ?? 'a,f,t,b2,side,serial,c,p,d').split(',').map((p) => p.trim()));
// Side by side, both servers get the same fixed request rate: CPU per request falls as the rate
// rises (more requests per event-loop turn and per syscall), so at full speed the slower server
// would also look costlier per request. Below saturation on a 2-CPU machine even for two servers.
const SIDE_RATE = Number(process.env.BENCH_SIDE_RATE ?? 4000);
// (t)'s sampler ratio: issue 12's budget is at 0.01; 0 (no span ever) isolates the cost of the
// SDK being loaded from the cost of the spans.
const TRACE_RATIO = process.env.BENCH_TRACE_RATIO ?? '0.01';
const CPU_PROF = process.env.BENCH_CPU_PROF ? path.resolve(process.env.BENCH_CPU_PROF) : undefined;
const COLD_CODES = 20_000;
const UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36';

interface Run {
  name: string;
  requests: number;
  warmupRequests: number;
  rps: number;
  /** Server CPU per request over the measured run (µs), when the server has /metrics. */
  cpuUs?: number;
  p50: number;
  p99: number;
  redirects: number;
  errors: number;
}

function start(entry: string, env: Record<string, string>, ready: RegExp, profileName?: string): Promise<{ child: ChildProcess; port: number; log: () => string }> {
  // One folder per server: the main thread and tsx's module-loader thread each write a profile.
  const prof = CPU_PROF && profileName ? ['--cpu-prof', `--cpu-prof-dir=${path.join(CPU_PROF, profileName)}`] : [];
  const child = spawn(process.execPath, [...prof, '--import', 'tsx', entry], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = ready.exec(out);
      if (m) resolve({ child, port: Number(m[1] ?? 0), log: () => out });
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

/**
 * Share of a process's busy (non-idle) CPU-profile samples whose frame is OpenTelemetry's code or
 * common's tracing.ts, from the main thread's profile (the largest file in `dir`).
 */
function tracingShare(dir: string): { share: number } | undefined {
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).map((f) => path.join(dir, f)) : [];
  const main = files.sort((x, y) => fs.statSync(y).size - fs.statSync(x).size)[0];
  if (!main) return undefined;
  const profile = JSON.parse(fs.readFileSync(main, 'utf8')) as { nodes: { id: number; callFrame: { functionName: string; url: string } }[]; samples: number[] };
  const frame = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  let busy = 0;
  let ours = 0;
  for (const id of profile.samples) {
    const f = frame.get(id);
    if (!f || f.functionName === '(idle)') continue;
    busy++;
    if (/@opentelemetry\/|\/telemetry\/tracing\.ts$|require-in-the-middle|import-in-the-middle/.test(f.url)) ours++;
  }
  return busy > 0 ? { share: ours / busy } : undefined;
}

/** CPU time the child process used, printed by it on SIGTERM: robust to the neighbours' load. */
function cpuUs(log: string): number {
  return Number(/"cpuUs":(\d+)/.exec(log)?.[1] ?? NaN);
}

/** The server's own CPU seconds so far (prom-client's process_cpu_seconds_total), or undefined. */
async function cpuSeconds(port: number): Promise<number | undefined> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => undefined);
  if (!res?.ok) return undefined;
  const m = /^process_cpu_seconds_total(?:\{[^}]*\})? ([0-9.e+-]+)$/m.exec(await res.text());
  return m ? Number(m[1]) : undefined;
}

async function load(name: string, port: number, pathFor?: () => string, warmup = true, connections = CONNECTIONS, metered = false, overallRate?: number): Promise<Run> {
  const opts: AcOptions = {
    url: `http://127.0.0.1:${port}`,
    connections,
    duration: DURATION,
    headers: { 'user-agent': UA },
    ...(overallRate ? { overallRate } : {}),
  };
  if (pathFor) {
    opts.requests = [{ setupRequest: (req) => ({ ...req, path: pathFor() }) }];
  } else {
    opts.url += '/warm1';
  }
  // A short warm-up so JIT and caches settle before the measured run.
  const w = warmup ? await autocannon({ ...opts, duration: 2 }) : undefined;
  const cpu0 = metered ? await cpuSeconds(port) : undefined;
  const r = await autocannon(opts);
  const cpu1 = cpu0 === undefined ? undefined : await cpuSeconds(port);
  const redirects = Object.entries(r.statusCodeStats ?? {}).reduce((s, [code, v]) => s + (code.startsWith('3') ? (v as { count: number }).count : 0), 0);
  const run: Run = { name, requests: r.requests.total, warmupRequests: w?.requests.total ?? 0, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, redirects, errors: r.errors + r.non2xx - redirects };
  if (cpu0 !== undefined && cpu1 !== undefined && r.requests.total > 0) run.cpuUs = ((cpu1 - cpu0) * 1e6) / r.requests.total;
  return run;
}

/** Requests one at a time on one keep-alive connection; latencies at microsecond resolution. */
async function oneByOne(port: number, n: number): Promise<{ p50: number; p99: number; p999: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const lat: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await new Promise<void>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: '/warm1', agent, headers: { 'user-agent': UA } }, (res) => {
          res.resume();
          res.on('end', resolve);
        })
        .on('error', reject);
    });
    lat.push(performance.now() - t0);
  }
  agent.destroy();
  lat.sort((x, y) => x - y);
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]!;
  return { p50: q(0.5), p99: q(0.99), p999: q(0.999) };
}

async function main(): Promise<void> {
  const db = await createTestDatabase();
  const redis = await startTestRedis();
  const admin = new pg.Pool({ connectionString: db.adminUrl, max: 2 });
  const client = new Redis(redis.url);
  try {
    const { rows } = await admin.query<{ id: string }>(`INSERT INTO core.users (email, password_hash) VALUES ('bench@example.com', 'x') RETURNING id`);
    const owner = rows[0]!.id;
    await admin.query(`INSERT INTO links.links (owner_id, code, destination) VALUES ($1, 'warm1', 'https://example.com/landing')`, [owner]);
    await admin.query(
      `INSERT INTO links.links (owner_id, code, destination) SELECT $1, 'cold' || i, 'https://example.com/p/' || i FROM generate_series(0, $2 - 1) i`,
      [owner, COLD_CODES],
    );
    const env = {
      DATABASE_URL: db.roleUrl('redirect_service'),
      REDIS_URL: redis.url,
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      CLICK_STREAM_MAXLEN: '5000000',
      CLICK_BUFFER_SIZE: '1000000',
    };
    const runs: Run[] = [];
    const listening = /"url":"http:\/\/127\.0\.0\.1:(\d+)"/;

    type Key = 'a' | 'b' | 'f' | 't' | 'b2';
    interface Server {
      key: Key;
      name: string;
      child: ChildProcess;
      port: number;
      log: () => string;
    }
    const servers: Server[] = [];
    const add = async (key: Key, name: string, p: Promise<{ child: ChildProcess; port: number; log: () => string }>) => servers.push({ key, name, ...(await p) });
    if (PHASES.has('a')) await add('a', '(a) node:http fixed 302 (ceiling)', start(path.join(here, 'fixed302.ts'), {}, /LISTENING (\d+)/));
    await add('b', '(b) redirect, warm code, clicks on', start(path.join(root, 'redirect/src/server.ts'), env, listening, 'b'));
    if (PHASES.has('f')) await add('f', "(b') same handler in Fastify", start(path.join(here, 'fastify-server.ts'), env, /LISTENING (\d+)/));
    // An OTLP/HTTP sink: accepts and counts span batches (the collector's cost is not ours to measure).
    let exported = 0;
    const sink = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        exported++;
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
    const sinkUrl = `http://127.0.0.1:${(sink.address() as import('node:net').AddressInfo).port}`;
    if (PHASES.has('t')) {
      const traced = { ...env, OTEL_EXPORTER_OTLP_ENDPOINT: sinkUrl, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: TRACE_RATIO };
      await add('t', `(t) (b) + tracing on, ${Number(TRACE_RATIO) * 100} % sampled`, start(path.join(root, 'redirect/src/server.ts'), traced, listening, 't'));
    }
    if (PHASES.has('b2')) await add('b2', '(b2) (b) again: A/A control', start(path.join(root, 'redirect/src/server.ts'), env, listening, 'b2'));
    const idx = (key: Key) => servers.findIndex((s) => s.key === key);
    const rounds: Run[][] = servers.map(() => []);
    const side: Record<'t' | 'b2', { rps: number; cpu: number; x: number; b: number; n: number; nb: number }[]> = { t: [], b2: [] };
    for (let round = 0; round < ROUNDS; round++) {
      // Order reversed every other round: a slow drift of the machine's load then biases no server.
      const order = [...servers.keys()];
      if (round % 2 === 1) order.reverse();
      for (const k of order) rounds[k]!.push(await load(servers[k]!.name, servers[k]!.port, undefined, round === 0, CONNECTIONS, servers[k]!.key !== 'a'));
      // Side by side: (t) and (b) loaded in the same seconds (then (b2) and (b)), so both see the
      // same neighbours; their CPU per request is compared within the pair.
      if (PHASES.has('side') && idx('t') >= 0 && idx('b2') >= 0) {
        const pairs: ('t' | 'b2')[] = round % 2 === 0 ? ['t', 'b2'] : ['b2', 't'];
        for (const key of pairs) {
          const x = servers[idx(key)]!;
          const y = servers[idx('b')]!;
          const [rx, ry] = await Promise.all([load(x.name, x.port, undefined, false, CONNECTIONS / 2, true, SIDE_RATE), load(y.name, y.port, undefined, false, CONNECTIONS / 2, true, SIDE_RATE)]);
          side[key].push({ rps: rx.rps / ry.rps, cpu: (rx.cpuUs ?? NaN) / (ry.cpuUs ?? NaN), x: rx.cpuUs ?? NaN, b: ry.cpuUs ?? NaN, n: rx.requests, nb: ry.requests });
        }
      }
    }
    /** Median over rounds of x/y, each round's pair measured seconds apart (drift cancels within a pair). */
    const pairedRatio = (x: number, y: number, of: (r: Run) => number = (r) => r.rps) => {
      const r = rounds[x]!.map((run, i) => of(run) / of(rounds[y]![i]!)).sort((p, q) => p - q);
      return { median: r[Math.floor(r.length / 2)]!, all: r };
    };
    const median = (xs: number[]) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)]!;
    const byKey = new Map<Key, Run>();
    for (const [k, rs] of rounds.entries()) {
      const sorted = [...rs].sort((x, y) => x.rps - y.rps);
      const mid = sorted[Math.floor(sorted.length / 2)]!;
      const run = { ...mid, redirects: rs.reduce((s, r) => s + r.redirects, 0), errors: rs.reduce((s, r) => s + r.errors, 0) };
      byKey.set(servers[k]!.key, run);
      runs.push(run);
      const cpu = rs.every((r) => r.cpuUs !== undefined) ? `, CPU ${rs.map((r) => r.cpuUs!.toFixed(1)).join(' / ')} µs/request` : '';
      console.log(`${mid.name}: rounds ${rs.map((r) => r.rps.toFixed(0)).join(' / ')} req/s, p99 ${rs.map((r) => r.p99).join(' / ')} ms${cpu}`);
    }
    // Latency of the hot path itself, without queueing: at 50 connections and full speed latency is
    // mostly waiting in line (Little's law: 50 in flight / 22k req/s ≈ 2.3 ms mean) whatever the
    // handler costs. (autocannon's overallRate is no help: it sends in bursts, and even the bare
    // server of (a) shows p99 ≈ 100 ms at 5000 req/s over 50 connections.)
    const serial = PHASES.has('serial') ? await oneByOne(servers[idx('b')]!.port, 20_000) : undefined;
    await Promise.all(servers.map((s) => stop(s.child)));
    sink.close();
    // Whole-life CPU (boot included) over every request served, warm-up and serial run included.
    const sideServed = (key: Key) => (key === 't' || key === 'b2' ? side[key].reduce((s, r) => s + r.n, 0) : key === 'b' ? [...side.t, ...side.b2].reduce((s, r) => s + r.nb, 0) : 0);
    const served = (k: number) => rounds[k]!.reduce((s, r) => s + r.requests, 0) + rounds[k]![0]!.warmupRequests + (servers[k]!.key === 'b' && serial ? 20_000 : 0) + sideServed(servers[k]!.key);
    const lifeCpu = new Map(servers.map((srv, k) => [srv.key, cpuUs(srv.log()) / served(k)]));
    /** Median of the per-round CPU µs/request of one server (its /metrics), else its whole-life figure. */
    const cpuOf = (key: Key) => {
      const rs = rounds[idx(key)]!;
      return rs.every((r) => r.cpuUs !== undefined) ? median(rs.map((r) => r.cpuUs!)) : lifeCpu.get(key)!;
    };

    let i = 0;
    if (PHASES.has('c')) {
      const c = await start(path.join(root, 'redirect/src/server.ts'), { ...env, LINK_CACHE_TTL_MS: '0', REDIS_LINK_TTL_S: '0' }, listening);
      runs.push(await load('(c) cold: every lookup in PostgreSQL', c.port, () => `/cold${i++ % COLD_CODES}`));
      await stop(c.child);
    }

    const pipeline = PHASES.has('p') ? await wholePipeline(admin, client, env, { seconds: DURATION, rounds: ROUNDS, connections: CONNECTIONS }) : undefined;

    const os = await import('node:os');
    console.log(`\nredirect benchmark: ${CONNECTIONS} connections, ${DURATION} s per run (after 2 s warm-up; a/b/b'/t/b2 median of ${ROUNDS} interleaved rounds), loopback, ${os.availableParallelism()} CPUs, load average ${os.loadavg()[0]!.toFixed(1)}\n`);
    console.log('run'.padEnd(44) + 'req/s'.padStart(10) + 'p50 ms'.padStart(9) + 'p99 ms'.padStart(9) + 'errors'.padStart(9));
    for (const r of runs) console.log(r.name.padEnd(44) + r.rps.toFixed(0).padStart(10) + String(r.p50).padStart(9) + String(r.p99).padStart(9) + String(r.errors).padStart(9));
    if (serial) console.log(`(b) one request at a time, one connection: p50 ${serial.p50.toFixed(3)} ms, p99 ${serial.p99.toFixed(3)} ms, p99.9 ${serial.p999.toFixed(3)} ms (client included)`);
    console.log(
      `\nserver CPU per request, median of the measured runs (whole life incl. boot and warm-up): ` +
        servers.map((s) => `${s.key === 'f' ? "(b')" : `(${s.key})`} ${s.key === 'a' ? '—' : cpuOf(s.key).toFixed(1)} (${lifeCpu.get(s.key)!.toFixed(1)}) µs`).join(', '),
    );
    const rb = byKey.get('b')!;
    const ra = byKey.get('a');
    const rf = byKey.get('f');
    if (ra && rf) console.log(`\n(b)/(a) = ${(rb.rps / ra.rps).toFixed(2)}   (b')/(b) = ${(rf.rps / rb.rps).toFixed(2)}   target: (b)/(a) >= 0.5, (b) p99 <= 2 ms`);
    const fmt = (r: { median: number; all: number[] }) => `${r.median.toFixed(3)} (rounds ${r.all.map((v) => v.toFixed(2)).join(' / ')})`;
    const rt = byKey.get('t');
    if (rt) {
      const tOverB = pairedRatio(idx('t'), idx('b'));
      console.log(
        `tracing on (${Number(TRACE_RATIO) * 100} % sampled) vs off: (t)/(b) = ${(rt.rps / rb.rps).toFixed(3)} (medians), throughput loss ${((1 - rt.rps / rb.rps) * 100).toFixed(1)} % (target <= 10 %), CPU/request (t) ${cpuOf('t').toFixed(1)} vs (b) ${cpuOf('b').toFixed(1)} µs = +${(((cpuOf('t') - cpuOf('b')) / cpuOf('b')) * 100).toFixed(1)} %; ${exported} OTLP exports received`,
      );
      console.log(`  paired per round: req/s (t)/(b) ${fmt(tOverB)}; CPU/request (t)/(b) ${fmt(pairedRatio(idx('t'), idx('b'), (r) => r.cpuUs ?? NaN))}`);
      if (idx('b2') >= 0) {
        const aa = pairedRatio(idx('b2'), idx('b'));
        console.log(`  A/A control: req/s (b2)/(b) ${fmt(aa)}; CPU/request (b2)/(b) ${fmt(pairedRatio(idx('b2'), idx('b'), (r) => r.cpuUs ?? NaN))}`);
        console.log(`  tracing loss ${((1 - tOverB.median) * 100).toFixed(1)} % against a noise floor of ${(Math.abs(1 - aa.median) * 100).toFixed(1)} % between two identical servers`);
      }
    }
    if (side.t.length > 0) {
      const line = (key: 't' | 'b2') => {
        const rs = side[key];
        const m = (f: (r: (typeof rs)[number]) => number) => median(rs.map(f));
        return `(${key})/(b) CPU/request ${m((r) => r.cpu).toFixed(3)} (rounds ${rs.map((r) => r.cpu.toFixed(2)).join(' / ')}; ${m((r) => r.x).toFixed(1)} vs ${m((r) => r.b).toFixed(1)} µs), req/s ${m((r) => r.rps).toFixed(3)} (rounds ${rs.map((r) => r.rps.toFixed(2)).join(' / ')})`;
      };
      console.log(`side by side, ${CONNECTIONS / 2} connections and ${SIDE_RATE} req/s each, same seconds: ${line('t')}`);
      console.log(`  A/A side by side: ${line('b2')}`);
    }
    if (CPU_PROF) {
      console.log(`CPU profiles of (b), (t), (b2): ${CPU_PROF}/{b,t,b2}/ (the largest file in each is the main thread)`);
      if (idx('t') >= 0) {
        const share = tracingShare(path.join(CPU_PROF, 't'));
        // The tracer's own frames, priced at (t)'s measured CPU per request: a figure the
        // neighbours' load hardly moves (it is a share of the process's own samples).
        if (share) console.log(`  (t) profile: ${(share.share * 100).toFixed(1)} % of its busy samples in OpenTelemetry / tracing.ts frames ≈ ${(share.share * cpuOf('t')).toFixed(2)} µs of its ${cpuOf('t').toFixed(1)} µs per request (self time; GC and allocation effects not included)`);
      }
    }
    if (pipeline) {
      printPipeline(pipeline, CONNECTIONS);
      if (pipeline.entries !== pipeline.rows) process.exitCode = 1;
    }
    if (PHASES.has('d')) {
      const servedTotal = runs.slice(1).reduce((s, r) => s + r.redirects, 0);
      // Warm-up requests were served (and clicked) too: the stream is the producer-side truth.
      const streamLen = await client.xlen('clicks');
      const drains = await drainBoth(admin, client, env, { batch: 1000 });
      const inDb = drains.at(-1)!.clicks;
      console.log(`(d) worker drain, batch 1000 unless named (sink@batch xworkers), the same ${streamLen} stream entries each (redirects served in measured runs ${servedTotal}; worker boot excluded):`);
      printDrain(drains);
      if (inDb !== streamLen || drains.some((d) => !d.exact)) process.exitCode = 1;
    }
  } finally {
    client.disconnect();
    await admin.end();
    await redis.stop();
    await db.drop();
  }
}

await main();
process.exit(process.exitCode ?? 0);

/**
 * `npm run bench:gateway -w @linkport/gateway`: the same GETs straight to a trivial upstream and
 * through the Node gateway (access log on, to /dev/null), in one run. The upstream, the proxies and
 * the gateway are child processes so autocannon does not share their event loop. Scenarios:
 *   direct          → upstream (the baseline)
 *   floor (http)    → a minimal node:http proxy (bench/floor.ts, keep-alive http.Agent) → upstream
 *   floor (undici)  → the same with an undici Pool, as the gateway forwards
 *   short link      → the gateway with the repository's own gateway/dynamic/*.yml, REDIRECT_URL =
 *                     the upstream: the catch-all `redirect` router (request-id, secure-headers,
 *                     rl-redirect) behind every other router, as a short link travels in production
 *   proxy           → gateway: request-id, secure-headers, cors → upstream
 *   auth            → gateway: the same + forwardAuth (to the same trivial upstream) → upstream
 *   redirect service (direct) / gateway → redirect service
 *                   → the real redirect service (redirect/src/server.ts on an embedded PostgreSQL
 *                     and Redis, a warm link: cache hit, 302, a click XADDed per request), straight
 *                     and through the gateway with gateway/dynamic/*.yml. Issue 18 §5's target is
 *                     this ratio: the short-link path "at least 0.5× of hitting the redirect service
 *                     directly". BENCH_REDIRECT=0 leaves the pair out.
 * Every request comes from another visitor (X-Forwarded-For from a pool of 60 000 addresses, the
 * gateway trusting loopback as GATEWAY_TRUSTED_IPS does behind a CDN): rl-redirect then limits
 * visitors as in production, not the load generator; every scenario sends the same requests so the
 * load generator's own cost is the same in all.
 * Reports requests/s, p50/p99 latency, the throughput ratio and the p99 the gateway adds, and (on
 * Linux) the CPU time the serving process spends per request: unlike req/s, that figure hardly moves
 * with the neighbours' load, so it is the one to compare across runs on a shared machine. The
 * floors show what a Node proxy costs at the least on the same machine in the same run: a proxy
 * reads and writes two HTTP/1.1 exchanges where the upstream does one.
 * The scenarios run interleaved for BENCH_ROUNDS rounds and the median round is reported, since
 * the build machines are shared (load from parallel jobs swings single runs).
 * Env: BENCH_DURATION (s per run, default 5), BENCH_CONNECTIONS (default 50), BENCH_ROUNDS (default 3),
 * BENCH_COMPARE_SRC=<dir>: a second gateway build (a copy of gateway/src under the repository) runs
 * the short-link scenario beside this one, for a before/after in the same run;
 * BENCH_SCENARIOS=short,floor: only the scenarios whose names contain one of these (direct always runs);
 * BENCH_PROFILE=1: the short-link gateway runs with --cpu-prof and its hottest functions (self time) and time by
 * area are printed at the end (the profile stays in the printed directory).
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { freePort, waitForPort } from '@linkport/devstack';
import { createTestDatabase, startTestRedis } from '@linkport/devstack/testing';
import { createPool } from '@linkport/common';

// autocannon ships no types; this is the slice used (loaded untyped so other workspaces' ambient
// declarations of the module do not matter here).
interface Result {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  errors: number;
  non2xx: number;
  '3xx': number;
}
interface CannonRequest {
  headers?: Record<string, string>;
}
const autocannon = createRequire(import.meta.url)('autocannon') as (o: {
  url: string;
  connections: number;
  duration: number;
  requests?: Array<{ setupRequest: (r: CannonRequest) => CannonRequest }>;
}) => Promise<Result>;

const duration = Number(process.env.BENCH_DURATION ?? 5);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
const profile = process.env.BENCH_PROFILE === '1';
const root = path.resolve(import.meta.dirname, '../..');
const children: ChildProcess[] = [];

function dynamicConfig(upstream: string): string {
  const mw = ['request-id', 'secure-headers', 'cors'];
  return `
http:
  routers:
    proxy:
      rule: 'PathPrefix(\`/proxy\`)'
      middlewares: [${mw.join(', ')}]
      service: up
    auth:
      rule: 'PathPrefix(\`/auth\`)'
      middlewares: [${[...mw, 'auth'].join(', ')}]
      service: up
  middlewares:
    request-id: { plugin: { requestid: { headerName: X-Request-Id } } }
    secure-headers: { headers: { frameDeny: true, contentTypeNosniff: true, referrerPolicy: no-referrer, stsSeconds: 31536000 } }
    cors: { headers: { accessControlAllowOriginList: [https://app.example.com], accessControlAllowCredentials: true, addVaryHeader: true } }
    auth:
      forwardAuth:
        address: '{{ env "CORE_URL" }}/v1/core/auth/verify'
        trustForwardHeader: false
        authResponseHeaders: [X-User-Id, X-User-Role, X-Auth-Method, X-Auth-Scopes, Authorization]
  services:
    up: { loadBalancer: { servers: [{ url: '${upstream}' }] } }
`;
}

/** User + system CPU milliseconds of a process so far (Linux /proc; undefined elsewhere). */
function cpuMs(pid: number | undefined): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[11], fields[12] = utime, stime (stat fields 14 and 15) in clock ticks, 100 per second on Linux
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

interface Measured extends Result {
  /** CPU microseconds per request of the process serving the URL (gateway, proxy, or upstream for direct). */
  cpuUsPerReq?: number;
}

// 60 000 visitors (10.a.b.c), taken in turn: at 30 000 req/s each comes back every 2 s, well under
// rl-redirect's 20/s, so no answer is a 429 and each request still costs a bucket lookup.
let visitor = 0;
const nextVisitor = (): string => {
  visitor = (visitor + 1) % 60_000;
  return `10.${visitor >> 16}.${(visitor >> 8) & 255}.${visitor & 255}`;
};
const requests = [
  {
    setupRequest: (r: CannonRequest): CannonRequest => {
      r.headers = { 'x-forwarded-for': nextVisitor() };
      return r;
    },
  },
];

async function run(name: string, url: string, pid: number | undefined, redirects = false): Promise<Measured> {
  // warm-up (JIT, keep-alive pools), then the measured run
  await autocannon({ url, connections, duration: 1, requests });
  const before = cpuMs(pid);
  const r: Measured = await autocannon({ url, connections, duration, requests });
  const after = cpuMs(pid);
  if (before !== undefined && after !== undefined && r.requests.total > 0) r.cpuUsPerReq = ((after - before) * 1000) / r.requests.total;
  // a redirect scenario answers 302s: everything else counts as bad there
  const bad = (redirects ? r.non2xx - r['3xx'] : r.non2xx) + r.errors;
  if (bad > 0 || (redirects && r['3xx'] === 0)) throw new Error(`${name}: ${r.non2xx} non-2xx (${r['3xx']} 3xx), ${r.errors} errors (incl. timeouts)`);
  return r;
}

async function child(file: string, env: Record<string, string>): Promise<{ proc: ChildProcess; port: number }> {
  const port = await freePort();
  const proc = fork(path.join(import.meta.dirname, file), { env: { ...process.env, ...env, PORT: String(port) }, execArgv: ['--import', 'tsx'], stdio: 'ignore' });
  children.push(proc);
  await waitForPort(port);
  return { proc, port };
}

async function gateway(dir: string, env: Record<string, string>, profileDir?: string, src = path.join(root, 'gateway/src')): Promise<{ proc: ChildProcess; port: number }> {
  const port = await freePort();
  const probe = await freePort();
  const devNull = fs.openSync('/dev/null', 'w');
  const args = [...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), '--import', 'tsx', path.join(src, 'server.ts')];
  const proc = spawn(process.execPath, args, {
    env: { ...process.env, ...env, PORT: String(port), GATEWAY_PROBE_PORT: String(probe), GATEWAY_DYNAMIC_DIR: dir, LOG_LEVEL: 'warn', GATEWAY_ACCESS_LOG: 'stdout', GATEWAY_TRUSTED_IPS: '127.0.0.1' },
    stdio: ['ignore', devNull, 'inherit'],
  });
  children.push(proc);
  await waitForPort(port, '127.0.0.1', 20_000);
  return { proc, port };
}

/**
 * The real redirect service (its own entry point) on a throwaway migrated database and Redis, with
 * one link `abc123`; the first request warms its cache, every measured one is a cache hit that
 * answers 302 and appends a click to the Redis stream (no worker drains it: the stream's growth over
 * a few hundred thousand entries costs Redis, not the measured processes).
 */
async function redirectService(): Promise<{ url: string; proc: ChildProcess; stop: () => Promise<void> }> {
  const db = await createTestDatabase();
  const redis = await startTestRedis();
  const admin = createPool(db.adminUrl, { max: 1 });
  const owner = (await admin.query<{ id: string }>(`INSERT INTO core.users (email, password_hash) VALUES ('bench@example.com', 'x') RETURNING id`)).rows[0]!.id;
  await admin.query(`INSERT INTO links.links (owner_id, code, destination) VALUES ($1, 'abc123', 'https://example.com/landing')`, [owner]);
  await admin.end();
  const port = await freePort();
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'redirect/src/server.ts')], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: db.roleUrl('redirect_service'), REDIS_URL: redis.url, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(proc);
  await waitForPort(port, '127.0.0.1', 30_000);
  return {
    url: `http://127.0.0.1:${port}`,
    proc,
    stop: async () => {
      if (proc.exitCode === null) {
        proc.kill('SIGTERM');
        await once(proc, 'exit');
      }
      await redis.stop();
      await db.drop();
    },
  };
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

/** Self time by function and by area from a V8 .cpuprofile (Chrome DevTools' "bottom-up" view, flattened). */
function summarize(file: string, fromUs: number): void {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number };
  const byNode = new Map<number, ProfileNode>(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  const area = new Map<string, number>();
  let total = 0;
  // V8 stamps samples on the monotonic clock process.hrtime reads: the start-up (module loading,
  // config parsing) is left out, only samples from the first request run on are counted
  let at = p.startTime;
  p.samples.forEach((id, i) => {
    const n = byNode.get(id);
    const dt = p.timeDeltas[i] ?? 0;
    at += dt;
    if (!n || at < fromUs) return;
    const f = n.callFrame;
    const where = f.url.replace(/^file:\/\//, '').replace(root + '/', '');
    const key = `${f.functionName || '(anonymous)'} ${where ? `${where.split('/node_modules/').pop()}:${f.lineNumber + 1}` : ''}`.trim();
    self.set(key, (self.get(key) ?? 0) + dt);
    const a =
      f.functionName === '(idle)' ? 'idle'
      : f.functionName === '(garbage collector)' ? 'GC'
      : f.functionName === '(program)' ? 'V8/native (program)'
      : where.startsWith('gateway/') ? 'gateway/src'
      : where.includes('undici') ? 'undici'
      : where.startsWith('node:') || where === '' ? `node core${where === '' ? ' (native)' : ''}`
      : 'other libraries';
    area.set(a, (area.get(a) ?? 0) + dt);
    total += dt;
  });
  const busy = total - (area.get('idle') ?? 0);
  const pct = (v: number) => `${((100 * v) / busy).toFixed(1)} %`;
  console.log(`\ngateway CPU profile (${file}), share of busy time:`);
  console.table([...area].filter(([k]) => k !== 'idle').sort((a, b) => b[1] - a[1]).map(([k, v]) => ({ area: k, share: pct(v) })));
  console.table([...self].filter(([k]) => !k.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, 25).map(([k, v]) => ({ function: k, self: pct(v) })));
}

const REDIRECT_DIRECT = 'redirect service (direct)';
const REDIRECT_VIA = 'gateway → redirect service (short link)';

async function main(): Promise<void> {
  const up = await child('upstream.ts', {});
  const upstream = `http://127.0.0.1:${up.port}`;
  const floorHttp = await child('floor.ts', { UPSTREAM_URL: upstream, FLOOR_CLIENT: 'http' });
  const floorUndici = await child('floor.ts', { UPSTREAM_URL: upstream, FLOOR_CLIENT: 'undici' });

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-bench-'));
  fs.writeFileSync(path.join(dir, 'bench.yml'), dynamicConfig(upstream));
  // the same upstream under every name the repository's configuration routes to
  const urls = { CORE_URL: upstream, MEDIA_URL: upstream, HASURA_URL: upstream, REDIRECT_URL: upstream };
  const profileDir = profile ? fs.mkdtempSync(path.join(os.tmpdir(), 'gw-prof-')) : undefined;
  const gw = await gateway(dir, urls);
  const site = await gateway(path.join(root, 'gateway/dynamic'), urls, profileDir);
  // another build of gateway/src (e.g. a copy of the previous commit's, inside the repository so
  // its imports resolve) on the same short-link configuration: a before/after in one run
  const compareSrc = process.env.BENCH_COMPARE_SRC ? path.resolve(process.env.BENCH_COMPARE_SRC) : undefined;
  const before = compareSrc ? await gateway(path.join(root, 'gateway/dynamic'), urls, undefined, compareSrc) : undefined;
  const redirect = process.env.BENCH_REDIRECT === '0' ? undefined : await redirectService();
  const toRedirect = redirect ? await gateway(path.join(root, 'gateway/dynamic'), { ...urls, REDIRECT_URL: redirect.url }) : undefined;

  const targets: Record<string, { url: string; pid: number | undefined; redirects?: boolean }> = {
    direct: { url: `${upstream}/proxy/x`, pid: up.proc.pid },
    'floor (node:http proxy)': { url: `http://127.0.0.1:${floorHttp.port}/proxy/x`, pid: floorHttp.proc.pid },
    'floor (undici proxy)': { url: `http://127.0.0.1:${floorUndici.port}/proxy/x`, pid: floorUndici.proc.pid },
    'gateway: short link (gateway/dynamic)': { url: `http://127.0.0.1:${site.port}/abc123`, pid: site.proc.pid },
    ...(before ? { 'gateway: short link, BENCH_COMPARE_SRC build': { url: `http://127.0.0.1:${before.port}/abc123`, pid: before.proc.pid } } : {}),
    'gateway (headers)': { url: `http://127.0.0.1:${gw.port}/proxy/x`, pid: gw.proc.pid },
    'gateway (headers + forwardAuth)': { url: `http://127.0.0.1:${gw.port}/auth/x`, pid: gw.proc.pid },
    ...(redirect && toRedirect
      ? {
          [REDIRECT_DIRECT]: { url: `${redirect.url}/abc123`, pid: redirect.proc.pid, redirects: true },
          [REDIRECT_VIA]: { url: `http://127.0.0.1:${toRedirect.port}/abc123`, pid: toRedirect.proc.pid, redirects: true },
        }
      : {}),
  };
  type Name = string;
  const names = Object.keys(targets);
  const results = Object.fromEntries(names.map((n) => [n, [] as Measured[]])) as Record<Name, Measured[]>;
  const of = (name: Name) => results[name] as Measured[];
  const only = process.env.BENCH_SCENARIOS?.split(',').map((x) => x.trim()).filter(Boolean);
  const chosen = names.filter((n) => n === 'direct' || (n === REDIRECT_DIRECT && names.includes(REDIRECT_VIA) && (!only || only.some((o) => REDIRECT_VIA.includes(o)))) || !only || only.some((o) => n.includes(o)));
  const profileFrom = Number(process.hrtime.bigint() / 1000n);
  for (let i = 0; i < rounds; i++) for (const k of chosen) of(k).push(await run(k, (targets[k] as { url: string }).url, targets[k]?.pid, targets[k]?.redirects));
  const median = (rs: Measured[]) => [...rs].sort((a, b) => a.requests.average - b.requests.average)[Math.floor(rs.length / 2)] as Measured;
  const medianCpu = (rs: Measured[]) => {
    const v = rs.map((r) => r.cpuUsPerReq).filter((x): x is number => x !== undefined).sort((a, b) => a - b);
    return v.length ? +(v[Math.floor(v.length / 2)] as number).toFixed(1) : '-';
  };
  const direct = median(of('direct'));
  const row = (name: Name) => {
    const r = median(of(name));
    return {
      scenario: name,
      'req/s': Math.round(r.requests.average),
      'p50 ms': r.latency.p50,
      'p99 ms': r.latency.p99,
      'ratio vs direct': +(r.requests.average / direct.requests.average).toFixed(3),
      // per round, then the median: each round's scenarios ran minutes apart at most
      'ratios per round': of(name).map((x, i) => (x.requests.average / (of('direct')[i] as Measured).requests.average).toFixed(2)).join(' '),
      'p99 added ms': +(r.latency.p99 - direct.latency.p99).toFixed(2),
      // direct: the upstream's; otherwise the proxy's or the gateway's (median over the rounds)
      'server CPU µs/req': medianCpu(of(name)),
    };
  };
  console.log(
    `\nNode gateway benchmark: ${connections} connections, ${duration} s per run, median of ${rounds} interleaved rounds, Node ${process.version}, ${os.availableParallelism()} CPUs, load average ${os.loadavg()[0]!.toFixed(1)}`,
  );
  console.table(chosen.map(row));
  if (chosen.includes(REDIRECT_VIA) && chosen.includes(REDIRECT_DIRECT)) {
    // issue 18 §5: the short link through the gateway against the redirect service hit directly
    const d = of(REDIRECT_DIRECT);
    const v = of(REDIRECT_VIA);
    const ratio = median(v).requests.average / median(d).requests.average;
    console.log(
      `\nshort link through the gateway vs the redirect service directly: ${ratio.toFixed(3)}× (median rounds; per round ${v.map((x, i) => (x.requests.average / (d[i] as Measured).requests.average).toFixed(2)).join(' ')}); ` +
        `p99 ${median(d).latency.p99} → ${median(v).latency.p99} ms; target (issue 18 §5) ≥ 0.5×`,
    );
  }
  fs.rmSync(dir, { recursive: true, force: true });
  await redirect?.stop();
  if (profileDir) {
    site.proc.kill('SIGTERM');
    await once(site.proc, 'exit');
    const file = fs.readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'));
    if (file) summarize(path.join(profileDir, file), profileFrom);
    else console.log(`no profile written in ${profileDir}`);
  }
}

main()
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  });

/**
 * `npm run bench:gateway -w @linkport/gateway`: the same GETs straight to a trivial upstream and
 * through the Node gateway (access log on, to /dev/null), in one run. The upstream and the gateway
 * are child processes so autocannon does not share their event loop. Scenarios:
 *   direct     → upstream
 *   proxy      → gateway: request-id, secure-headers, cors → upstream
 *   auth       → gateway: the same + forwardAuth (to the same trivial upstream) → upstream
 * Reports requests/s, p50/p99 latency, the throughput ratio and the p99 the gateway adds, and (on
 * Linux) the CPU time the gateway process spends per request: unlike req/s, that figure hardly moves
 * with the neighbours' load, so it is the one to compare across runs on a shared machine.
 * The scenarios run interleaved for BENCH_ROUNDS rounds and the median round is reported, since
 * the build machines are shared (load from parallel jobs swings single runs).
 * Env: BENCH_DURATION (s per run, default 5), BENCH_CONNECTIONS (default 50), BENCH_ROUNDS (default 3).
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { freePort, waitForPort } from '@linkport/devstack';

// autocannon ships no types; this is the slice used (loaded untyped so other workspaces' ambient
// declarations of the module do not matter here).
interface Result {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  errors: number;
  non2xx: number;
}
const autocannon = createRequire(import.meta.url)('autocannon') as (o: { url: string; connections: number; duration: number }) => Promise<Result>;

const duration = Number(process.env.BENCH_DURATION ?? 5);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
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
  /** CPU microseconds per request of the process serving the URL (gateway, or upstream for direct). */
  cpuUsPerReq?: number;
}

async function run(name: string, url: string, pid: number | undefined): Promise<Measured> {
  // warm-up (JIT, keep-alive pools), then the measured run
  await autocannon({ url, connections, duration: 1 });
  const before = cpuMs(pid);
  const r: Measured = await autocannon({ url, connections, duration });
  const after = cpuMs(pid);
  if (before !== undefined && after !== undefined && r.requests.total > 0) r.cpuUsPerReq = ((after - before) * 1000) / r.requests.total;
  const bad = r.non2xx + r.errors;
  if (bad > 0) throw new Error(`${name}: ${r.non2xx} non-2xx, ${r.errors} errors (incl. timeouts)`);
  return r;
}

async function main(): Promise<void> {
  const upPort = await freePort();
  const up = fork(path.join(import.meta.dirname, 'upstream.ts'), { env: { ...process.env, PORT: String(upPort) }, execArgv: ['--import', 'tsx'], stdio: 'ignore' });
  children.push(up);
  await waitForPort(upPort);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-bench-'));
  fs.writeFileSync(path.join(dir, 'bench.yml'), dynamicConfig(`http://127.0.0.1:${upPort}`));
  const gwPort = await freePort();
  const devNull = fs.openSync('/dev/null', 'w');
  const gw = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'gateway/src/server.ts')], {
    env: { ...process.env, PORT: String(gwPort), GATEWAY_DYNAMIC_DIR: dir, CORE_URL: `http://127.0.0.1:${upPort}`, LOG_LEVEL: 'warn', GATEWAY_ACCESS_LOG: 'stdout' },
    stdio: ['ignore', devNull, 'inherit'],
  });
  children.push(gw);
  await waitForPort(gwPort, '127.0.0.1', 20_000);

  const targets = { direct: `http://127.0.0.1:${upPort}/proxy/x`, proxy: `http://127.0.0.1:${gwPort}/proxy/x`, auth: `http://127.0.0.1:${gwPort}/auth/x` };
  const pids = { direct: up.pid, proxy: gw.pid, auth: gw.pid };
  const results: Record<keyof typeof targets, Measured[]> = { direct: [], proxy: [], auth: [] };
  for (let i = 0; i < rounds; i++) for (const k of Object.keys(targets) as Array<keyof typeof targets>) results[k].push(await run(k, targets[k], pids[k]));
  const median = (rs: Measured[]) => [...rs].sort((a, b) => a.requests.average - b.requests.average)[Math.floor(rs.length / 2)] as Measured;
  const medianCpu = (rs: Measured[]) => {
    const v = rs.map((r) => r.cpuUsPerReq).filter((x): x is number => x !== undefined).sort((a, b) => a - b);
    return v.length ? +(v[Math.floor(v.length / 2)] as number).toFixed(1) : '-';
  };
  const direct = median(results.direct);
  const proxy = median(results.proxy);
  const auth = median(results.auth);

  const row = (name: string, r: Measured, all: Measured[]) => ({
    scenario: name,
    'req/s': Math.round(r.requests.average),
    'p50 ms': r.latency.p50,
    'p99 ms': r.latency.p99,
    'ratio vs direct': +(r.requests.average / direct.requests.average).toFixed(3),
    'p99 added ms': +(r.latency.p99 - direct.latency.p99).toFixed(2),
    // direct: the upstream's; otherwise the gateway's (median over the rounds)
    'server CPU µs/req': medianCpu(all),
  });
  console.log(
    `\nNode gateway benchmark: ${connections} connections, ${duration} s per run, median of ${rounds} interleaved rounds, Node ${process.version}, ${os.availableParallelism()} CPUs, load average ${os.loadavg()[0]!.toFixed(1)}`,
  );
  console.table([row('direct', direct, results.direct), row('gateway (headers)', proxy, results.proxy), row('gateway (headers + forwardAuth)', auth, results.auth)]);
  fs.rmSync(dir, { recursive: true, force: true });
}

main()
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => {
    for (const c of children) c.kill('SIGTERM');
  });

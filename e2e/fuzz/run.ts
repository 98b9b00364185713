/**
 * `npm run fuzz` — structured hostile input at every public route through the gateway (issue 11,
 * "Tests and figures"). Starts the whole stack on free loopback ports (or targets `--url`), runs a
 * bounded, seeded fuzz, and exits non-zero on any violation:
 *   - a 5xx other than 503 with Retry-After (deliberate overload); 502 and 504 never;
 *   - a request without an answer (reset, or nothing within the timeout);
 *   - an answer that leaks internals (stack traces, file paths, SQL, private addresses, secrets);
 *   - forged identity headers accepted without a credential;
 *   - a process of the stack that exited or was restarted by the launcher (own stack only);
 *   - a benign request (GraphQL query, redirect) failing, or its p99 above 3× the quiet p99.
 *
 *   npm run fuzz -- [--duration 60] [--requests 20000] [--seed 1] [--concurrency 8]
 *                   [--url http://127.0.0.1:8080] [--only 12,345] [--bound 3]
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ALLOW } from './allow.ts';
import { fatalLine, formatReport, judge, runFuzz, stackIntegrity, stackSecrets, type Violation } from './fuzzer.ts';
import { BEHIND_PROXY_ENV, startOwnStack, type OwnStack } from './stack.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '60' },
    requests: { type: 'string', default: '20000' },
    seed: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '4' },
    url: { type: 'string' },
    only: { type: 'string' },
    bound: { type: 'string', default: '3' },
    'quiet-samples': { type: 'string', default: '150' },
    'ws-share': { type: 'string', default: '0.08' },
    'no-spoof': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  console.log(helpText());
  process.exit(0);
}

function helpText(): string {
  return `npm run fuzz -- [--duration S] [--requests N] [--seed N] [--concurrency N] [--url GATEWAY] [--only i,j] [--bound 3] [--no-spoof]
  --url       fuzz a running gateway (loopback only) instead of starting a stack; with --url the gateway must trust
              127.0.0.1's X-Forwarded-For (GATEWAY_TRUSTED_IPS=127.0.0.1) or pass --no-spoof (most requests then meet 429)
  --only      rerun the listed case indexes of --seed (what a violation report names)`;
}

function tail(file: string, n: number): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).map((l) => l.slice(0, 600)).join('\n');
  } catch (err) {
    return `(unreadable: ${(err as Error).message})`;
  }
}

function num(name: string, v: string | undefined): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) {
    console.error(`--${name} must be a non-negative number, got ${v}`);
    process.exit(2);
  }
  return n;
}

async function main(): Promise<number> {
  const bound = num('bound', values.bound);
  let own: OwnStack | undefined;
  let gateway = values.url;
  if (gateway) {
    const host = new URL(gateway).hostname;
    if (!['127.0.0.1', 'localhost', '::1', '[::1]'].includes(host)) {
      console.error(`--url must be a loopback address (the fuzzer never leaves this machine), got ${host}`);
      return 2;
    }
  } else {
    console.log('# starting the stack (free ports, own data dir)…');
    own = await startOwnStack({ extraEnv: BEHIND_PROXY_ENV });
    gateway = own.stack.endpoints.gateway?.replace('localhost', '127.0.0.1');
    if (!gateway) throw new Error('the stack has no gateway');
  }
  const stopOnSignal = () => void own?.stop().finally(() => process.exit(130));
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  try {
    const pidsBefore = own ? { ...own.stack.pids } : {};
    const mark = own?.logLines.length ?? 0;
    const raw = await runFuzz({
      gateway,
      repoRoot,
      seed: num('seed', values.seed),
      durationMs: num('duration', values.duration) * 1000,
      maxRequests: num('requests', values.requests),
      concurrency: Math.max(1, num('concurrency', values.concurrency)),
      wsShare: num('ws-share', values['ws-share']),
      wsConcurrency: 2,
      spoofClients: !values['no-spoof'],
      quietSamples: Math.max(20, num('quiet-samples', values['quiet-samples'])),
      requestTimeoutMs: 20_000,
      secrets: own ? stackSecrets(own.stack) : { literals: [], privateAddresses: [] },
      allow: ALLOW,
      only: values.only ? values.only.split(',').map((s) => num('only', s)) : undefined,
      log: (l) => console.log(l),
      pids: own ? () => own.stack.pids : undefined,
      crashCause: own ? (name) => fatalLine(path.join(own.stack.dataDir, 'logs', `${name}.log`)) : undefined,
    });
    // Let a crash that the last requests caused surface (the launcher reports exits asynchronously).
    await new Promise((r) => setTimeout(r, 1_500));
    const integrity = own ? stackIntegrity(own.stack, pidsBefore, own.logLines.slice(mark)) : [];
    if (own) {
      const health = await own.stack.check();
      for (const h of health) if (!h.ok) integrity.push(`health after the fuzz: ${h.name} ${h.url} → ${h.status}`);
    }
    // Exits the fuzz saw are already violations (with their cause); anything else is one now.
    const seen = new Set(raw.crashes.map((c) => c.process));
    const extra: Violation[] = integrity
      .filter((p) => ![...seen].some((name) => p.startsWith(`${name}:`) || p.includes(`✖ ${name} `) || p.includes(`✔ ${name} `)))
      .map((p) => ({ index: -1, atMs: NaN, family: 'stack', kind: 'process exit', detail: p, request: '' }));
    const report = judge(raw, extra, ALLOW);
    console.log(formatReport(report, bound));
    const slow = Object.entries(report.latency).filter(([, l]) => !(l.fuzzP99 <= bound * l.quietP99));
    if (integrity.length) {
      console.log(`\nprocesses: ${integrity.join('\n  ')}`);
      // The crashed service's own words, before the data dir (and its logs) go.
      const logs = new Set(integrity.flatMap((l) => /\(log: ([^)]+)\)/.exec(l)?.[1] ?? []));
      for (const file of logs) console.log(`\n--- tail of ${file}\n${tail(file, 25)}`);
    }
    for (const [k, l] of slow) console.log(`\nLATENCY: benign ${k} p99 ${l.fuzzP99.toFixed(1)} ms under fuzz > ${bound}× quiet ${l.quietP99.toFixed(1)} ms`);
    const failed = report.violations.length > 0 || (values.only ? false : slow.length > 0);
    console.log(failed ? '\nfuzz: FAILED' : '\nfuzz: passed');
    return failed ? 1 : 0;
  } finally {
    await own?.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  },
);

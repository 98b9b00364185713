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
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ALLOW } from './allow.ts';
import { formatReport, judge, runFuzz, type FuzzReport } from './fuzzer.ts';
import { fuzzOwnStack } from './session.ts';
import { BEHIND_PROXY_ENV, startOwnStack } from './stack.ts';

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
    'skip-known-crashers': { type: 'boolean', default: false },
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
  --only      rerun the listed case indexes of --seed (what a violation report names)
  --skip-known-crashers  do not send the case families allow.ts marks avoidInTest (as npm test does)`;
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
  const common = {
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
    only: values.only ? values.only.split(',').map((s) => num('only', s)) : undefined,
    log: (l: string) => console.log(l),
    // What e2e/test/fuzz.test.ts leaves out while a known crash is open (AllowEntry.avoidInTest).
    avoidFamilies: values['skip-known-crashers'] ? ALLOW.flatMap((a) => (a.avoidInTest ? [a.avoidInTest] : [])) : undefined,
  };
  let report: FuzzReport;
  let integrity: string[] = [];
  if (values.url) {
    const host = new URL(values.url).hostname;
    if (!['127.0.0.1', 'localhost', '::1', '[::1]'].includes(host)) {
      console.error(`--url must be a loopback address (the fuzzer never leaves this machine), got ${host}`);
      return 2;
    }
    // A running stack: no pids to watch and no secrets known; the answers are still judged.
    report = judge(await runFuzz({ ...common, gateway: values.url.replace(/\/$/, ''), secrets: { literals: [], privateAddresses: [] }, allow: ALLOW }), [], ALLOW);
  } else {
    console.log('# starting the stack (free ports, own data dir)…');
    const own = await startOwnStack({ extraEnv: BEHIND_PROXY_ENV });
    const stopOnSignal = () => void own.stop().finally(() => process.exit(130));
    process.once('SIGINT', stopOnSignal);
    process.once('SIGTERM', stopOnSignal);
    try {
      const s = await fuzzOwnStack(own, common);
      report = s.report;
      integrity = s.integrity;
      for (const t of s.logTails) console.log(`\n--- tail of ${t.file}\n${t.text}`);
    } finally {
      await own.stop();
    }
  }
  console.log(formatReport(report, bound));
  if (integrity.length) console.log(`\nprocesses: ${integrity.join('\n  ')}`);
  const slow = Object.entries(report.latency).filter(([, l]) => !(l.fuzzP99 <= bound * l.quietP99));
  for (const [k, l] of slow) console.log(`\nLATENCY: benign ${k} p99 ${l.fuzzP99.toFixed(1)} ms under fuzz > ${bound}× quiet ${l.quietP99.toFixed(1)} ms`);
  const failed = report.violations.length > 0 || (values.only ? false : slow.length > 0);
  console.log(failed ? '\nfuzz: FAILED' : '\nfuzz: passed');
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  },
);

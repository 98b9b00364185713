/**
 * The launcher proper, run by start.ts in a process group of its own (supervise.ts says why).
 * Everything is in stack.ts; this file owns the process — its signals and its exit code.
 */
import { LauncherError } from './errors.ts';
import { startStack, type RunningStack } from './stack.ts';
import { watchParent } from './supervise.ts';

const args = process.argv.slice(2);
const verbose = args.includes('--verbose') || args.includes('-v');
const checkOnly = args.includes('--check');
const help = args.includes('--help') || args.includes('-h');
const prometheus = args.includes('--prometheus');

if (help) {
  console.log(`npm start [-- --verbose] [-- --check] [-- --prometheus]
  --verbose     copy every service's log lines to this terminal (they always go to .data/logs/<name>.log)
  --check       start, verify every health endpoint through the gateway, stop; exit 0 when healthy
  --prometheus  also start Debian's prometheus (installed when missing, as root) on 127.0.0.1:9090
                (PROMETHEUS_PORT), scraping every /metrics with the rules of docker/observability
Overrides (env): DATABASE_URL, REDIS_URL, S3_ENDPOINT (+ S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, S3_BUCKET),
  HASURA_URL; ports GATEWAY_PORT CORE_PORT MEDIA_PORT HASURA_PORT REDIRECT_PORT PG_PORT REDIS_PORT S3_PORT PROMETHEUS_PORT;
  LINKPORT_DATA_DIR, LINKPORT_SERVICES (e.g. core,gateway or none), LINKPORT_NO_INSTALL=1, LOG_LEVEL.`);
  process.exit(0);
}

const aborter = new AbortController();
let stack: RunningStack | undefined;
let signalled: NodeJS.Signals | undefined;
let stopping: Promise<void> | undefined;

function shutdown(code: number): void {
  stopping ??= (async () => {
    const started = Date.now();
    await stack?.stop();
    if (stack) console.log(`stopped in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    process.exit(code);
  })();
}

function onSignal(sig: NodeJS.Signals): void {
  if (signalled) {
    console.error(`${sig} again: still stopping (children get SIGKILL after their grace period)…`);
    return;
  }
  signalled = sig;
  console.log(`\n${sig}: stopping…`);
  aborter.abort(new Error(`stopped by ${sig}`));
  // Before startup finished, startStack stops what it started and rejects; the catch below exits.
  if (stack) shutdown(0);
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => onSignal(sig));
// The relay in start.ts was killed outright: nobody is left to forward Ctrl-C, so stop now.
watchParent(() => onSignal('SIGTERM'));

try {
  stack = await startStack({ verbose, prometheus, signal: aborter.signal });
} catch (err) {
  if (signalled) process.exit(0);
  console.error(err instanceof LauncherError ? err.message : err);
  process.exit(1);
}

console.log(`\nLinkport is up:\n${stack.table}`);

if (checkOnly) {
  const results = await stack.check();
  for (const r of results) console.log(`${r.ok ? '✔' : '✖'} ${r.name.padEnd(10)} ${r.url} → ${r.status}`);
  const healthy = results.every((r) => r.ok);
  console.log(healthy ? `check passed (${results.length} endpoints)` : 'check FAILED');
  shutdown(healthy ? 0 : 1);
} else if (!signalled) {
  console.log('Ctrl-C stops everything.');
  void stack.failure.then((report) => {
    if (signalled || stopping) return;
    console.error(`\n${report}\nstopping the rest of the stack…`);
    shutdown(1);
  });
}

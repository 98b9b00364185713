import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pidAlive } from './procs.ts';

export const INNER_ENV = 'LINKPORT_LAUNCHER_INNER';
/** Set in every service's environment: the launcher's pid, which the service watches (common/src/runtime.ts). */
export const SUPERVISOR_ENV = 'LINKPORT_SUPERVISOR_PID';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where the launcher keeps `run.json` (the same rule as config.ts, without its imports). */
export function dataDirOf(env: NodeJS.ProcessEnv, root = repoRoot): string {
  return path.resolve(env.LINKPORT_DATA_DIR ?? path.join(root, '.data'));
}

/**
 * Re-runs this CLI in its own process group and relays signals to it.
 *
 * Why a group of its own: a terminal's Ctrl-C sends SIGINT to the whole foreground process group,
 * and PostgreSQL and redis-server would stop at once while the services are still draining into
 * them. In a group of its own, the stack only hears what this relay forwards, and stops in order:
 * services, Redis, S3, PostgreSQL. This process imports nothing heavy (about 30 MB).
 *
 * What reaches `npm start` is not always a signal to this process:
 * - `kill -TERM <npm>` (timeout, systemd, a CI runner): npm passes it to its `sh -c`, which dies
 *   without passing it on, and this relay is orphaned. So the relay watches its ancestors (the
 *   shell and npm above it) and stops the stack when one goes.
 * - the launcher itself killed outright (SIGKILL): the relay reads the launcher's run.json and ends
 *   every process it had started.
 */
export function superviseSelf(): void {
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    detached: true,
    // stdin ignored: a background process group reading the terminal would be stopped (SIGTTIN).
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, [INNER_ENV]: String(process.pid) },
  });
  const forward = (sig: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => forward(sig));
  const ancestors = ancestry(process.pid);
  const timer = setInterval(() => {
    if (!ancestryIntact(ancestors)) {
      clearInterval(timer);
      forward('SIGTERM');
    }
  }, 300);
  timer.unref();
  child.once('error', (err) => {
    console.error(`could not start the launcher: ${err.message}`);
    process.exit(1);
  });
  child.once('exit', (code, signal) => {
    if (signal === 'SIGKILL') {
      console.error('the launcher was killed (SIGKILL): stopping what it had started…');
      void reapLeftovers(child.pid ?? 0, dataDirOf(process.env)).then(() => process.exit(1));
      return;
    }
    process.exit(code ?? (signal ? 1 : 0));
  });
}

/**
 * In the inner process: calls `onOrphaned` when the relay died without relaying anything (SIGKILL),
 * so the stack still stops instead of running unattended.
 */
export function watchParent(onOrphaned: () => void): void {
  const relay = Number(process.env[INNER_ENV]);
  if (!relay) return;
  const timer = setInterval(() => {
    if (process.ppid !== relay) {
      clearInterval(timer);
      onOrphaned();
    }
  }, 300);
  timer.unref();
}

function parentOf(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after comm (which may hold spaces and parentheses): state, ppid, …
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

function commOf(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

/**
 * The links to watch: [self → parent], and [shell → its parent] when the parent is the `sh -c` npm
 * runs scripts with (npm → sh → node). A link that changes means that ancestor died.
 */
function ancestry(pid: number): Array<[pid: number, parent: number]> {
  const out: Array<[number, number]> = [];
  const parent = parentOf(pid);
  if (parent === undefined || parent <= 1) return out;
  out.push([pid, parent]);
  const grand = parentOf(parent);
  if (/^(sh|dash|bash)$/.test(commOf(parent)) && grand !== undefined && grand > 1) out.push([parent, grand]);
  return out;
}

function ancestryIntact(chain: Array<[number, number]>): boolean {
  if (chain.length === 0) return true; // no /proc, or started by PID 1: nothing to watch
  return chain.every(([pid, parent]) => parentOf(pid) === parent);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));


function killGroup(pgid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pgid, sig);
  } catch {
    // gone
  }
}

/** The kernel's start time of `pid` (clock ticks since boot, /proc/<pid>/stat field 22): with the pid, a process's identity. */
function startOf(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/**
 * After the launcher was SIGKILLed: its own process group (PostgreSQL, redis-server, S3 ran in it)
 * and each service's group (from run.json) get SIGTERM, then SIGKILL after 10 s. A pid is signalled
 * only while it is still the process it was when reaping began: a pid freed meanwhile may already
 * belong to someone else (a backend of another PostgreSQL, another test's redis-server).
 */
async function reapLeftovers(launcherPid: number, dataDir: string): Promise<void> {
  let recorded: number[] = [];
  try {
    const run = JSON.parse(fs.readFileSync(path.join(dataDir, 'run.json'), 'utf8')) as { launcherPid?: number; pids?: Record<string, number> };
    if (run.launcherPid === launcherPid) recorded = Object.values(run.pids ?? {});
  } catch {
    // no run file yet: only the launcher's own group
  }
  const identity = new Map(recorded.filter((p) => p > 1).map((p) => [p, startOf(p)] as const).filter(([, st]) => st !== undefined));
  const same = (p: number) => identity.has(p) && startOf(p) === identity.get(p) && pidAlive(p);
  const pids = [...identity.keys()];
  const signal = (sig: NodeJS.Signals) => {
    // Groups first (a group id stays reserved while any member lives); the launcher's own group is
    // signalled only once, now, while its members are surely ours.
    for (const p of pids) if (same(p)) killGroup(p, sig);
    for (const p of pids) if (same(p)) process.kill(p, sig);
  };
  if (launcherPid > 1) killGroup(launcherPid, 'SIGTERM');
  signal('SIGTERM');
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && pids.some(same)) await sleep(100);
  signal('SIGKILL');
}

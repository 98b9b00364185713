/**
 * Runs the real launcher (`node --import tsx launcher/src/start.ts`) as a child process, the way a
 * developer does, with its own temporary data dir and free ports, so runs never collide with a
 * running `npm start` or with each other.
 *
 * The services other engineers are writing may not exist yet, or may not boot at a given commit:
 * these tests run the infrastructure (PostgreSQL, Redis, S3, migrations) plus stand-in services
 * from test/fixtures through LINKPORT_EXTRA_SERVICES, with LINKPORT_SERVICES=none. The real
 * services are exercised by `launcher.real.test.ts` when LINKPORT_TEST_REAL_SERVICES=1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@linkport/devstack/testing';
import { stackPortVariables } from '../src/services.ts';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const fixture = (name: string) => path.join(root, 'launcher', 'test', 'fixtures', name);

export function tempDataDir(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'linkport-launcher-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Every port the launcher may bind, on free ports. */
export async function portEnv(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const n of stackPortVariables()) out[n] = String(await freePort());
  return out;
}

export interface Launch {
  proc: ChildProcess;
  /** stdout + stderr so far. */
  output(): string;
  stderr(): string;
  waitFor(re: RegExp, timeoutMs?: number): Promise<void>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
}

export function launch(env: Record<string, string>, args: string[] = []): Launch {
  const base = { ...process.env };
  // The launcher must see only what the test gives it: no override leaking from the caller's shell.
  for (const k of ['DATABASE_URL', 'REDIS_URL', 'S3_ENDPOINT', 'HASURA_URL', 'LINKPORT_DATA_DIR', 'LINKPORT_SERVICES', 'LINKPORT_EXTRA_SERVICES']) delete base[k];
  const proc = spawn(process.execPath, ['--import', 'tsx', 'launcher/src/start.ts', ...args], {
    cwd: root,
    env: { ...base, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const waiters: Array<() => void> = [];
  const notify = () => waiters.forEach((w) => w());
  proc.stdout.on('data', (d: Buffer) => ((out += d.toString()), notify()));
  proc.stderr.on('data', (d: Buffer) => ((out += d.toString()), (err += d.toString()), notify()));
  let signalledAt = 0;
  const origKill = proc.kill.bind(proc);
  proc.kill = (sig?: NodeJS.Signals | number) => ((signalledAt = Date.now()), origKill(sig));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal, ms: signalledAt ? Date.now() - signalledAt : 0 })),
  );
  return {
    proc,
    output: () => out,
    stderr: () => err,
    exit,
    waitFor: (re, timeoutMs = 60_000) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re}; output:\n${out}`)), timeoutMs);
        const check = () => {
          if (re.test(out)) {
            clearTimeout(timer);
            resolve();
          }
        };
        waiters.push(check);
        void exit.then(() => {
          check();
          clearTimeout(timer);
          if (!re.test(out)) reject(new Error(`launcher exited before ${re}; output:\n${out}`));
        });
        check();
      }),
  };
}

export interface RunFile {
  launcherPid: number;
  pids: Record<string, number>;
  urls?: Record<string, string>;
}

export const readRun = (dataDir: string) => JSON.parse(fs.readFileSync(path.join(dataDir, 'run.json'), 'utf8')) as RunFile;

/** Alive and not a zombie (an orphan re-parented to a non-reaping PID 1 stays a zombie). */
export function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** The stand-in service's LINKPORT_EXTRA_SERVICES entry. */
export function fakeService(name: string, port: string, extra: Record<string, unknown> = {}) {
  return { name, entry: fixture('fake-service.mjs'), port: Number(port), readiness: '/health', ...extra };
}

function startOf(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/**
 * A cleanup that SIGKILLs these processes if they are still running — and only them: a pid that was
 * freed and reused by the time the cleanup runs (another test's PostgreSQL backend or redis-server)
 * is recognised by its start time and left alone.
 */
export function killLater(pids: Record<string, number>): () => void {
  const seen = Object.values(pids).map((pid) => [pid, startOf(pid)] as const);
  return () => {
    for (const [pid, start] of seen) {
      if (start !== undefined && startOf(pid) === start && alive(pid)) process.kill(pid, 'SIGKILL');
    }
  };
}

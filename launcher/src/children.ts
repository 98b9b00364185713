import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { groupMembers, signalGroup, sleep, waitUntil } from './procs.ts';

/** How the launcher knows a child is up (CONTRIBUTING.md "Ports and processes"). */
export type Readiness =
  /** Any path answering 2xx means ready; a server answering 404 on every path is up but has no such route. */
  | { kind: 'http'; paths: string[] }
  | { kind: 'tcp' }
  /** No port (the click worker): alive a short while after spawning. */
  | { kind: 'started' };

export interface ChildSpec {
  name: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  logFile: string;
  /** Append to the log file instead of starting it anew (a restart). */
  append?: boolean;
  /** Each output line, for `--verbose`. */
  onLine?: (name: string, line: string) => void;
}

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const TAIL_LINES = 30;

/**
 * One service process. It runs in its own process group (`detached`) so that a terminal's Ctrl-C
 * reaches only the launcher, which then stops the children in order, and so that one signal to the
 * group also reaches whatever the child spawned (tsx, workers): no grandchild outlives the stack.
 */
export class Child {
  readonly name: string;
  readonly logFile: string;
  readonly process: ChildProcess;
  readonly pid: number;
  readonly exited: Promise<ChildExit>;
  private readonly tail: string[] = [];
  private stopRequested = false;

  constructor(spec: ChildSpec) {
    this.name = spec.name;
    this.logFile = spec.logFile;
    const log = fs.createWriteStream(spec.logFile, { flags: spec.append ? 'a' : 'w' });
    this.process = spawn(process.execPath, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // spawn reports a missing executable asynchronously ('error'); the pid is then undefined.
    this.pid = this.process.pid ?? -1;
    let closed = false;
    this.process.once('close', () => (closed = true));
    this.exited = new Promise((resolve) => {
      this.process.once('error', (err) => {
        this.push(`spawn failed: ${err.message}`);
        resolve({ code: -1, signal: null });
      });
      // 'exit' can come before the last output is read; 'close' waits for it, but never comes while
      // a grandchild still holds the pipes — so wait for it a little, not forever.
      this.process.once('exit', (code, signal) => {
        const done = () => resolve({ code, signal });
        if (closed) return done();
        this.process.once('close', done);
        setTimeout(done, 500).unref();
      });
    });
    for (const stream of [this.process.stdout, this.process.stderr]) {
      let partial = '';
      stream?.on('data', (chunk: Buffer) => {
        if (!log.writableEnded) log.write(chunk);
        const lines = (partial + chunk.toString('utf8')).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          this.push(line);
          spec.onLine?.(this.name, line);
        }
      });
      stream?.on('end', () => {
        if (partial) {
          this.push(partial);
          spec.onLine?.(this.name, partial);
        }
      });
    }
    this.process.once('close', () => log.end());
  }

  private push(line: string): void {
    this.tail.push(line);
    if (this.tail.length > TAIL_LINES) this.tail.shift();
  }

  get running(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null && this.pid > 0;
  }

  get stopping(): boolean {
    return this.stopRequested;
  }

  tailLines(): string[] {
    return [...this.tail];
  }

  /**
   * SIGTERM to the whole group (the services drain on it: common/src/shutdown.ts), SIGKILL to
   * whatever of the group is left after `timeoutMs`. Resolves once no member of the group is alive.
   */
  async stop(timeoutMs: number): Promise<void> {
    this.stopRequested = true;
    if (this.pid <= 0) return;
    signalGroup(this.pid, 'SIGTERM');
    const gone = await waitUntil(() => !this.running && groupMembers(this.pid).length === 0, timeoutMs);
    if (gone) return;
    signalGroup(this.pid, 'SIGKILL');
    await waitUntil(() => !this.running && groupMembers(this.pid).length === 0, 2000);
  }
}

export class ChildExitedError extends Error {
  constructor(
    readonly child: Child,
    readonly exit: ChildExit,
  ) {
    super(`${child.name} exited ${describeExit(exit)}`);
    this.name = 'ChildExitedError';
  }
}

export function describeExit(exit: ChildExit): string {
  return exit.signal ? `on signal ${exit.signal}` : `with code ${exit.code}`;
}

/** The message shown when a child dies: its last lines, so the cause is on screen. */
export function failureReport(child: Child, exit: ChildExit): string {
  const tail = child.tailLines();
  return [
    `✖ ${child.name} exited unexpectedly ${describeExit(exit)}. Last ${tail.length} lines of ${child.logFile}:`,
    ...tail.map((l) => `  │ ${l}`),
  ].join('\n');
}

async function httpStatus(url: string): Promise<number | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1500) });
    await res.body?.cancel();
    return res.status;
  } catch {
    return undefined;
  }
}

function tcpOpen(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(port, host);
    sock.setTimeout(1000, () => {
      sock.destroy();
      resolve(false);
    });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

export interface ReadyOptions {
  readiness: Readiness;
  host: string;
  port: number | undefined;
  timeoutMs: number;
  signal?: AbortSignal;
}

/** Resolves when the child is ready; rejects when it exits first, on timeout, or on abort. */
export async function waitReady(child: Child, opts: ReadyOptions): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let last = 'no answer yet';
  let exit: ChildExit | undefined;
  void child.exited.then((e) => (exit = e));
  for (;;) {
    opts.signal?.throwIfAborted();
    if (exit || !child.running) throw new ChildExitedError(child, exit ?? (await child.exited));
    const { readiness } = opts;
    if (readiness.kind === 'started') {
      await sleep(500);
      if (child.running) return;
      continue;
    }
    if (opts.port === undefined) throw new Error(`${child.name}: readiness by ${readiness.kind} needs a port`);
    if (readiness.kind === 'tcp') {
      if (await tcpOpen(opts.port, opts.host)) return;
      last = `port ${opts.port} closed`;
    } else {
      const statuses: Array<number | undefined> = [];
      for (const p of readiness.paths) {
        const status = await httpStatus(`http://${opts.host}:${opts.port}${p}`);
        if (status !== undefined && status >= 200 && status < 300) return;
        statuses.push(status);
      }
      if (statuses.every((s) => s === 404)) return;
      last = readiness.paths.map((p, i) => `${p} → ${statuses[i] ?? 'no answer'}`).join(', ');
    }
    if (Date.now() > deadline) {
      throw new Error(`${child.name} was not ready after ${Math.round(opts.timeoutMs / 1000)} s (${last}); its log: ${child.logFile}`);
    }
    await sleep(150);
  }
}

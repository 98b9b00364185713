import fs from 'node:fs';
import path from 'node:path';
import { ALLOW, type AllowEntry } from './allow.ts';
import { fatalLine, judge, runFuzz, stackIntegrity, stackSecrets, type FuzzOptions, type FuzzReport, type Violation } from './fuzzer.ts';
import type { OwnStack } from './stack.ts';

export interface Session {
  report: FuzzReport;
  /** Process-level findings: replaced pids, launcher restart lines, health after the run. */
  integrity: string[];
  /** The last lines of each crashed service's log, read before the data dir goes. */
  logTails: Array<{ file: string; text: string }>;
}

/** Runs the fuzzer against a stack of our own, then checks the stack survived it. */
export async function fuzzOwnStack(own: OwnStack, opts: Omit<FuzzOptions, 'gateway' | 'secrets' | 'allow' | 'pids' | 'crashCause'> & { allow?: AllowEntry[] }): Promise<Session> {
  const gateway = own.stack.endpoints.gateway?.replace('localhost', '127.0.0.1');
  if (!gateway) throw new Error('the stack has no gateway');
  const allow = opts.allow ?? ALLOW;
  const pidsBefore = { ...own.stack.pids };
  const mark = own.logLines.length;
  const raw = await runFuzz({
    ...opts,
    gateway,
    secrets: stackSecrets(own.stack),
    allow,
    pids: () => own.stack.pids,
    crashCause: (name) => fatalLine(path.join(own.stack.dataDir, 'logs', `${name}.log`)),
  });
  // A crash the last requests caused surfaces asynchronously; a restart in progress needs its backoff.
  await new Promise((r) => setTimeout(r, 1_500));
  const integrity = stackIntegrity(own.stack, pidsBefore, own.logLines.slice(mark));
  let unhealthy: string[] = [];
  for (let i = 0; i < 20; i++) {
    unhealthy = (await own.stack.check()).filter((h) => !h.ok).map((h) => `health after the fuzz: ${h.name} ${h.url} → ${h.status}`);
    if (unhealthy.length === 0) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  integrity.push(...unhealthy);
  // Exits the fuzz saw are violations already (with their cause); anything else becomes one here.
  const seen = [...new Set(raw.crashes.map((c) => c.process))];
  const extra: Violation[] = integrity
    .filter((p) => !seen.some((name) => p.startsWith(`${name}:`) || p.includes(`✖ ${name} `) || p.includes(`✔ ${name} `)))
    .map((p) => ({ index: -1, atMs: NaN, family: 'stack', kind: 'process exit', detail: p, request: '' }));
  const report = judge(raw, extra, allow);
  const files = new Set(integrity.flatMap((l) => /\(log: ([^)]+)\)/.exec(l)?.[1] ?? []));
  const logTails = [...files].map((file) => ({ file, text: tail(file, 25) }));
  return { report, integrity, logTails };
}

function tail(file: string, n: number): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).map((l) => l.slice(0, 600)).join('\n');
  } catch (err) {
    return `(unreadable: ${(err as Error).message})`;
  }
}

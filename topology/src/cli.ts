/**
 * `npm run topology -- up|down|status` (topology/README.md). `up` starts the supervisor detached,
 * waits until everything answers, prints where; `down` sends it SIGTERM and waits for every recorded
 * PID to be gone; `status` shows each process and its readiness.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { defaultOptions, repoRoot, type TopologyState } from './topology.ts';
import { isAlive } from './redis-cluster.ts';

const cmd = process.argv[2] ?? 'status';
const opts = defaultOptions(process.env, () => {});
const stateFile = path.join(opts.dataDir, 'topology.json');
const readState = (): TopologyState | undefined => (fs.existsSync(stateFile) ? (JSON.parse(fs.readFileSync(stateFile, 'utf8')) as TopologyState) : undefined);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function up(): Promise<number> {
  const prev = readState();
  if (prev && isAlive(prev.supervisorPid)) {
    console.error(`the topology already runs (supervisor pid ${prev.supervisorPid}); \`npm run topology -- down\` first`);
    return 1;
  }
  // A fresh topology each time: it is a proving ground, not a place to keep data, and a database
  // migrated by an older checkout would refuse today's migrations.
  fs.rmSync(opts.dataDir, { recursive: true, force: true });
  fs.mkdirSync(opts.dataDir, { recursive: true });
  const logFile = path.join(opts.dataDir, 'supervisor.log');
  const out = fs.openSync(logFile, 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'topology/src/supervisor.ts')], { cwd: repoRoot, detached: true, stdio: ['ignore', out, out], env: process.env });
  child.unref();
  fs.closeSync(out);
  console.log(`starting (supervisor pid ${child.pid}, log ${logFile})…`);
  const deadline = Date.now() + 300_000;
  for (;;) {
    const s = readState();
    if (s?.ready) break;
    if (!child.pid || !isAlive(child.pid)) {
      console.error(`the topology failed to start:\n${fs.readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n')}`);
      return 1;
    }
    if (Date.now() > deadline) {
      console.error('not ready after 300 s; see the log');
      return 1;
    }
    await sleep(500);
  }
  return status();
}

async function down(): Promise<number> {
  const s = readState();
  if (!s || !isAlive(s.supervisorPid)) {
    const left = (s?.processes ?? []).filter((p) => isAlive(p.pid));
    // a supervisor killed -9 leaves its children: stop them by their recorded PIDs
    for (const p of left) process.kill(p.pid, 'SIGTERM');
    console.log(left.length ? `supervisor gone; sent SIGTERM to ${left.length} leftover processes` : 'the topology is not running');
    return 0;
  }
  process.kill(s.supervisorPid, 'SIGTERM');
  const deadline = Date.now() + 60_000;
  while (isAlive(s.supervisorPid) && Date.now() < deadline) await sleep(200);
  const left = s.processes.filter((p) => isAlive(p.pid));
  if (isAlive(s.supervisorPid) || left.length) {
    console.error(`still running after 60 s: ${[s.supervisorPid, ...left.map((p) => p.pid)].join(' ')}`);
    return 1;
  }
  console.log('stopped');
  return 0;
}

async function status(): Promise<number> {
  const s = readState();
  if (!s || !isAlive(s.supervisorPid)) {
    console.log('the topology is not running');
    return 3;
  }
  console.log(`gateway        ${s.gateway}\npostgres       ${s.databaseUrl.replace(/:[^:@]*@/, ':***@')}\nreplica        ${s.replicaUrl.replace(/:[^:@]*@/, ':***@')}\nredis cluster  ${s.redisCluster}\nredis          ${s.redis}\ns3             ${s.s3}\n`);
  let bad = 0;
  for (const p of s.processes) {
    const alive = isAlive(p.pid);
    const ready = p.health ? await fetch(p.health, { signal: AbortSignal.timeout(2000) }).then((r) => r.status, () => 'down') : '-';
    if (!alive || (p.health && ready !== 200)) bad++;
    console.log(`${p.name.padEnd(18)} pid ${String(p.pid).padEnd(8)} ${alive ? 'alive' : 'GONE '}  ${String(ready).padEnd(5)} ${p.url ?? ''}`);
  }
  return bad ? 2 : 0;
}

const handlers: Record<string, () => Promise<number>> = { up, down, status };
const h = handlers[cmd];
if (!h) {
  console.error('usage: npm run topology -- up|down|status');
  process.exit(64);
}
process.exit(await h());

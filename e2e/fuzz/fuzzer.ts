import fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { getIntrospectionQuery, type IntrospectionQuery } from 'graphql';
import type { RunningStack } from '@linkport/launcher';
import type { AllowEntry } from './allow.ts';
import { excerpt, findLeak, type Secrets } from './checks.ts';
import { schemaInfo, type GqlSchemaInfo } from './gen/graphql.ts';
import { httpCase, loadRestEndpoints, loadRoutes, type FuzzCase, type Route, type Targets } from './gen/http.ts';
import { Rand } from './gen/rand.ts';
import { sendRaw } from './raw.ts';
import type { ProberData, ProberResult } from './prober.ts';
import { runWsCase, wsCase, type WsCase } from './ws.ts';
import { pidAlive } from '@linkport/launcher';

export const BROWSER_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';

export interface FuzzOptions {
  /** The gateway's base URL (the only port the fuzzer talks to). */
  gateway: string;
  repoRoot: string;
  seed: number;
  durationMs: number;
  maxRequests: number;
  concurrency: number;
  /** Share of cases that are WebSocket connections, and how many may be open at once. */
  wsShare: number;
  wsConcurrency: number;
  /** The gateway trusts our X-Forwarded-For (a CDN in front): spread clients over many addresses. */
  spoofClients: boolean;
  /** Benign samples per kind before the fuzzing starts (the quiet p99). */
  quietSamples: number;
  requestTimeoutMs: number;
  secrets: Secrets;
  allow: AllowEntry[];
  /** Families not sent (AllowEntry.avoidInTest); counted as `skipped` in the table. */
  avoidFamilies?: RegExp[];
  /** Run only these case indexes (reproduction). */
  only?: number[];
  log: (line: string) => void;
  /** The stack's live pids (own stack): a change during the fuzz names the cases in flight. */
  pids?: () => Record<string, number>;
  /** Why a process died, from its own log (the fatal line). */
  crashCause?: (process: string) => string;
}

export interface CrashEvent {
  process: string;
  atMs: number;
  /** Cases in flight when the change was seen, and those finished within the last second. */
  suspects: Array<{ index: number; family: string; request: string }>;
}

export interface Violation {
  index: number;
  /** When it was seen, from the start of the fuzz (NaN: not tied to a moment). */
  atMs: number;
  family: string;
  kind: string;
  detail: string;
  /** How to send it again: method, path, headers and body excerpts. */
  request: string;
}

export interface LatencyFigures {
  graphql: { quietP99: number; fuzzP99: number; quietN: number; fuzzN: number };
  redirect: { quietP99: number; fuzzP99: number; quietN: number; fuzzN: number };
}

export interface FuzzReport {
  seed: number;
  cases: number;
  elapsedMs: number;
  families: Map<string, Map<string, number>>;
  violations: Violation[];
  allowed: Array<{ violation: Violation; entry: AllowEntry }>;
  unusedAllow: AllowEntry[];
  latency: LatencyFigures;
  crashes: CrashEvent[];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function p99(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(s.length * 0.99) - 1)] as number;
}

/** One seeded draw per case index: `(seed, index)` is the whole recipe of a case. */
function randFor(seed: number, index: number): Rand {
  const [g] = fc.sample(fc.gen(), { seed: (Math.imul(seed, 1_000_003) + index) | 0, numRuns: 1 });
  return new Rand(g as fc.GeneratorValue);
}

interface Identity {
  access: string;
  refresh: string;
}

/** Plain requests of the set-up and of the benign prober (fetch: they are not the hostile part). */
class Client {
  private n = 0;
  constructor(
    private readonly gw: string,
    private readonly spoof: boolean,
    private readonly net: number,
  ) {}

  /** A fresh client address per request when the gateway trusts us: no bucket is shared. */
  headers(extra: Record<string, string> = {}): Record<string, string> {
    this.n++;
    return this.spoof ? { 'x-forwarded-for': `198.${this.net}.${(this.n >> 8) & 255}.${(this.n & 255) || 1}`, ...extra } : extra;
  }

  async json<T>(method: string, path: string, opts: { token?: string; body?: unknown } = {}): Promise<{ status: number; body: T }> {
    const res = await fetch(this.gw + path, {
      method,
      headers: this.headers({
        ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
        ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
      }),
      body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
    });
    const text = await res.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
    return { status: res.status, body: body as T };
  }

  async register(tag: string): Promise<Identity> {
    const email = `${tag}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}@example.com`;
    const r = await this.json<{ access_token: string; refresh_token: string }>('POST', '/v1/core/auth/register', { body: { email, password: 'correct horse battery', display_name: tag } });
    if (r.status !== 201) throw new Error(`register ${tag}: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
    return { access: r.body.access_token, refresh: r.body.refresh_token };
  }

  async gql<T>(token: string, query: string, variables?: Record<string, unknown>): Promise<T> {
    const r = await this.json<{ data?: T; errors?: unknown }>('POST', '/v1/links/graphql', { token, body: { query, variables } });
    if (r.status !== 200 || !r.body.data) throw new Error(`graphql: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
    return r.body.data;
  }
}

export const LINK_PASSWORD = 'open sesame 42';

/** Users, links (plain and password-protected), an API key and an asset to aim at; the live schema. */
async function setUp(c: Client, log: (l: string) => void): Promise<{ targets: Omit<Targets, 'host' | 'spoofClients'>; info: GqlSchemaInfo; fuzzUsers: Identity[] }> {
  const users = [await c.register('fuzz-a'), await c.register('fuzz-b')];
  const ids: string[] = [];
  const codes: string[] = [];
  const passwordCodes: string[] = [];
  const apiKeys: string[] = [];
  for (const [i, u] of users.entries()) {
    for (let k = 0; k < 3; k++) {
      const d = await c.gql<{ insert_links_links_one: { id: string; code: string } }>(u.access, 'mutation($d: String!) { insert_links_links_one(object: {destination: $d}) { id code } }', {
        d: `https://example.com/fuzz/${i}/${k}`,
      });
      ids.push(d.insert_links_links_one.id);
      codes.push(d.insert_links_links_one.code);
    }
    try {
      const d = await c.gql<{ insert_links_links_one: { id: string; code: string } }>(
        u.access,
        'mutation($d: String!, $p: String!) { insert_links_links_one(object: {destination: $d, password: $p}) { id code } }',
        { d: `https://example.com/fuzz/${i}/secret`, p: LINK_PASSWORD },
      );
      passwordCodes.push(d.insert_links_links_one.code);
    } catch (err) {
      log(`# no password-protected link (${(err as Error).message.slice(0, 120)}): the password form is fuzzed on unknown codes only`);
    }
    const key = await c.json<{ id: string; key: string }>('POST', '/v1/core/api-keys', { token: u.access, body: { name: `fuzz-${i}`, scopes: i === 0 ? ['links:read', 'links:write'] : ['links:read'] } });
    if (key.status === 201) {
      apiKeys.push(key.body.key);
      ids.push(key.body.id);
    }
    const up = await c.json<{ id: string }>('POST', '/v1/media/uploads', { token: u.access, body: { filename: 'a.png', contentType: 'image/png', size: 68, visibility: 'public' } });
    if (up.status === 201) ids.push(up.body.id);
  }
  const intro = await c.json<{ data?: IntrospectionQuery }>('POST', '/v1/links/graphql', { token: users[0]!.access, body: { query: getIntrospectionQuery() } });
  const info = schemaInfo(intro.body.data);
  if (!info.schema) log('# introspection refused for the user role: GraphQL documents are generated without the schema');
  return { targets: { tokens: users.map((u) => u.access), refreshTokens: users.map((u) => u.refresh), apiKeys, ids, codes, passwordCodes }, info, fuzzUsers: users };
}

function describe(req: FuzzCase['req']): string {
  const headers = req.headers.map(([k, v]) => `${k}: ${excerpt(v, 80)}`).join(' | ');
  return `${req.method} ${excerpt(req.path, 200)} headers[${headers}] body=${excerpt(req.body, 240)}`;
}

function describeWs(c: WsCase): string {
  return `WS /v1/links/graphql protocol=${excerpt(c.protocol, 60)} frames(${c.frames.length})=[${c.frames.slice(0, 3).map((f) => excerpt(f, 160)).join(', ')}${c.frames.length > 3 ? ', …' : ''}]`;
}

/** Routes that need a credential (everything of core and media except the credential endpoints and public docs). */
function needsCredential(family: string): boolean {
  return /^(core|media) /.test(family) && !/auth\/(register|login|refresh|logout)|jwks|openapi|docs/.test(family);
}

export async function runFuzz(o: FuzzOptions): Promise<FuzzReport> {
  const url = new URL(o.gateway);
  const host = url.hostname;
  const port = Number(url.port || 80);
  const setupClient = new Client(o.gateway, o.spoofClients, 18);
  const { targets: t0, info } = await setUp(setupClient, o.log);
  const targets: Targets = { ...t0, host: `${host}:${port}`, spoofClients: o.spoofClients };
  const routes: Route[] = loadRoutes(o.repoRoot);
  const rest = loadRestEndpoints(o.repoRoot);

  // The benign prober: its own user, link and client addresses; never shares a bucket with the fuzz.
  const benign = new Client(o.gateway, o.spoofClients, 19);
  const bUser = await benign.register('benign');
  const bLink = await benign.gql<{ insert_links_links_one: { code: string } }>(bUser.access, 'mutation { insert_links_links_one(object: {destination: "https://example.com/benign"}) { code } }');
  const bCode = bLink.insert_links_links_one.code;
  // A worker does not inherit `--import tsx`: it registers tsx itself, then loads the prober.
  const proberUrl = new URL('./prober.ts', import.meta.url).href;
  const prober = new Worker(`import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(proberUrl)}); });`, {
    eval: true,
    workerData: { gateway: o.gateway, token: bUser.access, code: bCode, spoof: o.spoofClients, userAgent: BROWSER_UA } satisfies ProberData,
  });
  const ask = (msg: unknown, reply: string) =>
    new Promise<ProberResult>((resolve, reject) => {
      const onMsg = (m: { type: string; result: ProberResult }) => {
        if (m.type !== reply) return;
        prober.off('message', onMsg);
        resolve(m.result);
      };
      prober.on('message', onMsg);
      prober.once('error', reject);
      prober.postMessage(msg);
    });
  const quiet = await ask({ type: 'quiet', n: o.quietSamples }, 'quiet-done');
  o.log(`# quiet p99: graphql ${p99(quiet.graphql).toFixed(1)} ms, redirect ${p99(quiet.redirect).toFixed(1)} ms (${o.quietSamples} samples each)`);
  const underFuzz = ask({ type: 'run' }, 'run-done');

  const families = new Map<string, Map<string, number>>();
  const tally = (family: string, outcome: string) => {
    const m = families.get(family) ?? new Map<string, number>();
    m.set(outcome, (m.get(outcome) ?? 0) + 1);
    families.set(family, m);
  };
  const violations: Violation[] = [];
  const secrets = o.secrets;
  let fuzzing = true;

  // New fuzz identities now and then: the fuzz may log its users out, change their passwords, delete them.
  const refresher = (async () => {
    while (fuzzing) {
      await sleep(5_000);
      if (!fuzzing) break;
      try {
        const u = await setupClient.register('fuzz-r');
        targets.tokens.push(u.access);
        targets.refreshTokens.push(u.refresh);
        if (targets.tokens.length > 6) targets.tokens.shift();
      } catch {
        // Registration may be rate limited or refused under fuzz; the old identities remain.
      }
    }
  })();

  const start = performance.now();
  const deadline = start + o.durationMs;
  let next = 0;
  let wsOpen = 0;
  const indexes = o.only;
  const takeIndex = (): number | undefined => {
    if (indexes) return next < indexes.length ? indexes[next++] : undefined;
    if (next >= o.maxRequests || performance.now() > deadline) return undefined;
    return next++;
  };
  const wsUrl = `${o.gateway.replace(/^http/, 'ws')}/v1/links/graphql`;
  const inFlight = new Map<number, { family: string; request: string }>();
  const recent: Array<{ index: number; family: string; request: string; endMs: number }> = [];
  const crashes: CrashEvent[] = [];
  const watcher = (async () => {
    if (!o.pids) return;
    const reported = new Set<number>();
    while (fuzzing) {
      await sleep(100);
      const t = performance.now();
      for (const [name, pid] of Object.entries(o.pids())) {
        // A pid is reported once: when it is seen dead (the launcher replaces it after its backoff).
        if (reported.has(pid) || alive(pid)) continue;
        reported.add(pid);
        const suspects = [...[...inFlight].map(([index, x]) => ({ index, ...x })), ...recent.filter((x) => t - x.endMs < 1_000)];
        crashes.push({ process: name, atMs: t - start, suspects });
        const cause = o.crashCause?.(name) ?? 'unknown cause';
        violations.push({
          index: suspects[0]?.index ?? -1,
          atMs: t - start,
          family: 'stack',
          kind: 'process exit',
          detail: `${name} (pid ${pid}) exited: ${cause}`,
          request: `one of cases ${suspects.map((x) => x.index).join(', ')}`,
        });
      }
    }
  })();

  const done = (index: number) => {
    const x = inFlight.get(index);
    inFlight.delete(index);
    if (x) recent.push({ index, ...x, endMs: performance.now() });
    while (recent.length > 200) recent.shift();
  };
  const one = async (index: number) => {
    const r = randFor(o.seed, index);
    if (r.chance(o.wsShare)) {
      while (wsOpen >= o.wsConcurrency) await sleep(20);
      wsOpen++;
      const c = wsCase(r, info, targets.tokens.at(-1), o.spoofClients ? `198.51.${r.int(0, 255)}.${r.int(1, 254)}` : undefined);
      if (o.avoidFamilies?.some((re) => re.test(c.family))) {
        wsOpen--;
        tally(c.family, 'skipped');
        return;
      }
      inFlight.set(index, { family: c.family, request: describeWs(c) });
      try {
        const out = await runWsCase(wsUrl, c, o.requestTimeoutMs);
        const outcome = out.status !== 101 ? String(out.status) : out.closeCode !== undefined ? `close:${out.closeCode}` : out.closeReason.startsWith('client refused') ? 'no-subprotocol' : 'open';
        tally(c.family, outcome);
        const v = (kind: string, detail: string) => violations.push({ index, atMs: performance.now() - start, family: c.family, kind, detail, request: describeWs(c) });
        if (out.status >= 500) v('5xx on upgrade', `HTTP ${out.status}: ${excerpt(out.received.join(''), 200)}`);
        if (out.closeCode === 1011 || out.closeCode === 4500) v('internal error close', `close ${out.closeCode} ${excerpt(out.closeReason)}`);
        if (out.closeCode === 1006) v('connection dropped', `close 1006 without a close frame${out.error ? ` (${out.error})` : ''}`);
        const requestText = c.frames.map((f) => f.toString()).join('\n');
        for (const frame of out.received) {
          const leak = findLeak(frame, requestText, secrets);
          if (leak) {
            v('leak', `${leak} in ${excerpt(frame, 200)}`);
            break;
          }
        }
      } finally {
        wsOpen--;
        done(index);
      }
      return;
    }
    const c = httpCase(r, targets, routes, info, rest);
    if (o.avoidFamilies?.some((re) => re.test(c.family))) {
      tally(c.family, 'skipped');
      return;
    }
    inFlight.set(index, { family: c.family, request: describe(c.req) });
    const res = await sendRaw(host, port, c.req, o.requestTimeoutMs);
    done(index);
    const v = (kind: string, detail: string) => violations.push({ index, atMs: performance.now() - start, family: c.family, kind, detail, request: describe(c.req) });
    if (res.kind === 'no-answer') {
      tally(c.family, 'no-answer');
      v('no answer', `${res.reason} after ${res.ms.toFixed(0)} ms${res.wroteAll ? '' : ' (request not fully sent)'}`);
      return;
    }
    const { status, headers, body } = res.res;
    tally(c.family, String(status));
    if (status === 502 || status === 504) v(`${status}`, excerpt(body, 200));
    else if (status >= 500 && !(status === 503 && headers['retry-after'])) v('5xx', `HTTP ${status}: ${excerpt(body, 200)}`);
    const requestText = `${c.req.path.toString()}\n${c.req.headers.map(([k, val]) => `${k}: ${val.toString()}`).join('\n')}\n${c.req.body?.toString('utf8') ?? ''}`;
    const answer = `${Object.entries(headers)
      .map(([k, vals]) => `${k}: ${vals.join(', ')}`)
      .join('\n')}\n${body.toString('utf8')}`;
    const leak = findLeak(answer, requestText, secrets);
    if (leak) v('leak', leak);
    const routeMethod = c.family.split(' ')[1];
    if (c.spoofedIdentityOnly && status >= 200 && status < 300 && needsCredential(c.family) && c.req.method === routeMethod) {
      v('identity spoof accepted', `HTTP ${status} with forged identity headers and no credential: ${excerpt(body, 160)}`);
    }
  };

  const loops = Array.from({ length: indexes ? 1 : o.concurrency }, async () => {
    for (let i = takeIndex(); i !== undefined; i = takeIndex()) {
      try {
        await one(i);
      } catch (err) {
        violations.push({ index: i, atMs: performance.now() - start, family: 'fuzzer', kind: 'fuzzer error', detail: (err as Error).stack ?? String(err), request: `case ${i}` });
      }
    }
  });
  await Promise.all(loops);
  const elapsedMs = performance.now() - start;
  fuzzing = false;
  prober.postMessage({ type: 'stop' });
  const fuzzSamples = await underFuzz;
  await prober.terminate();
  await Promise.all([refresher, watcher]);
  for (const f of fuzzSamples.failures) violations.push({ index: -1, atMs: NaN, family: 'benign', kind: 'benign request failed under fuzz', detail: f, request: f.startsWith('graphql') ? 'POST /v1/links/graphql (benign user)' : `GET /${bCode}` });
  for (const f of quiet.failures) violations.push({ index: -1, atMs: NaN, family: 'benign', kind: 'benign request failed before the fuzz', detail: f, request: '' });

  return {
    seed: o.seed,
    cases: next,
    elapsedMs,
    families,
    violations,
    allowed: [],
    unusedAllow: [],
    latency: {
      graphql: { quietP99: p99(quiet.graphql), fuzzP99: p99(fuzzSamples.graphql), quietN: quiet.graphql.length, fuzzN: fuzzSamples.graphql.length },
      redirect: { quietP99: p99(quiet.redirect), fuzzP99: p99(fuzzSamples.redirect), quietN: quiet.redirect.length, fuzzN: fuzzSamples.redirect.length },
    },
    crashes,
  };
}

/** Kinds of violation a crash causes in the seconds after it (the gateway's upstream is gone). */
const AFTERMATH = new Set(['502', '5xx on upgrade', 'no answer', 'connection dropped', 'benign request failed under fuzz']);
const AFTERMATH_MS = 10_000;

/**
 * Splits violations into kept and allowed. An allow entry that matches a process exit also covers
 * that exit's aftermath — 502s and dropped connections in the next 10 s while the launcher
 * restarts it — since those are the same finding seen from the client side.
 */
export function judge(rep: FuzzReport, extra: Violation[], allow: AllowEntry[]): FuzzReport {
  const all = [...rep.violations, ...extra];
  const allowed: FuzzReport['allowed'] = [];
  const kept: Violation[] = [];
  const allowedExits: Array<{ atMs: number; entry: AllowEntry }> = [];
  for (const v of all) {
    const entry = allow.find((a) => a.match(v));
    if (entry && v.kind === 'process exit') allowedExits.push({ atMs: v.atMs, entry });
  }
  for (const v of all) {
    const entry = allow.find((a) => a.match(v)) ?? (AFTERMATH.has(v.kind) ? allowedExits.find((x) => v.atMs >= x.atMs - 1_000 && v.atMs <= x.atMs + AFTERMATH_MS)?.entry : undefined);
    if (entry) allowed.push({ violation: v, entry });
    else kept.push(v);
  }
  return { ...rep, violations: kept, allowed, unusedAllow: allow.filter((a) => !allowed.some((x) => x.entry === a)) };
}

/** The fatal line of a service's log (pino level 60, or the last line): why it died. */
export function fatalLine(logFile: string): string {
  try {
    const lines = fs.readFileSync(logFile, 'utf8').trimEnd().split('\n');
    for (let i = lines.length - 1; i >= 0 && i >= lines.length - 200; i--) {
      const line = lines[i] ?? '';
      if (line.includes('"level":60') || line.includes('"level":50')) {
        try {
          const j = JSON.parse(line) as { msg?: string; err?: { type?: string; message?: string } };
          return `${j.err?.type ?? ''} ${j.err?.message ?? j.msg ?? ''}`.trim();
        } catch {
          return line.slice(0, 300);
        }
      }
    }
    return (lines.at(-1) ?? '').slice(0, 300);
  } catch {
    return 'no log';
  }
}

/** No process of the stack exited or was restarted: same pids, all alive, no restart report. */
export function stackIntegrity(stack: RunningStack, pidsBefore: Record<string, number>, logLines: string[]): string[] {
  const problems: string[] = [];
  for (const [name, pid] of Object.entries(pidsBefore)) {
    const now = stack.pids[name];
    if (now !== pid) problems.push(`${name}: pid ${pid} replaced by ${now ?? 'nothing'} (it exited and was restarted)`);
    else if (!alive(pid)) problems.push(`${name}: pid ${pid} is gone`);
  }
  for (const line of logLines) if (/restart|exited|crash/i.test(line)) problems.push(`launcher: ${line.split('\n')[0]}`);
  return problems;
}

const alive = pidAlive;

/** Secrets and private addresses of a stack, for the leak check. */
export function stackSecrets(stack: RunningStack): Secrets {
  const privateAddresses: string[] = [];
  for (const [name, u] of Object.entries(stack.endpoints.services)) {
    if (name === 'gateway') continue;
    const p = new URL(u).port;
    privateAddresses.push(`127.0.0.1:${p}`, `localhost:${p}`);
  }
  for (const u of [stack.endpoints.databaseUrl, stack.endpoints.redisUrl]) {
    const p = new URL(u).port;
    privateAddresses.push(`127.0.0.1:${p}`, `localhost:${p}`);
  }
  return { literals: [stack.endpoints.hasuraAdminSecret, stack.endpoints.s3.secretAccessKey], privateAddresses };
}

export function formatReport(rep: FuzzReport, bound: number): string {
  const lines: string[] = [];
  lines.push(`fuzz: seed ${rep.seed}, ${rep.cases} cases in ${(rep.elapsedMs / 1000).toFixed(1)} s`);
  const rows = [...rep.families].sort(([a], [b]) => a.localeCompare(b));
  const width = Math.max(12, ...rows.map(([f]) => f.length));
  lines.push(`${'route family'.padEnd(width)}  ${'n'.padStart(6)}  outcomes`);
  const totals = new Map<string, number>();
  for (const [family, outcomes] of rows) {
    const n = [...outcomes.values()].reduce((s, x) => s + x, 0);
    const desc = [...outcomes]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, x]) => `${k}×${x}`)
      .join(' ');
    for (const [k, x] of outcomes) totals.set(k, (totals.get(k) ?? 0) + x);
    lines.push(`${family.padEnd(width)}  ${String(n).padStart(6)}  ${desc}`);
  }
  lines.push(`${'all'.padEnd(width)}  ${String([...totals.values()].reduce((s, x) => s + x, 0)).padStart(6)}  ${[...totals].sort(([a], [b]) => a.localeCompare(b)).map(([k, x]) => `${k}×${x}`).join(' ')}`);
  lines.push('');
  lines.push(`benign p99 (ms)   quiet    under fuzz   ratio   bound ${bound}×`);
  for (const [k, l] of Object.entries(rep.latency)) {
    const ratio = l.fuzzP99 / l.quietP99;
    lines.push(`${k.padEnd(16)} ${l.quietP99.toFixed(1).padStart(6)} (n=${l.quietN})  ${l.fuzzP99.toFixed(1).padStart(6)} (n=${l.fuzzN})  ${ratio.toFixed(2).padStart(5)}  ${ratio <= bound ? 'ok' : 'OVER'}`);
  }
  if (rep.allowed.length) {
    lines.push('', `allowed (known, allow-listed in e2e/fuzz/allow.ts): ${rep.allowed.length}`);
    const byEntry = new Map<AllowEntry, number>();
    for (const a of rep.allowed) byEntry.set(a.entry, (byEntry.get(a.entry) ?? 0) + 1);
    for (const [e, n] of byEntry) lines.push(`  ${e.id} ×${n}: ${e.reason}`);
  }
  for (const e of rep.unusedAllow) lines.push(`  allow-list entry ${e.id} matched nothing this run: remove it once its fix is confirmed`);
  for (const c of rep.crashes) {
    lines.push('', `CRASH: ${c.process} gone at ${(c.atMs / 1000).toFixed(1)} s; cases in flight or just answered (reproduce with --only):`);
    for (const s of c.suspects.slice(0, 12)) lines.push(`  case ${s.index} [${s.family}] ${s.request}`);
  }
  if (rep.violations.length) {
    lines.push('', `VIOLATIONS: ${rep.violations.length} (reproduce one with --seed ${rep.seed} --only <case>)`);
    for (const v of rep.violations.slice(0, 40)) lines.push(`  case ${v.index} [${v.family}] ${v.kind}: ${v.detail}\n      ${v.request}`);
    if (rep.violations.length > 40) lines.push(`  … and ${rep.violations.length - 40} more`);
  }
  return lines.join('\n');
}

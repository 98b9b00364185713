/**
 * Issue 11's chaos run on the whole stack under the launcher (startStack, as `npm start`), every
 * request through the gateway: during a redirect burst over warm codes (answered once before, so
 * cached) and cold codes (each asked once), PostgreSQL is stopped for 5 s (fast shutdown), then
 * Redis for 5 s (SIGTERM, AOF on), each started again on its port with its data.
 *
 * Asserts: every request is answered — 302, or 503 with Retry-After for a cold code while
 * PostgreSQL is away; warm codes are always redirected; no service process exits or is restarted
 * by the launcher; and once the worker has caught up, every 302 is counted exactly once
 * (links.links.click_count, links.clicks rows, distinct click ids). The counts are printed.
 *
 * About 25 s on two cores (the stack's start included), so it runs in every `npm test`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { BROWSER_UA } from '../fuzz/fuzzer.ts';
import { alive, InfraControl } from '../fuzz/infra.ts';
import { BEHIND_PROXY_ENV, startOwnStack, type OwnStack } from '../fuzz/stack.ts';

const OUTAGE_MS = 5_000;
const WARM = 20;
const COLD = 6_000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function waitFor(fn: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

void test(
  'chaos: PostgreSQL down 5 s, then Redis down 5 s, under a redirect burst through the gateway',
  { timeout: 240_000 },
  async (t) => {
    let own: OwnStack | undefined;
    let infra: InfraControl | undefined;
    t.after(async () => {
      await own?.stop();
      await infra?.stop();
    });
    // Behind a trusted loopback proxy: each request has its own client address, so the redirect
    // rate limit (20/s per client) does not turn the burst into 429s.
    own = await startOwnStack({ extraEnv: { ...BEHIND_PROXY_ENV, LOG_LEVEL: process.env.CHAOS_DEBUG ? 'info' : 'warn' } });
    const { stack } = own;
    infra = new InfraControl(stack);
    const gw = stack.endpoints.gateway!.replace('localhost', '127.0.0.1');

    const admin = new pg.Pool({ connectionString: stack.endpoints.databaseUrl, max: 2 });
    admin.on('error', () => {}); // the outage ends its sessions too
    t.after(() => admin.end());
    const owner = (await admin.query<{ id: string }>(`INSERT INTO core.users (email, password_hash) VALUES ('chaos-e2e@example.com', 'x') RETURNING id`)).rows[0]!.id;
    await admin.query(
      `INSERT INTO links.links (owner_id, code, destination)
       SELECT $1::uuid, 'warm' || i, 'https://example.com/w' || i FROM generate_series(1, $2::int) i
       UNION ALL SELECT $1::uuid, 'cold' || i, 'https://example.com/c' || i FROM generate_series(1, $3::int) i`,
      [owner, WARM, COLD],
    );

    let client = 0;
    const visit = async (code: string) => {
      client++;
      const res = await fetch(`${gw}/${code}`, {
        redirect: 'manual',
        headers: { 'user-agent': BROWSER_UA, 'x-forwarded-for': `203.0.${(client >> 8) & 255}.${(client & 255) || 1}` },
      }).then(
        async (r) => {
          await r.arrayBuffer();
          return r;
        },
        () => undefined,
      );
      return { status: res?.status ?? 0, retryAfter: res?.headers.get('retry-after') ?? null };
    };
    let redirects = 0;
    for (let i = 1; i <= WARM; i++) {
      const r = await visit(`warm${i}`);
      assert.equal(r.status, 302, `warm${i} before the outage`);
      redirects++;
    }

    const pidsBefore = { ...stack.pids };
    const logMark = own.logLines.length;
    type Phase = 'before' | 'pg-down' | 'between' | 'redis-down' | 'after';
    let phase: Phase = 'before';
    const tally = new Map<string, number>();
    const bump = (k: string) => tally.set(k, (tally.get(k) ?? 0) + 1);
    let missingRetryAfter = 0;
    let warmNot302 = 0;
    let cold = 0;
    let running = true;
    const loop = async (id: number) => {
      let n = 0;
      while (running) {
        const isCold = n++ % 4 === 0 && cold < COLD;
        const code = isCold ? `cold${++cold}` : `warm${((n * 7 + id) % WARM) + 1}`;
        const at = phase;
        const r = await visit(code);
        bump(`${at}:${r.status}`);
        if (r.status === 302) redirects++;
        if (r.status === 503 && !r.retryAfter) missingRetryAfter++;
        if (!isCold && r.status !== 302) warmNot302++;
        await sleep(2);
      }
    };
    const ready = async () => (await fetch(`${stack.endpoints.services.redirect}/health/ready`)).status === 200;
    const loops = Array.from({ length: 6 }, (_, i) => loop(i));

    await sleep(1_500);
    phase = 'pg-down';
    await infra.stopPostgres();
    await sleep(OUTAGE_MS);
    await infra.startPostgres();
    phase = 'between';
    await waitFor(ready, 20_000, 'redirect ready after the PostgreSQL restart');
    await sleep(1_000);
    phase = 'redis-down';
    await infra.stopRedis();
    await sleep(OUTAGE_MS);
    await infra.startRedis();
    phase = 'after';
    await waitFor(ready, 20_000, 'redirect ready after the Redis restart');
    await sleep(1_500);
    running = false;
    await Promise.all(loops);

    const summary = JSON.stringify(Object.fromEntries([...tally].sort()));
    t.diagnostic(`chaos answers by phase: ${summary} (+${WARM} warm-up 302s)`);
    const unanswered = [...tally].filter(([k]) => k.endsWith(':0')).reduce((s, [, v]) => s + v, 0);
    assert.equal(unanswered, 0, `every request answered: ${summary}`);
    assert.deepEqual([...new Set([...tally.keys()].map((k) => k.split(':')[1]))].filter((s) => s !== '302' && s !== '503'), [], `only 302 and 503: ${summary}`);
    assert.equal(missingRetryAfter, 0, 'every 503 carries Retry-After');
    assert.equal(warmNot302, 0, `cached codes were always redirected: ${summary}`);
    assert.ok((tally.get('pg-down:302') ?? 0) > 0 && (tally.get('redis-down:302') ?? 0) > 0, `redirects continued in both outages: ${summary}`);

    // No service process exited or was restarted by the launcher's supervision.
    const services = Object.keys(pidsBefore).filter((k) => k !== 'postgres' && k !== 'redis');
    for (const name of services) {
      assert.equal(stack.pids[name], pidsBefore[name], `${name} was not restarted`);
      assert.ok(alive(pidsBefore[name]!), `${name} (pid ${pidsBefore[name]}) is alive`);
    }
    const launcherLines = own.logLines.slice(logMark).filter((l) => /restart|exited/i.test(l));
    assert.deepEqual(launcherLines, [], 'the launcher reported no exit or restart');

    // Every answered redirect is counted exactly once once the worker has caught up.
    const q = async (sql: string) => Number((await admin.query<{ n: string }>(sql, [owner])).rows[0]!.n);
    const countedSql = 'SELECT coalesce(sum(click_count), 0) AS n FROM links.links WHERE owner_id = $1';
    await waitFor(async () => (await q(countedSql)) >= redirects, 60_000, `${redirects} clicks counted`);
    await sleep(1_000);
    const counted = await q(countedSql);
    const rows = await q('SELECT count(*) AS n FROM links.clicks c JOIN links.links l ON l.id = c.link_id WHERE l.owner_id = $1');
    const distinct = await q('SELECT count(DISTINCT c.click_id) AS n FROM links.clicks c JOIN links.links l ON l.id = c.link_id WHERE l.owner_id = $1');
    t.diagnostic(`chaos counts: redirects answered 302 ${redirects}, click_count ${counted}, click rows ${rows}, distinct click ids ${distinct}`);
    assert.equal(counted, redirects, 'click_count = 302s');
    assert.equal(rows, redirects, 'one click row per 302');
    assert.equal(distinct, redirects, 'no click recorded twice');
  },
);

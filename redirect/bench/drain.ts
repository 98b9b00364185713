/**
 * The click worker's drain rate (issue 16 §2), every write path over the SAME stream in one run:
 *   legacy     — WORKER_SINK=legacy: four statements in a transaction per batch (the path before
 *                issue 16, which writes no hourly rollups);
 *   statement  — one links.ingest_clicks call per batch (raw rows, counters, visitors, hourly cube,
 *                account marginals, daily_stats), aggregated in SQL;
 *   batch      — the default: the same rows, aggregated in memory, one links.ingest_click_batch call
 *                (migration 1764900001700_links_ingest_fast); `batch:5000:2` the same with batches
 *                of 5000 entries and two worker processes in the group.
 *   before:<sink> — that sink with migrations 1764900001800_links_ingest_fewer_writes and
 *                1764900001810_links_ingest_account_fks reverted (down.sql applied before, up.sql
 *                after): the same code path with the foreign-key checks and the per-row
 *                links.click_dims_key calls they removed, as their same-run baseline.
 * Each path gets its own consumer group on the stream, and the database is emptied in between, so
 * both read the same entries. Exactness is checked after each: stream entries == rows ==
 * sum(click_count) + bots == rollups.
 *
 * Used by bench/redirect.ts phase (d) on the clicks its load produced, and standalone:
 *   node --import tsx redirect/bench/drain.ts [--clicks 300000] [--links 1000] [--batch 1000] [--sinks legacy,statement,batch,batch:5000]
 * which fills the stream itself (realistic agents, countries, referrers, UTM, A/B targets).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { Redis } from 'ioredis';
import { clickFields, type Click } from '../src/clicks/click.ts';

const root = path.resolve(import.meta.dirname, '../..');

export interface DrainResult {
  sink: string;
  clicks: number;
  seconds: number;
  rate: number;
  exact: boolean;
  detail: string;
  /** PostgreSQL CPU per click (the worker role's backends, user + system time), µs; undefined without /proc. */
  pgCpuUs?: number;
}

function startWorker(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'redirect/src/worker.ts')], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      out = (out + d.toString()).slice(-20_000);
      if (/click worker started/.test(out)) resolve(child);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`worker exited ${code}: ${out.slice(-2000)}`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/** The migrations whose effect `before:` sinks undo for their run, in the order they apply. */
const FEWER_WRITES = ['1764900001800_links_ingest_fewer_writes', '1764900001810_links_ingest_account_fks'].map((m) => path.join(root, 'migrations/default', m));
const migrationSql = (file: 'up.sql' | 'down.sql') =>
  (file === 'up.sql' ? FEWER_WRITES : [...FEWER_WRITES].reverse()).map((dir) => readFileSync(path.join(dir, file), 'utf8')).join(';\n');

/**
 * CPU seconds the worker role's PostgreSQL backends have used so far, by backend pid (Linux
 * /proc/<pid>/stat utime + stime; the bench's PostgreSQL is embedded on this machine). On a shared
 * 2-core machine wall-clock drain rates swing with the neighbours' load; the database's own CPU
 * per click moves far less, so it is the figure that judges a change to the write path.
 */
async function backendCpu(db: pg.Pool): Promise<Map<number, number> | undefined> {
  const pids = (await db.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE usename = 'redirect_service'`)).rows.map((r) => r.pid);
  const hz = 100; // USER_HZ: clock ticks per second of /proc/<pid>/stat on Linux
  const out = new Map<number, number>();
  try {
    for (const pid of pids) {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      out.set(pid, (Number(fields[11]) + Number(fields[12])) / hz);
    }
  } catch {
    return undefined; // not Linux, or PostgreSQL elsewhere
  }
  return out;
}

const num = async (db: pg.Pool, sql: string) => Number((await db.query<{ n: string | null }>(sql)).rows[0]!.n ?? 0);

/** Empties what a drain writes, so the next path starts from the same state. */
async function reset(db: pg.Pool): Promise<void> {
  // link_hourly_totals (migration 1764900001600) follows hourly_stats by triggers, which TRUNCATE skips.
  const totals = (await db.query<{ t: boolean }>(`SELECT to_regclass('links.link_hourly_totals') IS NOT NULL AS t`)).rows[0]!.t;
  await db.query(`TRUNCATE links.clicks, links.daily_stats, links.daily_visitors, links.hourly_stats, links.account_hourly_stats, links.account_daily_stats${totals ? ', links.link_hourly_totals' : ''}`);
  await db.query(`UPDATE links.links SET click_count = 0, last_clicked_at = NULL`);
  await db.query(`VACUUM ANALYZE links.links`);
}

/**
 * Drains the whole stream once per sink into an emptied database. `env` is the worker's
 * (DATABASE_URL, REDIS_URL...); `admin` a superuser pool on the same database.
 */
export async function drainBoth(admin: pg.Pool, redis: Redis, env: Record<string, string>, opts: { batch: number; stream?: string; sinks?: string[] }): Promise<DrainResult[]> {
  const stream = opts.stream ?? 'clicks';
  const entries = await redis.xlen(stream);
  const out: DrainResult[] = [];
  // before:/after pairs in both orders (ABBA): a drift along the run (the machine, autovacuum)
  // weighs on both sides of each comparison alike.
  for (const full of opts.sinks ?? ['legacy', 'before:statement', 'statement', 'batch', 'before:batch', 'batch:5000:2', 'before:batch', 'batch', 'statement', 'before:statement']) {
    const before = full.startsWith('before:');
    const spec = before ? full.slice('before:'.length) : full;
    const [sink = 'batch', size, n = '1'] = spec.split(':');
    await reset(admin);
    if (before) await admin.query(migrationSql('down.sql'));
    try {
      const group = `drain-${sink}-${randomUUID().slice(0, 8)}`;
      // n > 1: that many worker processes in the consumer group (how the worker scales out), so
      // PostgreSQL writes n batches at once on this machine's cores.
      const ws = await Promise.all(
        Array.from({ length: Number(n) }, (_, i) =>
          startWorker({ ...env, LOG_LEVEL: 'info', WORKER_SINK: sink, CLICK_GROUP: group, WORKER_NAME: `${group}-${i}`, WORKER_BATCH: size ?? String(opts.batch), WORKER_PORT: '0', WORKER_BLOCK_MS: '100' }),
        ),
      );
      const cpu0 = await backendCpu(admin);
      const t0 = performance.now();
      let rows = 0;
      for (;;) {
        rows = await num(admin, 'SELECT count(*) AS n FROM links.clicks');
        if (rows >= entries || performance.now() - t0 > 600_000) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      const seconds = (performance.now() - t0) / 1000;
      // Read before the workers stop: their backends end with them. A backend that connected during
      // the drain counts from 0 (its connection setup is in it: a few ms).
      const cpu1 = await backendCpu(admin);
      const pgCpuUs = cpu0 && cpu1 ? ([...cpu1].reduce((a, [pid, t]) => a + t - (cpu0.get(pid) ?? 0), 0) / entries) * 1e6 : undefined;
      await Promise.all(ws.map(stop));
      const bots = await num(admin, 'SELECT count(*) AS n FROM links.clicks WHERE is_bot');
      const counters = await num(admin, 'SELECT sum(click_count) AS n FROM links.links');
      const daily = await num(admin, `SELECT sum(clicks) AS n FROM links.daily_stats WHERE dimension = 'total'`);
      let exact = rows === entries && counters + bots === entries && daily === counters;
      let detail = `entries ${entries}, rows ${rows}, click_count ${counters} + bots ${bots}, daily_stats ${daily}`;
      if (sink !== 'legacy') {
        const cube = await num(admin, 'SELECT sum(clicks) AS n FROM links.hourly_stats');
        const account = await num(admin, `SELECT sum(clicks) AS n FROM links.account_hourly_stats WHERE dimension = 'total'`);
        const mism = await num(admin, `SELECT count(*) AS n FROM links.rollup_mismatches('2000-01-01', date_trunc('hour', now()) + interval '1 hour')`);
        exact &&= cube === entries && account === entries && mism === 0;
        detail += `, hourly_stats ${cube}, account_hourly_stats ${account}, reconciliation mismatches ${mism}`;
      }
      out.push({ sink: `${before ? 'before:' : ''}${sink}${size ? `@${size}` : ''}${Number(n) > 1 ? `x${n}` : ''}`, clicks: entries, seconds, rate: entries / seconds, exact, detail, ...(pgCpuUs === undefined ? {} : { pgCpuUs }) });
      await redis.xgroup('DESTROY', stream, group);
    } finally {
      if (before) await admin.query(migrationSql('up.sql'));
    }
  }
  return out;
}

const AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0',
  'Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1',
  'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)',
];
const COUNTRIES = ['US', 'DE', 'GB', 'FR', 'IN', 'BR', 'JP', 'CA', 'NL', 'ES', ''];
const REFS = ['', '', 'https://www.google.com/', 'https://t.co/x', 'https://news.ycombinator.com/item?id=1', 'https://www.reddit.com/r/x'];

/** Click `j` of a generated stream over `links` (Zipf-ish popularity), within the hour before `now`. */
export function makeClick(links: { id: string; code: string }[], j: number, now: number): Click {
  const link = links[Math.floor(links.length * Math.random() ** 2)]!;
  const ab = j % 5 === 0;
  return {
    id: randomUUID(),
    linkId: link.id,
    code: link.code,
    ts: now - Math.floor(Math.random() * 3_600_000),
    visitor: `v${Math.floor(Math.random() * 20_000)}`,
    ua: AGENTS[Math.floor(AGENTS.length * Math.random() ** 1.5)]!,
    referrer: REFS[j % REFS.length]!,
    country: COUNTRIES[Math.floor(COUNTRIES.length * Math.random() ** 2)]!,
    target: ab ? `https://example.com/${link.code}/${j % 2 ? 'a' : 'b'}` : `https://example.com/${link.code}`,
    rule: ab ? 'ab' : '',
    location: j % 4 === 0 ? `https://example.com/${link.code}?utm_source=newsletter&utm_medium=email&utm_campaign=c${j % 7}` : '',
  };
}

/** Appends `n` clicks over `links` (makeClick) in pipelined XADDs. */
export async function fillStream(redis: Redis, links: { id: string; code: string }[], n: number, stream = 'clicks'): Promise<void> {
  const now = Date.now();
  for (let i = 0; i < n; i += 5000) {
    const p = redis.pipeline();
    for (let j = i; j < Math.min(n, i + 5000); j++) p.xadd(stream, '*', ...clickFields(makeClick(links, j, now)));
    await p.exec();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { clicks: { type: 'string', default: '300000' }, links: { type: 'string', default: '1000' }, batch: { type: 'string', default: '1000' }, sinks: { type: 'string' } } });
  const { createTestDatabase, startTestRedis } = await import('@linkport/devstack/testing');
  const db = await createTestDatabase();
  const redisServer = await startTestRedis();
  const admin = new pg.Pool({ connectionString: db.adminUrl, max: 2 });
  const redis = new Redis(redisServer.url);
  try {
    const owner = (await admin.query<{ id: string }>(`INSERT INTO core.users (email, password_hash) VALUES ('drain@example.com', 'x') RETURNING id`)).rows[0]!.id;
    const links = (
      await admin.query<{ id: string; code: string }>(
        `INSERT INTO links.links (owner_id, code, destination) SELECT $1, 'dr' || i, 'https://example.com/' || i FROM generate_series(1, $2::int) i RETURNING id, code`,
        [owner, Number(values.links)],
      )
    ).rows;
    const n = Number(values.clicks);
    console.log(`${links.length} links; filling the stream`);
    const tf = performance.now();
    await fillStream(redis, links, n);
    console.log(`stream filled: ${n} clicks over ${links.length} links in ${((performance.now() - tf) / 1000).toFixed(1)} s`);
    const env = { DATABASE_URL: db.roleUrl('redirect_service'), REDIS_URL: redisServer.url, HOST: '127.0.0.1' };
    const results = await drainBoth(admin, redis, env, { batch: Number(values.batch), ...(values.sinks ? { sinks: values.sinks.split(',') } : {}) });
    print(results);
    if (results.some((r) => !r.exact)) process.exitCode = 1;
  } finally {
    redis.disconnect();
    await admin.end();
    await redisServer.stop();
    await db.drop();
  }
}

export function print(results: DrainResult[]): void {
  for (const r of results) {
    const cpu = r.pgCpuUs === undefined ? '' : `, PostgreSQL CPU ${r.pgCpuUs.toFixed(1)} µs/click`;
    console.log(`  ${r.sink.padEnd(10)} ${r.clicks} clicks in ${r.seconds.toFixed(1)} s = ${r.rate.toFixed(0).padStart(6)} clicks/s${cpu}   exact: ${r.exact ? 'YES' : 'NO'} (${r.detail})`);
  }
  const base = results[0];
  if (base) console.log(`  against ${base.sink}: ${results.slice(1).map((r) => `${r.sink} ${(r.rate / base.rate).toFixed(2)}x`).join(', ')} (target: >= 50,000 clicks/s)`);
  const st = results.find((r) => r.sink === 'statement');
  const fast = results.find((r) => r.sink === 'batch');
  if (st && fast) console.log(`  batch/statement (in-memory vs SQL aggregation, same batch size) = ${(fast.rate / st.rate).toFixed(2)}x`);
  // The migrations against themselves reverted, the same path and stream; a sink named more than
  // once (e.g. --sinks before:batch,batch,batch,before:batch, to cancel the order's drift) by its mean.
  const mean = (name: string, f: (r: DrainResult) => number | undefined) => {
    const rs = results.filter((r) => r.sink === name).map(f);
    return rs.length && rs.every((x) => x !== undefined) ? rs.reduce<number>((a, b) => a + b!, 0) / rs.length : undefined;
  };
  for (const name of new Set(results.filter((r) => r.sink.startsWith('before:')).map((r) => r.sink))) {
    const after = name.slice('before:'.length);
    const [rate0, rate1] = [mean(name, (r) => r.rate), mean(after, (r) => r.rate)];
    const [cpu0, cpu1] = [mean(name, (r) => r.pgCpuUs), mean(after, (r) => r.pgCpuUs)];
    if (!rate0 || !rate1) continue;
    const cpu = cpu0 && cpu1 ? `; PostgreSQL CPU per click ${cpu0.toFixed(1)} -> ${cpu1.toFixed(1)} µs (${(cpu1 / cpu0).toFixed(2)}x)` : '';
    console.log(`  ${after} with migrations 1764900001800 + 1764900001810 / without: clicks/s ${(rate1 / rate0).toFixed(2)}x${cpu}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await main();
  process.exit(process.exitCode ?? 0);
}

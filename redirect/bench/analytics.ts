/**
 * npm run bench:analytics [-- --scale 0.1 --clients 16 --seconds 10]
 *
 * Issue 16 §1 targets on a generated dataset (scale 1 = 10 million clicks over 1,000 links and 90
 * days, one account; --scale shrinks the clicks only):
 *   (1) a link's 30-day hourly series (Europe/Berlin)      p99 < 50 ms
 *   (2) the account-wide 90-day breakdown by country, top 10  p99 < 200 ms
 * each at --clients concurrent clients (16), through the engine's GraphQL (its own process, the
 * project's hasura/metadata, role user) and straight SQL (the same functions), against a baseline
 * measured in the same run: the same question answered from the raw clicks. The plans' shapes
 * (auto_explain of the statements inside the functions) are printed.
 *
 * Dataset: link popularity ~ rank^-2-ish (a link drawn as 1000·u²), countries and referrers skewed
 * the same way, 5 % bots, 20 % of links with A/B variants, UTM on a quarter of the clicks,
 * visitors from a pool of 5,000 per link. Rollups are built with links.rebuild_rollups (timed).
 */
import { spawn } from 'node:child_process';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createTestDatabase, ensureTemplate, testCluster, testRolePasswords, type TestDatabase } from '@linkport/devstack/testing';

import { ClickSink } from '../src/worker/click-sink.ts';
import { enrich, type EnrichedClick } from '../src/worker/enrich.ts';

const root = path.resolve(import.meta.dirname, '../..');
const SECRET = 'bench-analytics-secret';

const { values } = parseArgs({
  options: {
    scale: { type: 'string', default: '1' },
    links: { type: 'string', default: '1000' },
    days: { type: 'string', default: '90' },
    clients: { type: 'string', default: '16' },
    seconds: { type: 'string', default: '10' },
    // Keep the generated database under this name and reuse it on the next run (generation at
    // scale 1 takes minutes); with LINKPORT_TEST_PG_URL pointing at a long-lived cluster.
    db: { type: 'string' },
    // Rounds of the ingest cost of link_hourly_totals' triggers (0: skip), and batches per side and round.
    'ingest-rounds': { type: 'string', default: '3' },
    'ingest-batches': { type: 'string', default: '40' },
    'ingest-only': { type: 'boolean', default: false },
  },
});
const SCALE = Number(values.scale);
const LINKS = Number(values.links);
const DAYS = Number(values.days);
const CLIENTS = Number(values.clients);
const SECONDS = Number(values.seconds);
const CLICKS = Math.round(10_000_000 * SCALE);

interface Stats {
  n: number;
  p50: number;
  p99: number;
  rps: number;
  errors: number;
}

/** `clients` loops issuing `fn` back to back for `seconds` (or `maxRequests`); latencies in ms. */
async function load(fn: (i: number) => Promise<void>, seconds: number, clients: number, maxRequests = Infinity): Promise<Stats> {
  const lat: number[] = [];
  let errors = 0;
  let issued = 0;
  const end = performance.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < end && issued < maxRequests) {
        const i = issued++;
        const t = performance.now();
        try {
          await fn(i);
          lat.push(performance.now() - t);
        } catch (err) {
          if (errors++ === 0) console.error('  first error:', String(err).slice(0, 300));
        }
      }
    }),
  );
  const wall = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? NaN;
  return { n: lat.length, p50: q(0.5), p99: q(0.99), rps: lat.length / wall, errors };
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** --db NAME: the named database of the test cluster, created from the migrated template when missing, never dropped. */
async function keptDatabase(name: string): Promise<TestDatabase & { fresh: boolean }> {
  if (!/^[a-z_][a-z0-9_]{0,40}$/.test(name)) throw new Error('--db: a lower-case identifier');
  const { adminUrl } = await testCluster();
  await ensureTemplate(adminUrl);
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  const fresh = (await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 0;
  if (fresh) await c.query(`CREATE DATABASE ${name} TEMPLATE linkport_template`);
  await c.end();
  const at = (user?: string, password?: string) => {
    const u = new URL(adminUrl);
    u.pathname = `/${name}`;
    if (user) {
      u.username = user;
      u.password = password ?? '';
    }
    return u.toString();
  };
  return { name, fresh, adminUrl: at(), roleUrl: (role) => at(role, testRolePasswords[role]), drop: async () => {} };
}

async function generate(admin: pg.Pool, owner: string): Promise<string[]> {
  const ids = (
    await admin.query<{ id: string }>(
      `INSERT INTO links.links (owner_id, code, destination, ab_variants)
       SELECT $1, 'an' || i, 'https://example.com/' || i,
              CASE WHEN i % 5 = 0 THEN jsonb_build_array(jsonb_build_object('url', 'https://example.com/' || i || '/a', 'weight', 50),
                                                        jsonb_build_object('url', 'https://example.com/' || i || '/b', 'weight', 50))
                   ELSE '[]' END
         FROM generate_series(1, $2::int) i ORDER BY i RETURNING id`,
      [owner, LINKS],
    )
  ).rows.map((r) => r.id);
  await admin.query(`SELECT links.ensure_click_partitions(now() - make_interval(days => $1), $2)`, [DAYS + 1, Math.ceil(DAYS / 28) + 2]);
  const CHUNK = 500_000;
  const t0 = performance.now();
  for (let from = 0; from < CLICKS; from += CHUNK) {
    // Link i (1-based) is drawn as 1 + floor(N·u²): link 1 is the most popular.
    await admin.query(
      `INSERT INTO links.clicks (stream_id, clicked_at, link_id, code, visitor_hash, referrer_host, country, device, browser, os, is_bot,
                                 utm_source, utm_medium, utm_campaign, variant, destination)
       SELECT 'g' || g, now() - random() * make_interval(days => $3), ($4::uuid[])[k], 'an' || k, 'v' || floor(random() * 5000)::int,
              (ARRAY['', '', 'google.com', 't.co', 'news.ycombinator.com', 'reddit.com', 'facebook.com', 'linkedin.com'])[1 + floor(8 * random() ^ 2)::int],
              (ARRAY['US', 'DE', 'GB', 'FR', 'IN', 'BR', 'JP', 'CA', 'NL', 'ES', 'IT', 'PL', 'SE', 'AU', 'MX', 'KR', 'TR', 'ID', 'AR', 'ZA',
                     'CH', 'AT', 'BE', 'DK', 'NO', 'FI', 'IE', 'PT', 'CZ', ''])[1 + floor(30 * random() ^ 2)::int],
              (ARRAY['desktop', 'mobile', 'mobile', 'tablet'])[1 + floor(4 * random())::int],
              (ARRAY['Chrome', 'Safari', 'Firefox', 'Edge', 'Samsung Internet', 'Opera'])[1 + floor(6 * random() ^ 2)::int],
              (ARRAY['Windows', 'iOS', 'Android', 'macOS', 'Linux'])[1 + floor(5 * random() ^ 1.5)::int],
              random() < 0.05,
              CASE WHEN g % 4 = 0 THEN (ARRAY['newsletter', 'twitter', 'linkedin'])[1 + g % 3] END,
              CASE WHEN g % 4 = 0 THEN (ARRAY['email', 'social'])[1 + g % 2] END,
              CASE WHEN g % 4 = 0 THEN 'c' || (g % 12) END,
              CASE WHEN k % 5 = 0 THEN 'https://example.com/' || k || (CASE WHEN g % 2 = 0 THEN '/a' ELSE '/b' END) END,
              'https://example.com/' || k || (CASE WHEN k % 5 = 0 THEN (CASE WHEN g % 2 = 0 THEN '/a' ELSE '/b' END) ELSE '' END)
         FROM (SELECT g, 1 + floor($5 * random() ^ 2)::int AS k FROM generate_series($1::bigint, $2::bigint) g) s`,
      [from, Math.min(CLICKS, from + CHUNK) - 1, DAYS, ids, LINKS],
    );
    process.stdout.write(`\r  raw clicks ${Math.min(CLICKS, from + CHUNK)} / ${CLICKS} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  }
  console.log('');
  return ids;
}

/** The plan of the statement a function runs (auto_explain, nested statements, as notices). */
async function planOf(admin: pg.Pool, sql: string, params: unknown[]): Promise<string> {
  const c = await admin.connect();
  const notices: string[] = [];
  const onNotice = (m: { message?: string }) => notices.push(m.message ?? '');
  c.on('notice', onNotice);
  try {
    await c.query(`LOAD 'auto_explain'`);
    await c.query(`SET auto_explain.log_min_duration = 0; SET auto_explain.log_analyze = on; SET auto_explain.log_timing = off; SET auto_explain.log_buffers = on;
                   SET auto_explain.log_nested_statements = on; SET auto_explain.log_level = notice`);
    await c.query(sql, params);
    await c.query('RESET auto_explain.log_min_duration');
  } finally {
    c.off('notice', onNotice);
    c.release();
  }
  // The longest nested plan is the RETURN QUERY; keep the plan nodes, drop costs.
  const plan = notices.filter((n) => !/Function Scan on analytics_/.test(n)).sort((a, b) => b.length - a.length)[0] ?? '';
  return plan
    .split('\n')
    .filter((l) => /(->|^\S.*\(cost=)/.test(l) || /^\s+(Index Cond|Filter|Rows Removed|Heap Fetches|Sort Method|Workers|Buffers)/.test(l))
    .map((l) => '    ' + l.replace(/\s*\(cost=[^)]*\)/, '').replace(/\(actual rows=/, '(rows='))
    .join('\n');
}

/**
 * What links.link_hourly_totals costs the ingest: the worker's own sink (ClickSink, its default
 * mode) writes the same kind of batches with the totals' triggers on and off, in alternating rounds
 * on one fresh database (the triggers are the only difference). Batches of 500 clicks of the
 * current hour over 1,000 links with varied dimensions: after the first round most cube and totals
 * rows exist, so this is the steady state's UPDATE path.
 */
async function ingestCost(rounds: number, batches: number): Promise<void> {
  const db = await createTestDatabase();
  const admin = new pg.Pool({ connectionString: db.adminUrl, max: 2 });
  const workerPool = new pg.Pool({ connectionString: db.roleUrl('redirect_service'), max: 1 });
  try {
    const owner = (await admin.query<{ id: string }>(`INSERT INTO core.users (email, password_hash) VALUES ('ingest@example.com', 'x') RETURNING id`)).rows[0]!.id;
    const links = (await admin.query<{ id: string; code: string }>(`INSERT INTO links.links (owner_id, code, destination) SELECT $1, 'in' || i, 'https://example.com/' || i FROM generate_series(1, 1000) i RETURNING id, code`, [owner])).rows;
    const sink = new ClickSink(workerPool);
    const uas = [
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36',
      'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1',
      'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15',
      'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0',
      'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
    ];
    const refs = ['', '', 'https://www.google.com/', 'https://t.co/x', 'https://news.ycombinator.com/'];
    const countries = ['US', 'DE', 'GB', 'FR', 'IN', 'BR', ''];
    let seq = 0;
    const batch = (): EnrichedClick[] =>
      Array.from({ length: 500 }, () => {
        const i = seq++;
        const l = links[Math.floor(links.length * Math.random() ** 2)]!;
        return enrich(`${Date.now()}-${i}`, { id: randomUUID(), linkId: l.id, code: l.code, ts: Date.now(), visitor: `v${i % 5000}`, ua: uas[i % uas.length]!, referrer: refs[i % refs.length]!, country: countries[i % countries.length]! });
      });
    const triggers = async (on: boolean) => {
      for (const t of ['link_totals_insert', 'link_totals_update', 'link_totals_delete']) await admin.query(`ALTER TABLE links.hourly_stats ${on ? 'ENABLE' : 'DISABLE'} TRIGGER ${t}`);
    };
    // Warm-up: creates the cube and totals rows of the current hour.
    for (let i = 0; i < 4; i++) await sink.write(batch());
    const rates: Record<'on' | 'off', number[]> = { on: [], off: [] };
    for (let r = 0; r < rounds; r++) {
      for (const side of r % 2 ? (['on', 'off'] as const) : (['off', 'on'] as const)) {
        await triggers(side === 'on');
        const work = Array.from({ length: batches }, batch);
        const t0 = performance.now();
        for (const b of work) await sink.write(b);
        rates[side].push((batches * 500) / ((performance.now() - t0) / 1000));
      }
    }
    await triggers(true);
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const ratios = rates.on.map((x, i) => (x / rates.off[i]!).toFixed(2));
    console.log(`ingest (ClickSink, batches of 500, ${batches} per side and round, ${rounds} rounds): totals triggers off ${med(rates.off).toFixed(0)} clicks/s, on ${med(rates.on).toFixed(0)} clicks/s (median; on/off per round ${ratios.join(' ')})`);
  } finally {
    await workerPool.end();
    await admin.end();
    await db.drop();
  }
}

async function main(): Promise<void> {
  console.log(`bench:analytics — scale ${SCALE} (${CLICKS.toLocaleString('en')} clicks), ${LINKS} links, ${DAYS} days, ${CLIENTS} clients, ${SECONDS} s per run, ${os.availableParallelism()} CPUs, load average ${os.loadavg()[0]!.toFixed(1)}`);
  const db = values.db ? await keptDatabase(values.db) : { ...(await createTestDatabase()), fresh: true };
  const admin = new pg.Pool({ connectionString: db.adminUrl, max: CLIENTS + 2 });
  const engineUrlPort = await freePort();
  let engine: ReturnType<typeof spawn> | undefined;
  try {
    await admin.query(`ALTER DATABASE ${db.name} SET work_mem = '64MB'`);
    let owner: string;
    let ids: string[];
    let genS = 0;
    let rebuildS = 0;
    let rebuilt = 0;
    if (db.fresh) {
      owner = (await admin.query<{ id: string }>(`INSERT INTO core.users (email, password_hash) VALUES ('analytics@example.com', 'x') RETURNING id`)).rows[0]!.id;
      const tg = performance.now();
      ids = await generate(admin, owner);
      genS = (performance.now() - tg) / 1000;
      const tr = performance.now();
      rebuilt = Number((await admin.query<{ n: string }>(`SELECT links.rebuild_rollups(now() - make_interval(days => $1), now() + interval '1 hour') AS n`, [DAYS + 1])).rows[0]!.n);
      rebuildS = (performance.now() - tr) / 1000;
      await admin.query('VACUUM ANALYZE');
    } else {
      // A kept dataset: the same owner and links; its clicks are as old as the first run made them.
      owner = (await admin.query<{ id: string }>(`SELECT id FROM core.users WHERE email = 'analytics@example.com'`)).rows[0]!.id;
      ids = (await admin.query<{ id: string }>(`SELECT id FROM links.links WHERE owner_id = $1 ORDER BY substr(code, 3)::int`, [owner])).rows.map((r) => r.id);
      console.log(`dataset: reusing database ${db.name} (kept by --db)`);
    }
    const sizes = (
      await admin.query<{ t: string; n: string }>(
        `SELECT 'clicks' AS t, count(*) AS n FROM links.clicks UNION ALL SELECT 'hourly_stats', count(*) FROM links.hourly_stats
         UNION ALL SELECT 'account_hourly_stats', count(*) FROM links.account_hourly_stats UNION ALL SELECT 'daily_stats', count(*) FROM links.daily_stats`,
      )
    ).rows;
    console.log(`dataset: generated in ${genS.toFixed(0)} s; rollups rebuilt in ${rebuildS.toFixed(0)} s (${rebuilt.toLocaleString('en')} cube rows); rows: ${sizes.map((r) => `${r.t} ${Number(r.n).toLocaleString('en')}`).join(', ')}`);
    const mism = await admin.query<{ n: string }>(`SELECT count(*) AS n FROM links.rollup_mismatches(date_trunc('day', now() - make_interval(days => $1), 'UTC'), date_trunc('hour', now()) + interval '1 hour')`, [DAYS + 1]);
    console.log(`reconciliation after rebuild: ${mism.rows[0]!.n} mismatched buckets`);

    engine = spawn(process.execPath, ['--import', 'tsx', 'hasura/engine/src/server.ts'], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'inherit'],
      env: {
        ...process.env,
        HOST: '127.0.0.1',
        PORT: String(engineUrlPort),
        LOG_LEVEL: 'warn',
        HASURA_GRAPHQL_DATABASE_URL: db.roleUrl('links_admin'),
        HASURA_GRAPHQL_ADMIN_SECRET: SECRET,
        HASURA_GRAPHQL_METADATA_DIR: path.join(root, 'hasura/metadata'),
        HASURA_GRAPHQL_PG_CONNECTIONS: String(CLIENTS),
      },
    });
    const url = `http://127.0.0.1:${engineUrlPort}`;
    for (let i = 0; ; i++) {
      if (await fetch(`${url}/health/ready`).then((r) => r.ok, () => false)) break;
      if (i > 600) throw new Error('engine not ready');
      await new Promise((r) => setTimeout(r, 100));
    }

    const session = JSON.stringify({ 'x-hasura-role': 'user', 'x-hasura-user-id': owner });
    const linkOf = (i: number) => ids[Math.floor(ids.length * ((i * 0.618033) % 1) ** 2)]!;
    const pool = new pg.Pool({ connectionString: db.roleUrl('links_admin'), max: CLIENTS });
    const sqlSeries = `SELECT bucket, clicks, visitors FROM links.analytics_series(hasura_session => $1::json, link_id => $2, bucket => 'hour', time_zone => 'Europe/Berlin', from_ts => date_trunc('hour', now() - interval '30 days'), to_ts => now())`;
    const sqlBreakdown = `SELECT value, clicks, visitors FROM links.analytics_breakdown(hasura_session => $1::json, dimension => 'country', top_n => 10, from_ts => date_trunc('hour', now() - make_interval(days => ${DAYS})), to_ts => now())`;
    const rawSeries = `SELECT date_trunc('hour', clicked_at, 'Europe/Berlin') AS bucket, count(*) AS clicks FROM links.clicks
                        WHERE link_id = $1 AND clicked_at >= date_trunc('hour', now() - interval '30 days') AND NOT is_bot GROUP BY 1 ORDER BY 1`;
    const rawBreakdown = `SELECT country, count(*) AS clicks FROM links.clicks c JOIN links.links l ON l.id = c.link_id
                           WHERE l.owner_id = $1 AND c.clicked_at >= date_trunc('hour', now() - make_interval(days => ${DAYS})) AND NOT c.is_bot GROUP BY 1 ORDER BY 2 DESC LIMIT 10`;
    const gql = async (query: string, variables: Record<string, unknown>) => {
      const r = await fetch(`${url}/v1/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-hasura-admin-secret': SECRET, 'x-hasura-role': 'user', 'x-hasura-user-id': owner },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await r.json()) as { errors?: unknown };
      if (!r.ok || body.errors) throw new Error(JSON.stringify(body).slice(0, 300));
    };
    const gSeries = `query ($link: uuid!, $from: timestamptz!, $to: timestamptz!) {
      links_analytics_series(args: {link_id: $link, bucket: "hour", time_zone: "Europe/Berlin", from_ts: $from, to_ts: $to}) { bucket clicks visitors }
    }`;
    const gBreakdown = `query ($from: timestamptz!, $to: timestamptz!) {
      links_analytics_breakdown(args: {dimension: "country", top_n: 10, from_ts: $from, to_ts: $to}) { value clicks visitors }
    }`;
    const now = () => new Date().toISOString();
    // Hour-aligned like the SQL above (rollups are hourly: a range covers the hours starting in it).
    const ago = (days: number) => new Date(Math.floor((Date.now() - days * 86_400_000) / 3_600_000) * 3_600_000).toISOString();

    // Same answers both ways (the rollup path must agree with the raw clicks).
    const a1 = (await pool.query<{ clicks: string }>(sqlSeries, [session, ids[0]])).rows.reduce((s, r) => s + Number(r.clicks), 0);
    const b1 = (await pool.query<{ clicks: string }>(rawSeries, [ids[0]])).rows.reduce((s, r) => s + Number(r.clicks), 0);
    const a2 = (await pool.query<{ value: string; clicks: string }>(sqlBreakdown, [session])).rows.map((r) => `${r.value}:${r.clicks}`).join(',');
    const b2 = (await pool.query<{ country: string | null; clicks: string }>(rawBreakdown, [owner])).rows.map((r) => `${r.country ?? ''}:${r.clicks}`).join(',');
    console.log(`answers agree with raw clicks: series ${a1 === b1 ? 'YES' : `NO (${a1} vs ${b1})`}, breakdown ${a2 === b2 ? 'YES' : 'NO'}`);

    const rows: [string, Stats, string][] = [];
    const run = async (name: string, fn: (i: number) => Promise<void>, target: string, maxRequests = Infinity) => {
      const s = await load(fn, SECONDS, CLIENTS, maxRequests);
      rows.push([name, s, target]);
      console.log(`  ${name.padEnd(52)} n=${s.n} p50 ${s.p50.toFixed(1)} ms  p99 ${s.p99.toFixed(1)} ms  ${s.rps.toFixed(0)} req/s  errors ${s.errors}`);
    };
    console.log('\nruns:');
    // Warm-up, not recorded: the engine was just started (its code and query paths are still cold).
    await load((i) => gql(gSeries, { link: linkOf(i), from: ago(30), to: now() }), 2, CLIENTS);
    await load(() => gql(gBreakdown, { from: ago(DAYS), to: now() }), 1, CLIENTS);
    await run('(1) link 30-day hourly series — GraphQL', (i) => gql(gSeries, { link: linkOf(i), from: ago(30), to: now() }), 'p99 < 50 ms');
    // The engine's own cost per request, without queueing behind 15 others.
    const one = await load((i) => gql(gSeries, { link: linkOf(i), from: ago(30), to: now() }), Math.min(SECONDS, 5), 1);
    const oneSql = await load(async (i) => void (await pool.query(sqlSeries, [session, linkOf(i)])), Math.min(SECONDS, 5), 1);
    console.log(`  (1) one client at a time: GraphQL p50 ${one.p50.toFixed(1)} ms / p99 ${one.p99.toFixed(1)} ms; SQL p50 ${oneSql.p50.toFixed(1)} ms / p99 ${oneSql.p99.toFixed(1)} ms`);
    await run('(1) link 30-day hourly series — SQL function', async (i) => void (await pool.query(sqlSeries, [session, linkOf(i)])), 'p99 < 50 ms');
    await run('(1) baseline: the same from raw clicks (SQL)', async (i) => void (await pool.query(rawSeries, [linkOf(i)])), '');
    await run(`(2) account ${DAYS}-day country top 10 — GraphQL`, () => gql(gBreakdown, { from: ago(DAYS), to: now() }), 'p99 < 200 ms');
    await run(`(2) account ${DAYS}-day country top 10 — SQL function`, async () => void (await pool.query(sqlBreakdown, [session])), 'p99 < 200 ms');
    // Seconds per query at full scale: a bounded number of requests, still 16 at a time.
    await run('(2) baseline: the same from raw clicks (SQL)', async () => void (await pool.query(rawBreakdown, [owner])), '', 4 * CLIENTS);

    console.log('\nplan shapes (inside the functions; auto_explain, rows = actual):');
    console.log('  (1) analytics_series, link, hour buckets:');
    console.log(await planOf(admin, sqlSeries, [session, ids[0]]));
    console.log('  (2) analytics_breakdown, account-wide, country:');
    console.log(await planOf(admin, sqlBreakdown, [session]));
    console.log('  (2) baseline from raw clicks:');
    const rawPlan = await admin.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) ${rawBreakdown}`, [owner]);
    console.log(rawPlan.rows.map((r) => '    ' + r['QUERY PLAN']).filter((l) => /->|^\s{4}\S|Workers|Filter/.test(l)).join('\n'));

    console.log(`\nsummary (scale ${SCALE}: ${CLICKS.toLocaleString('en')} clicks, ${CLIENTS} clients):`);
    for (const [name, s, target] of rows) if (target) console.log(`  ${name.padEnd(52)} p99 ${s.p99.toFixed(1)} ms  target ${target}: ${s.p99 < Number(/< (\d+)/.exec(target)![1]) ? 'met' : 'MISSED'}`);
    const ratio = (x: string, y: string) => {
      const a = rows.find((r) => r[0].startsWith(x) && r[0].includes('SQL function'))?.[1];
      const b = rows.find((r) => r[0].startsWith(x) && r[0].includes('baseline'))?.[1];
      return a && b ? (b.p50 / a.p50).toFixed(1) : '?';
    };
    console.log(`  rollups vs raw clicks (p50): series ${ratio('(1)', '')}x faster, breakdown ${ratio('(2)', '')}x faster`);
    await pool.end();
  } finally {
    if (engine && engine.exitCode === null) {
      const exited = new Promise((r) => engine!.once('exit', r));
      engine.kill('SIGTERM');
      await exited;
    }
    await admin.end();
    await db.drop();
  }
}

if (!values['ingest-only']) await main();
if (Number(values['ingest-rounds']) > 0) await ingestCost(Number(values['ingest-rounds']), Number(values['ingest-batches']));
process.exit(0);

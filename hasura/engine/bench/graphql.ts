/**
 * `npm run bench:graphql`: our engine vs PostGraphile v5 on the same database, same run.
 * Query: 20 links of one owner, newest first, with a nested object relationship, a nested array
 * relationship and an aggregate. The engine serves it as role `user` (the permission filter
 * owner_id = X-Hasura-User-Id does the filtering); PostGraphile gets the same filter as a
 * `condition`. Each server is its own process (plain node:http for the engine), measured one after
 * the other with autocannon from this one.
 *
 * The engine runs three times, by ENGINE_JSON_PASSTHROUGH (execute/passthrough.ts): `compact` (the
 * default: the database's JSON text, whitespace taken out), `verbatim` (the text as PostgreSQL
 * wrote it, as Hasura sends it) and `off` (parse and stringify: the baseline, same run), on that
 * query and on a series of 720 rows (the size of a link's 30-day hourly series, issue 16 §1).
 * Each engine row also gives the server's CPU per request (its process.cpuUsage over the run).
 * Env: BENCH_DURATION (s, default 10), BENCH_CONNECTIONS (default 32), BENCH_ROUNDS (default 1:
 * the engine rows are run that many times, interleaved, and the table gives each one's median),
 * BENCH_PGL=0 leaves PostGraphile out.
 */
import { spawn, spawnSync, type ChildProcessByStdio } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { createRequire } from 'node:module';
import pg from 'pg';
import { createTestDatabase } from '@linkport/devstack/testing';
import { createEngine } from '../src/engine.ts';
import { responseBody } from '../src/execute/passthrough.ts';
import type { Session } from '../src/contract.ts';
import { linksMetadata } from '../test/query/fixtures.ts';

// autocannon ships no types; this is the slice used here (loaded through require so no ambient
// module declaration is needed).
interface CannonResult { requests: { average: number; total: number }; latency: { p50: number; p99: number }; errors: number; non2xx: number }
const autocannon = createRequire(import.meta.url)('autocannon') as (opts: Record<string, unknown>) => Promise<CannonResult>;

const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const OWNER = '00000000-0000-4000-8000-000000000001';
const WITH_PGL = process.env.BENCH_PGL !== '0';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);

const SEED = `
INSERT INTO core.users (id, email, password_hash)
SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(u), 12, '0'))::uuid, 'u' || u || '@example.com', 'x' FROM generate_series(1, 100) u;
INSERT INTO links.domains (owner_id, hostname, verified)
SELECT id, 'd' || row_number() OVER () || '.example.com', true FROM core.users;
INSERT INTO links.links (owner_id, domain_id, code, destination, title, created_at, click_count)
SELECT u.id, d.id, 'c' || substr(md5(u.id::text), 1, 8) || '-' || i, 'https://example.com/' || i, 'Title ' || i, now() - (i || ' minutes')::interval, i
FROM core.users u JOIN links.domains d ON d.owner_id = u.id, generate_series(1, 200) i;
INSERT INTO links.tags (owner_id, name) SELECT id, 'tag' || t FROM core.users, generate_series(1, 5) t;
INSERT INTO links.link_tags (link_id, tag_id)
SELECT l.id, t.id FROM links.links l JOIN links.tags t ON t.owner_id = l.owner_id AND t.name = 'tag' || (1 + l.click_count % 5);
INSERT INTO links.daily_stats (link_id, day, dimension, value, clicks, visitors)
SELECT l.id, current_date - d, 'total', '', d * 3, d FROM links.links l, generate_series(1, 7) d WHERE l.owner_id = '${OWNER}';
INSERT INTO links.daily_stats (link_id, day, dimension, value, clicks, visitors)
SELECT l.id, current_date - 8 - d, 'country', 'DE', d * 7 + 1, d FROM links.links l, generate_series(0, 719) d
WHERE l.owner_id = '${OWNER}' AND l.code LIKE '%-200';
ANALYZE;`;

const HASURA_QUERY = `query Links {
  links_links(limit: 20, order_by: {created_at: desc}) {
    id code destination title created_at
    domain { hostname }
    link_tags { tag { name } }
    daily_stats_aggregate { aggregate { count sum { clicks } } }
  }
}`;

/** 720 rows of three columns, like links_analytics_series' 30 days by the hour. */
const SERIES_QUERY = `query Series {
  links_daily_stats(where: {dimension: {_eq: "country"}}, order_by: {day: asc}) { day clicks visitors }
}`;

const PGL_QUERY = `query Links($owner: UUID!) {
  allLinks(first: 20, orderBy: [CREATED_AT_DESC], condition: {ownerId: $owner}) {
    nodes {
      id code destination title createdAt
      domainByDomainId { hostname }
      linkTagsByLinkId { nodes { tagByTagId { name } } }
      dailyStatsByLinkId { totalCount }
    }
  }
}`;

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<unknown> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return res.json();
}

async function bench(name: string, url: string, body: unknown, headers: Record<string, string> = {}) {
  const r = await autocannon({
    url, method: 'POST', duration: DURATION, connections: CONNECTIONS,
    headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body),
  });
  const total = r.requests.total;
  const row = { name, 'req/s': Math.round(r.requests.average), 'p50 ms': r.latency.p50, 'p99 ms': r.latency.p99, errors: r.errors + r.non2xx, requests: total };
  console.log(JSON.stringify(row));
  return row;
}

/** An engine server in this process: the child's side of `startEngine`. */
type Mode = 'compact' | 'verbatim' | 'off';

async function serveEngine(url: string, passthrough: Mode): Promise<void> {
  const pool = new pg.Pool({ connectionString: url, max: 20 });
  const engine = await createEngine(pool, linksMetadata(), { stringifyNumericTypes: true, maxDepth: 20, jsonPassthrough: passthrough });
  const session: Session = { role: 'user', vars: { 'x-hasura-role': 'user', 'x-hasura-user-id': OWNER }, isAdmin: false };
  const server = http.createServer((req, res) => {
    if (req.method === 'GET') return void res.end(JSON.stringify(process.cpuUsage()));
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { query: string; variables?: Record<string, unknown> };
        const out = await engine.execute(body, session);
        res.writeHead(200, { 'content-type': 'application/json' });
        // As graphql.routes.ts writes it: the database's text when passed through.
        res.end(responseBody(out));
      })();
    });
  });
  console.log(`listening ${await listen(server)}`);
  process.once('SIGTERM', () => { server.close(); void pool.end().then(() => process.exit(0)); });
}

/** The URL a child server prints as `listening <url>` on stdout once it accepts requests. */
function listeningUrl(child: ChildProcessByStdio<null, Readable, null>, name: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening (\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
  });
}

async function startEngine(databaseUrl: string, passthrough: Mode): Promise<{ url: string; cpuMicros(): Promise<number>; stop(): Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', import.meta.filename], {
    env: { ...process.env, BENCH_SERVE: passthrough, BENCH_DB: databaseUrl }, stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await listeningUrl(child, 'engine server');
  return {
    url,
    cpuMicros: async () => {
      const u = (await (await fetch(url)).json()) as { user: number; system: number };
      return u.user + u.system;
    },
    stop: () => new Promise<void>((resolve) => (child.once('exit', () => resolve()), child.kill('SIGTERM'))),
  };
}

async function main(): Promise<void> {
  const db = await createTestDatabase();
  const seed = new pg.Client({ connectionString: db.adminUrl });
  await seed.connect();
  await seed.query(SEED);
  await seed.end();

  const engines = {
    compact: await startEngine(db.roleUrl('links_admin'), 'compact'),
    verbatim: await startEngine(db.roleUrl('links_admin'), 'verbatim'),
    parsed: await startEngine(db.roleUrl('links_admin'), 'off'),
  };
  const pgl = WITH_PGL ? await startPostgraphile(db.adminUrl) : undefined;

  // Same data from every server before measuring, and the same bytes from both engine paths.
  for (const [query, field, n] of [[HASURA_QUERY, 'links_links', 20], [SERIES_QUERY, 'links_daily_stats', 720]] as const) {
    const texts = await Promise.all([engines.compact.url, engines.parsed.url, engines.verbatim.url].map(async (u) => (await fetch(u, { method: 'POST', body: JSON.stringify({ query }) })).text()));
    const a = JSON.parse(texts[0]!) as { data?: Record<string, unknown[]> };
    if (a.data?.[field]?.length !== n) throw new Error(`engine answered ${texts[0]!.slice(0, 500)}`);
    if (texts[0] !== texts[1]) throw new Error(`passthrough and parsed answers differ:\n${texts[0]!.slice(0, 300)}\n${texts[1]!.slice(0, 300)}`);
    if (JSON.stringify(JSON.parse(texts[2]!)) !== texts[1]) throw new Error(`verbatim answer is other JSON:\n${texts[2]!.slice(0, 300)}`);
  }
  if (pgl) {
    const b = (await post(pgl.url, { query: PGL_QUERY, variables: { owner: OWNER } })) as { data?: { allLinks: { nodes: unknown[] } }; errors?: unknown };
    if (!b.data || b.data.allLinks.nodes.length !== 20) throw new Error(`postgraphile answered ${JSON.stringify(b).slice(0, 500)}`);
  }

  console.log(`# ${DURATION}s × ${CONNECTIONS} connections each; 100 users × 200 links; query: 20 links + domain + tags + stats aggregate; series: 720 rows`);
  const engineBench = async (name: string, e: typeof engines.compact, query: string) => {
    const before = await e.cpuMicros();
    const row = await bench(name, e.url, { query });
    return { ...row, 'CPU µs/req': Math.round((await e.cpuMicros() - before) / Math.max(1, row.requests)) };
  };
  for (const e of Object.values(engines)) await bench('warmup engine', e.url, { query: SERIES_QUERY });
  if (pgl) await bench('warmup postgraphile', pgl.url, { query: PGL_QUERY, variables: { owner: OWNER } });
  const cases: Array<[string, typeof engines.compact, string]> = [
    ['linkport engine, parsed (baseline)', engines.parsed, HASURA_QUERY],
    ['linkport engine, compact', engines.compact, HASURA_QUERY],
    ['linkport engine, verbatim', engines.verbatim, HASURA_QUERY],
    ['series 720 rows, parsed (baseline)', engines.parsed, SERIES_QUERY],
    ['series 720 rows, compact', engines.compact, SERIES_QUERY],
    ['series 720 rows, verbatim', engines.verbatim, SERIES_QUERY],
  ];
  const runs = new Map<string, Array<Record<string, number | string>>>();
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, e, query] of cases) runs.set(name, [...(runs.get(name) ?? []), await engineBench(name, e, query)]);
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  const rows: Array<Record<string, unknown>> = cases.map(([name]) => {
    const rs = runs.get(name)!;
    const col = (k: string) => median(rs.map((x) => Number(x[k])));
    return { name, 'req/s': col('req/s'), 'p50 ms': col('p50 ms'), 'p99 ms': col('p99 ms'), errors: rs.reduce((a, x) => a + Number(x.errors), 0), requests: col('requests'), 'CPU µs/req': col('CPU µs/req'), 'CPU per round': rs.map((x) => x['CPU µs/req']).join(' / ') };
  });
  if (pgl) rows.push(await bench('postgraphile v5', pgl.url, { query: PGL_QUERY, variables: { owner: OWNER } }));
  console.table(rows);

  await Promise.all([...Object.values(engines).map((e) => e.stop()), pgl?.stop()]);
  await db.drop();
  process.exit(0);
}

/**
 * PostGraphile runs from bench/postgraphile/, installed there on first use: as a workspace
 * dependency it would weigh on every `npm ci` (and it asks for Node >= 22).
 */
async function startPostgraphile(databaseUrl: string): Promise<{ url: string; stop(): Promise<void> }> {
  const dir = path.join(import.meta.dirname, 'postgraphile');
  if (!fs.existsSync(path.join(dir, 'node_modules', 'postgraphile'))) {
    console.log('# installing the comparison (postgraphile) into hasura/engine/bench/postgraphile …');
    const r = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--no-package-lock', '--loglevel=error'], { cwd: dir, stdio: 'inherit' });
    if (r.status !== 0) throw new Error('installing postgraphile for the comparison failed');
  }
  const child = spawn(process.execPath, [path.join(dir, 'server.mjs')], { cwd: dir, env: { ...process.env, DATABASE_URL: databaseUrl }, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await listeningUrl(child, 'postgraphile');
  return {
    url,
    stop: () => new Promise<void>((resolve) => (child.once('exit', () => resolve()), child.kill('SIGTERM'))),
  };
}

if (process.env.BENCH_SERVE) await serveEngine(process.env.BENCH_DB!, process.env.BENCH_SERVE as Mode);
else await main();

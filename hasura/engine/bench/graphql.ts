/**
 * `npm run bench:graphql`: our engine vs PostGraphile v5 on the same database, same run.
 * Query: 20 links of one owner, newest first, with a nested object relationship, a nested array
 * relationship and an aggregate. The engine serves it as role `user` (the permission filter
 * owner_id = X-Hasura-User-Id does the filtering); PostGraphile gets the same filter as a
 * `condition`. Servers are plain node:http in this process, measured one after the other with
 * autocannon. Env: BENCH_DURATION (s, default 10), BENCH_CONNECTIONS (default 32).
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import pg from 'pg';
import { createTestDatabase } from '@linkport/devstack/testing';
import { createEngine } from '../src/engine.ts';
import type { Session } from '../src/contract.ts';
import { linksMetadata } from '../test/query/fixtures.ts';

// autocannon ships no types; this is the slice used here (loaded through require so no ambient
// module declaration is needed).
interface CannonResult { requests: { average: number; total: number }; latency: { p50: number; p99: number }; errors: number; non2xx: number }
const autocannon = createRequire(import.meta.url)('autocannon') as (opts: Record<string, unknown>) => Promise<CannonResult>;

const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const OWNER = '00000000-0000-4000-8000-000000000001';

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
ANALYZE;`;

const HASURA_QUERY = `query Links {
  links_links(limit: 20, order_by: {created_at: desc}) {
    id code destination title created_at
    domain { hostname }
    link_tags { tag { name } }
    daily_stats_aggregate { aggregate { count sum { clicks } } }
  }
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

async function main(): Promise<void> {
  const db = await createTestDatabase();
  const seed = new pg.Client({ connectionString: db.adminUrl });
  await seed.connect();
  await seed.query(SEED);
  await seed.end();

  const pool = new pg.Pool({ connectionString: db.roleUrl('links_admin'), max: 20 });
  const engine = await createEngine(pool, linksMetadata(), { stringifyNumericTypes: true, maxDepth: 20 });
  const session: Session = { role: 'user', vars: { 'x-hasura-role': 'user', 'x-hasura-user-id': OWNER }, isAdmin: false };
  const engineServer = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { query: string; variables?: Record<string, unknown> };
        const out = await engine.execute(body, session);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(out));
      })();
    });
  });
  const engineUrl = await listen(engineServer);

  const pgl = await startPostgraphile(db.adminUrl);
  const pglUrl = pgl.url;

  // Same data from both before measuring.
  const a = (await post(engineUrl, { query: HASURA_QUERY })) as { data?: { links_links: unknown[] }; errors?: unknown };
  const b = (await post(pglUrl, { query: PGL_QUERY, variables: { owner: OWNER } })) as { data?: { allLinks: { nodes: unknown[] } }; errors?: unknown };
  if (!a.data || a.data.links_links.length !== 20) throw new Error(`engine answered ${JSON.stringify(a).slice(0, 500)}`);
  if (!b.data || b.data.allLinks.nodes.length !== 20) throw new Error(`postgraphile answered ${JSON.stringify(b).slice(0, 500)}`);

  console.log(`# ${DURATION}s × ${CONNECTIONS} connections each; 100 users × 200 links; query: 20 links + domain + tags + stats aggregate`);
  await bench('warmup engine', engineUrl, { query: HASURA_QUERY });
  await bench('warmup postgraphile', pglUrl, { query: PGL_QUERY, variables: { owner: OWNER } });
  const rows = [
    await bench('linkport engine', engineUrl, { query: HASURA_QUERY }),
    await bench('postgraphile v5', pglUrl, { query: PGL_QUERY, variables: { owner: OWNER } }),
  ];
  console.table(rows);

  engineServer.close();
  await pgl.stop();
  await pool.end();
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
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening (\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`postgraphile exited with ${code}`)));
  });
  return {
    url,
    stop: () => new Promise<void>((resolve) => (child.once('exit', () => resolve()), child.kill('SIGTERM'))),
  };
}

await main();

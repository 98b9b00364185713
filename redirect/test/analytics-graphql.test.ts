/**
 * The analytics functions as the links GraphQL API serves them: our engine (its own process) on
 * the project's hasura/metadata, the caller identified as Hasura does (admin secret + role and user
 * id headers, which the gateway's JWT verification yields in production). Same figures as the SQL,
 * only the caller's own links, client errors as GraphQL errors.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import pg from 'pg';
import { ClickSink } from '../src/worker/click-sink.ts';
import { enrich } from '../src/worker/enrich.ts';
import { BROWSER_UA, root, setup, waitFor } from './helper.ts';

const SECRET = 'analytics-test-secret';

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

void test('analytics over GraphQL: tracked functions with arguments and the session argument, owner-only', async (t) => {
  const e = await setup(t);
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'hasura/engine/src/server.ts'], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      ...process.env,
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      HASURA_GRAPHQL_DATABASE_URL: e.db.roleUrl('links_admin'),
      HASURA_GRAPHQL_ADMIN_SECRET: SECRET,
      HASURA_GRAPHQL_METADATA_DIR: path.join(root, 'hasura/metadata'),
    },
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  t.after(async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`engine exited: ${stderr}`);
    return fetch(`${url}/health/ready`).then((r) => r.status === 200, () => false);
  }, 60_000, `engine ready (${stderr})`);

  const gql = async (user: string, query: string, variables: Record<string, unknown> = {}) => {
    const r = await fetch(`${url}/v1/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hasura-admin-secret': SECRET, 'x-hasura-role': 'user', 'x-hasura-user-id': user },
      body: JSON.stringify({ query, variables }),
    });
    assert.equal(r.status, 200);
    return (await r.json()) as { data?: Record<string, Array<Record<string, unknown>>>; errors?: Array<{ message: string; extensions?: { code?: string } }> };
  };

  const pool = new pg.Pool({ connectionString: e.db.roleUrl('redirect_service'), max: 1 });
  pool.on('error', () => {});
  t.after(() => pool.end());
  const other = (await e.admin.query<{ id: string }>(`INSERT INTO core.users (email, password_hash) VALUES ($1, 'x') RETURNING id`, [`o${randomUUID()}@example.com`])).rows[0]!.id;
  const mine = await e.newLink();
  const theirs = (await e.admin.query<{ id: string; code: string }>(`INSERT INTO links.links (owner_id, code, destination) VALUES ($1, $2, 'https://example.org/') RETURNING id, code`, [other, `g${Date.now().toString(36)}`])).rows[0]!;
  const t0 = Date.parse('2026-03-05T09:00:00Z');
  const clicks = [];
  for (let i = 0; i < 48; i++) {
    const link = i % 4 === 0 ? theirs : mine;
    clicks.push(enrich(`${t0 + i}-0`, { id: randomUUID(), linkId: link.id, code: link.code, ts: t0 + i * 1_800_000, visitor: `v${i % 5}`, ua: BROWSER_UA, referrer: '', country: i % 3 ? 'DE' : 'FR', target: 'https://example.com/landing' }));
  }
  await new ClickSink(pool).write(clicks);
  const minesDE = clicks.filter((c) => c.linkId === mine.id && c.country === 'DE').length;

  const q = `query ($link: uuid, $from: timestamptz!, $to: timestamptz!, $country: String) {
    links_analytics_series(args: {link_id: $link, bucket: "day", time_zone: "Europe/Berlin", from_ts: $from, to_ts: $to, country: $country}) { bucket clicks visitors bots }
  }`;
  const range = { from: new Date(t0 - 86_400_000).toISOString(), to: new Date(t0 + 3 * 86_400_000).toISOString() };
  const r = await gql(e.ownerId, q, { ...range, link: mine.id, country: 'DE' });
  assert.equal(r.errors, undefined, JSON.stringify(r.errors));
  const series = r.data!.links_analytics_series!;
  assert.equal(series.reduce((s, x) => s + Number(x.clicks), 0), minesDE);
  // Berlin midnights as instants (CET, +01:00).
  assert.deepEqual(series.map((x) => x.bucket), ['2026-03-05T23:00:00+00:00', '2026-03-04T23:00:00+00:00'].sort());

  // Someone else's link reads as empty, and the account-wide series is only mine.
  assert.deepEqual((await gql(e.ownerId, q, { ...range, link: theirs.id })).data!.links_analytics_series, []);
  const all = (await gql(e.ownerId, q, range)).data!.links_analytics_series!;
  assert.equal(all.reduce((s, x) => s + Number(x.clicks), 0), clicks.filter((c) => c.linkId === mine.id).length);

  const br = await gql(e.ownerId, `query ($from: timestamptz!, $to: timestamptz!) {
    links_analytics_breakdown(args: {dimension: "country", top_n: 1, from_ts: $from, to_ts: $to}) { dimension value clicks }
  }`, range);
  assert.deepEqual(br.data!.links_analytics_breakdown, [{ dimension: 'country', value: 'DE', clicks: String(minesDE) }]);

  // A bad argument is a GraphQL error (HTTP 200, a code, PostgreSQL's message), never a 500.
  const bad = await gql(e.ownerId, `{ links_analytics_series(args: {bucket: "fortnight"}) { clicks } }`);
  assert.equal(bad.data, undefined);
  assert.match(bad.errors?.[0]?.message ?? '', /bucket must be hour, day, week or month/);
  // The row type has no root field of its own for a user (query_root_fields: []).
  const hidden = await gql(e.ownerId, `{ links_analytics_rows { clicks } }`);
  assert.match(hidden.errors?.[0]?.message ?? '', /links_analytics_rows/);
});

/**
 * Where a drain batch's time goes (issue 16 §2), without Redis: batches built in memory from the
 * same generator as bench/drain.ts, written by the sink under test, timed per phase; with
 * PROFILE_EXPLAIN=1 the plan of the statement inside links.ingest_clicks (auto_explain, nested).
 *   node --import tsx redirect/bench/drain-profile.ts [--clicks 50000] [--batch 1000] [--sink statement]
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import { enrich } from '../src/worker/enrich.ts';
import { ClickSink, type SinkMode } from '../src/worker/click-sink.ts';
import { makeClick } from './drain.ts';

const { values } = parseArgs({ options: { clicks: { type: 'string', default: '50000' }, links: { type: 'string', default: '1000' }, batch: { type: 'string', default: '1000' }, sink: { type: 'string', default: 'statement' } } });
const { createTestDatabase } = await import('@linkport/devstack/testing');
const db = await createTestDatabase();
const admin = new pg.Pool({ connectionString: db.adminUrl, max: 2 });
const pool = new pg.Pool({ connectionString: db.roleUrl('redirect_service'), max: 2 });
try {
  const owner = (await admin.query<{ id: string }>(`INSERT INTO core.users (email, password_hash) VALUES ('p@example.com', 'x') RETURNING id`)).rows[0]!.id;
  const links = (await admin.query<{ id: string; code: string }>(`INSERT INTO links.links (owner_id, code, destination) SELECT $1, 'dr' || i, 'https://example.com/' || i FROM generate_series(1, $2::int) i RETURNING id, code`, [owner, Number(values.links)])).rows;
  await admin.query(`SELECT links.ensure_click_partitions(now() - interval '1 month', 3)`);
  const n = Number(values.clicks);
  const size = Number(values.batch);
  const now = Date.now();
  const t0 = performance.now();
  const all = Array.from({ length: n }, (_, j) => enrich(`${now}-${j}`, makeClick(links, j, now)));
  const enrichMs = performance.now() - t0;
  const sink = new ClickSink(pool as never, values.sink as SinkMode);
  if (process.env.PROFILE_EXPLAIN) {
    const c = await admin.connect();
    c.on('notice', (m) => console.log(m.message));
    await c.query(`LOAD 'auto_explain'; SET auto_explain.log_min_duration = 0; SET auto_explain.log_analyze = on; SET auto_explain.log_nested_statements = on; SET auto_explain.log_level = notice; SET auto_explain.log_timing = on; SET ROLE redirect_service`);
    // Warm up then explain one batch in the middle.
    const s2 = new ClickSink({ query: c.query.bind(c), connect: async () => c } as never, values.sink as SinkMode);
    for (let i = 0; i < 3; i++) await s2.write(all.slice(i * size, (i + 1) * size));
    await c.query(`RESET ROLE`);
    c.release();
  }
  const times: number[] = [];
  const tw = performance.now();
  for (let i = process.env.PROFILE_EXPLAIN ? 3 * size : 0; i < n; i += size) {
    const t = performance.now();
    await sink.write(all.slice(i, i + size));
    times.push(performance.now() - t);
  }
  const total = performance.now() - tw;
  times.sort((a, b) => a - b);
  const num = async (sql: string) => Number((await admin.query<{ n: string | null }>(sql)).rows[0]!.n ?? 0);
  const rows = await num(`SELECT count(*) AS n FROM links.clicks`);
  const check = [rows, (await num(`SELECT sum(click_count) AS n FROM links.links`)) + (await num(`SELECT count(*) AS n FROM links.clicks WHERE is_bot`)), await num(`SELECT sum(clicks) AS n FROM links.hourly_stats`), await num(`SELECT sum(clicks) AS n FROM links.account_hourly_stats WHERE dimension = 'total'`), await num(`SELECT count(*) AS n FROM links.rollup_mismatches('2000-01-01', date_trunc('hour', now()) + interval '1 hour')`)];
  console.log(`rows, counters + bots, hourly, account, mismatches: ${check.join(', ')}`);
  console.log(`${values.sink}: ${rows} rows; enrich ${(enrichMs / n * 1000).toFixed(1)} µs/click; write ${(n / (total / 1000)).toFixed(0)} clicks/s; batch ms p50 ${times[times.length >> 1]!.toFixed(1)} p90 ${times[Math.floor(times.length * 0.9)]!.toFixed(1)}`);
} finally {
  await pool.end();
  await admin.end();
  await db.drop();
}

/**
 * Where a drain batch's time goes (issue 16 §2), without Redis: batches built in memory from the
 * same generator as bench/drain.ts, written by the sink under test, timed per phase; with
 * PROFILE_EXPLAIN=1 the plan of the statement inside links.ingest_clicks (auto_explain, nested).
 *   node --import tsx redirect/bench/drain-profile.ts [--clicks 50000] [--batch 1000] [--sink statement,batch] [--rounds 3]
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import { enrich } from '../src/worker/enrich.ts';
import { ClickSink, type SinkMode } from '../src/worker/click-sink.ts';
import { makeClick } from './drain.ts';

const { values } = parseArgs({ options: { clicks: { type: 'string', default: '50000' }, links: { type: 'string', default: '1000' }, batch: { type: 'string', default: '1000' }, sink: { type: 'string', default: 'statement' }, rounds: { type: 'string', default: '1' } } });
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
    if (process.env.PROFILE_EXPLAIN) {
    const c = await admin.connect();
    c.on('notice', (m) => console.log(m.message));
    await c.query(`LOAD 'auto_explain'; SET auto_explain.log_min_duration = 0; SET auto_explain.log_analyze = on; SET auto_explain.log_nested_statements = on; SET auto_explain.log_level = notice; SET auto_explain.log_timing = on; SET ROLE redirect_service`);
    // Warm up then explain one batch in the middle.
    const s2 = new ClickSink({ query: c.query.bind(c), connect: async () => c } as never, values.sink.split(',')[0] as SinkMode);
    for (let i = 0; i < 3; i++) await s2.write(all.slice(i * size, (i + 1) * size));
    await c.query(`RESET ROLE`);
    c.release();
  }
  // Sinks named by --sink (comma-separated) in interleaved rounds, the tables emptied before each
  // pass: the machine is shared, so only same-run, alternating figures compare.
  const sinks = values.sink.split(',') as SinkMode[];
  const rates = new Map<string, number[]>(sinks.map((k) => [k, []]));
  let times: number[] = [];
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const mode of round % 2 ? [...sinks].reverse() : sinks) {
      await admin.query(`TRUNCATE links.clicks, links.daily_stats, links.daily_visitors, links.hourly_stats, links.account_hourly_stats, links.account_daily_stats`);
      if ((await admin.query(`SELECT to_regclass('links.link_hourly_totals') AS t`)).rows[0].t) await admin.query(`TRUNCATE links.link_hourly_totals`);
      await admin.query(`UPDATE links.links SET click_count = 0, last_clicked_at = NULL`);
      // A fresh pool per pass: no plan cached by an earlier pass is reused.
      const passPool = new pg.Pool({ connectionString: db.roleUrl('redirect_service'), max: 1 });
      const s2 = new ClickSink(passPool as never, mode);
      times = [];
      const tw = performance.now();
      for (let i = 0; i < n; i += size) {
        const t = performance.now();
        await s2.write(all.slice(i, i + size));
        times.push(performance.now() - t);
      }
      rates.get(mode)!.push(n / ((performance.now() - tw) / 1000));
      await passPool.end();
    }
  }
  times.sort((a, b) => a - b);
  for (const [k, r] of rates) console.log(`${k}: rounds ${r.map((x) => x.toFixed(0)).join(' / ')} clicks/s`);
  const num = async (sql: string) => Number((await admin.query<{ n: string | null }>(sql)).rows[0]!.n ?? 0);
  const rows = await num(`SELECT count(*) AS n FROM links.clicks`);
  const check = [rows, (await num(`SELECT sum(click_count) AS n FROM links.links`)) + (await num(`SELECT count(*) AS n FROM links.clicks WHERE is_bot`)), await num(`SELECT sum(clicks) AS n FROM links.hourly_stats`), await num(`SELECT sum(clicks) AS n FROM links.account_hourly_stats WHERE dimension = 'total'`), await num(`SELECT count(*) AS n FROM links.rollup_mismatches('2000-01-01', date_trunc('hour', now()) + interval '1 hour')`)];
  console.log(`rows, counters + bots, hourly, account, mismatches: ${check.join(', ')}`);
  console.log(`last pass (${sinks.at(-1)}): ${rows} rows; enrich ${((enrichMs / n) * 1000).toFixed(1)} µs/click; batch ms p50 ${times[times.length >> 1]!.toFixed(1)} p90 ${times[Math.floor(times.length * 0.9)]!.toFixed(1)}`);
} finally {
  await pool.end();
  await admin.end();
  await db.drop();
}

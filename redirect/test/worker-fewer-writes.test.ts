/**
 * Migrations 1764900001800_links_ingest_fewer_writes and 1764900001810_links_ingest_account_fks: the
 * rollups a batch writes (hourly cube, daily visitors, per-hour totals; the account marginals) no
 * longer carry foreign keys to links.links / core.users, whose checks could not fail, and
 * links.click_dims_key is inlined. What must still hold: a deleted link or owner leaves no row
 * behind anywhere, also when the delete races a batch (either order), and the cube keys are the
 * ones the function computes. Real PostgreSQL, two sessions for the races.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { pgErrorCode } from '@linkport/common';
import { ClickSink, type SinkMode } from '../src/worker/click-sink.ts';
import { enrich, type EnrichedClick } from '../src/worker/enrich.ts';
import { makeClick } from '../bench/drain.ts';
import { setup, type Env } from './helper.ts';

const ROLLUPS = ['links.hourly_stats', 'links.daily_visitors', 'links.link_hourly_totals', 'links.daily_stats', 'links.clicks'];

/** Rows of each table a batch writes that belong to `linkId`. */
async function rowsOf(e: Env, linkId: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of ROLLUPS) out[t] = Number((await e.admin.query<{ n: string }>(`SELECT count(*) AS n FROM ${t} WHERE link_id = $1`, [linkId])).rows[0]!.n);
  return out;
}

const accountRows = async (e: Env, owner: string) =>
  Number(
    (
      await e.admin.query<{ n: string }>(
        `SELECT (SELECT count(*) FROM links.account_hourly_stats WHERE owner_id = $1) + (SELECT count(*) FROM links.account_daily_stats WHERE owner_id = $1) AS n`,
        [owner],
      )
    ).rows[0]!.n,
  );

const none = Object.fromEntries(ROLLUPS.map((t) => [t, 0]));

function batchOf(links: { id: string; code: string }[], n: number, seed: string): EnrichedClick[] {
  const now = Date.now();
  return Array.from({ length: n }, (_, j) => {
    const c = makeClick(links, j, now);
    c.linkId = links[j % links.length]!.id; // every link gets clicks
    c.code = links[j % links.length]!.code;
    c.visitor = `v${j % 7}`;
    c.ua = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36'; // humans
    return enrich(`${now}-${seed}-${j}`, c);
  });
}

/** A sink writing through one session, so the test can hold its transaction open. */
function sinkOn(c: pg.PoolClient, mode: SinkMode): ClickSink {
  return new ClickSink({ query: c.query.bind(c), connect: async () => c } as never, mode, 1);
}

const mismatches = async (e: Env) =>
  Number((await e.admin.query<{ n: string }>(`SELECT count(*) AS n FROM links.rollup_mismatches('2000-01-01', date_trunc('hour', now()) + interval '1 hour')`)).rows[0]!.n);

void test('fewer writes: the rollups have no foreign keys to links, a trigger removes a deleted link’s rows instead, and click_dims_key is inlined', async (t) => {
  const e = await setup(t);
  const fks = (
    await e.admin.query<{ t: string }>(
      `SELECT conrelid::regclass::text AS t FROM pg_constraint WHERE contype = 'f' AND confrelid = 'links.links'::regclass ORDER BY 1`,
    )
  ).rows.map((r) => r.t);
  for (const gone of ['links.hourly_stats', 'links.daily_visitors', 'links.link_hourly_totals']) assert.ok(!fks.includes(gone), `${gone} has no FK left`);
  // Hasura's relationships are declared on these two: their keys stay.
  for (const kept of ['links.clicks', 'links.daily_stats']) assert.ok(fks.includes(kept), `${kept} keeps its FK`);
  const ownerFks = (
    await e.admin.query<{ t: string }>(`SELECT conrelid::regclass::text AS t FROM pg_constraint WHERE contype = 'f' AND confrelid = 'core.users'::regclass`)
  ).rows.map((r) => r.t);
  for (const gone of ['links.account_hourly_stats', 'links.account_daily_stats']) assert.ok(!ownerFks.includes(gone), `${gone} has no FK to core.users left`);

  // Inlined: the plan computes md5(...) in place instead of calling the function per row.
  const plan = (
    await e.admin.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN (VERBOSE) SELECT links.click_dims_key(b, c, 'd', 'b', 'o', 'r', 's', 'm', 'c', 'v', 'x') FROM (VALUES (true, 'US'), (false, '')) AS v(b, c)`,
    )
  ).rows.map((r) => r['QUERY PLAN']).join('\n');
  assert.match(plan, /md5\(concat_ws/);
  assert.doesNotMatch(plan, /click_dims_key/);
  // The same key as before (the function's body did not change).
  const { rows } = await e.admin.query<{ k: string; want: string }>(
    `SELECT links.click_dims_key(true, 'US', 'desktop', 'Chrome', 'Windows', '', '', '', '', '', 'https://example.com/')::text AS k,
            md5(concat_ws(E'\\x1f', 'true', 'US', 'desktop', 'Chrome', 'Windows', '', '', '', '', '', 'https://example.com/'))::uuid::text AS want`,
  );
  assert.equal(rows[0]!.k, rows[0]!.want);
});

void test('fewer writes: deleting a link, or its owner, removes its rows from every rollup; other links keep theirs and reconcile', async (t) => {
  const e = await setup(t);
  const links = [await e.newLink(), await e.newLink(), await e.newLink()];
  const pool = new pg.Pool({ connectionString: e.db.roleUrl('redirect_service'), max: 1 });
  t.after(() => pool.end());
  for (const mode of ['batch', 'statement'] as const) {
    const r = await new ClickSink(pool as never, mode, 1).write(batchOf(links, 60, mode));
    assert.equal(r.inserted, 60);
  }
  const before = await rowsOf(e, links[1]!.id);
  for (const [tbl, n] of Object.entries(before)) assert.ok(n > 0, `${tbl} has rows of the link before the delete`);

  // Two links in one statement: the statement trigger's transition table holds both.
  await e.admin.query(`DELETE FROM links.links WHERE id = ANY ($1::uuid[])`, [[links[0]!.id, links[1]!.id]]);
  assert.deepEqual(await rowsOf(e, links[0]!.id), none);
  assert.deepEqual(await rowsOf(e, links[1]!.id), none);
  assert.notDeepEqual(await rowsOf(e, links[2]!.id), none, 'the third link keeps its rows');
  assert.equal(await mismatches(e), 0);

  // The owner goes: links cascade from core.users, and the trigger fires for the cascade too.
  assert.ok((await accountRows(e, e.ownerId)) > 0);
  await e.admin.query(`DELETE FROM core.users WHERE id = $1`, [e.ownerId]);
  assert.deepEqual(await rowsOf(e, links[2]!.id), none);
  assert.equal(await accountRows(e, e.ownerId), 0, 'the owner’s account rollups go with them');
  assert.equal(await mismatches(e), 0);
});

/**
 * Until some session of this database waits on a lock: the race below is then in the order the test
 * means (a fixed sleep let a loaded machine start the other side too late, and the race ran the other way).
 */
async function lockWaiter(e: { admin: pg.Pool }): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const { rows } = await e.admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`);
    if ((rows[0]?.n ?? 0) > 0) return;
    if (Date.now() > deadline) throw new Error('no session came to wait on a lock within 20 s');
    await new Promise((r) => setTimeout(r, 20));
  }
}

void test('fewer writes: a link deleted while a batch of its clicks is uncommitted — the delete waits, then removes that batch’s rows too', async (t) => {
  const e = await setup(t);
  const links = [await e.newLink(), await e.newLink()];
  const pool = new pg.Pool({ connectionString: e.db.roleUrl('redirect_service'), max: 1 });
  t.after(() => pool.end());
  for (const mode of ['batch', 'statement'] as const) {
    const writer = await pool.connect();
    try {
      await writer.query('BEGIN');
      const r = await sinkOn(writer, mode).write(batchOf(links, 40, `w-${mode}`));
      assert.equal(r.inserted, 40);
      // The delete blocks on the locks the batch holds on the link (KEY SHARE from the raw rows' FK
      // check, and the counter UPDATE)...
      let deleted = false;
      const del = e.admin.query(`DELETE FROM links.links WHERE id = $1`, [links[0]!.id]).then(() => (deleted = true));
      await lockWaiter(e);
      assert.equal(deleted, false, 'the delete waits for the batch');
      await writer.query('COMMIT');
      // ...and after COMMIT its trigger's statements see the batch's rows and remove them.
      await del;
    } finally {
      writer.release();
    }
    assert.deepEqual(await rowsOf(e, links[0]!.id), none, `${mode}: nothing left of the deleted link`);
    assert.equal(await mismatches(e), 0);
    links[0] = await e.newLink();
  }
});

void test('fewer writes: a batch racing an uncommitted delete of one of its links fails whole (foreign key), and its retry counts the others exactly', async (t) => {
  const e = await setup(t);
  const links = [await e.newLink(), await e.newLink()];
  const pool = new pg.Pool({ connectionString: e.db.roleUrl('redirect_service'), max: 1 });
  t.after(() => pool.end());
  const batch = batchOf(links, 40, 'race');
  const sink = new ClickSink(pool as never, 'batch', 1);
  // The pool ends after the test: this session must be back in it by then.
  const deleter = await e.admin.connect();
  let write: Promise<string | undefined>;
  try {
    await deleter.query('BEGIN');
    await deleter.query(`DELETE FROM links.links WHERE id = $1`, [links[0]!.id]);
    // The batch's raw INSERT still sees the link (the delete is uncommitted), so it writes the rows
    // and its foreign-key check waits for the deleter; the deleter commits; the check fails.
    write = sink.write(batch).then(
      () => 'written',
      (err: unknown) => pgErrorCode(err),
    );
    await lockWaiter(e);
    await deleter.query('COMMIT');
  } finally {
    deleter.release();
  }
  assert.equal(await write, '23503', 'the whole batch is refused: nothing of it was kept');
  assert.deepEqual(await rowsOf(e, links[0]!.id), none);
  assert.deepEqual(await rowsOf(e, links[1]!.id), none, 'the other link’s rows rolled back with the batch');
  // The worker does not XACK a failed batch. Its redelivery: the raw INSERT's join drops the
  // deleted link's clicks, so only 20 of 40 rows are new, the fast path refuses (LPR01) and the
  // exact path counts those 20.
  const r = await sink.write(batch);
  assert.deepEqual(r, { inserted: 20, counted: 20 });
  assert.equal(sink.replays, 1);
  assert.deepEqual(await rowsOf(e, links[0]!.id), none);
  assert.equal(await mismatches(e), 0);
});

void test('fewer writes: an owner deleted while a batch of their clicks is uncommitted — the cascade waits, then the account rollups go too', async (t) => {
  const e = await setup(t);
  // A second owner whose figures must stay.
  const other = (await e.admin.query<{ id: string }>(`INSERT INTO core.users (email, password_hash) VALUES ('other@example.com', 'x') RETURNING id`)).rows[0]!.id;
  const theirs = (
    await e.admin.query<{ id: string; code: string }>(`INSERT INTO links.links (owner_id, code, destination) VALUES ($1, 'theirs', 'https://example.com/t') RETURNING id, code`, [other])
  ).rows[0]!;
  const links = [await e.newLink(), theirs];
  const pool = new pg.Pool({ connectionString: e.db.roleUrl('redirect_service'), max: 1 });
  t.after(() => pool.end());
  await new ClickSink(pool as never, 'statement', 1).write(batchOf(links, 20, 'early'));
  assert.ok((await accountRows(e, e.ownerId)) > 0);
  const writer = await pool.connect();
  try {
    await writer.query('BEGIN');
    await sinkOn(writer, 'batch').write(batchOf(links, 40, 'late'));
    let deleted = false;
    const del = e.admin.query(`DELETE FROM core.users WHERE id = $1`, [e.ownerId]).then(() => (deleted = true));
    await lockWaiter(e);
    assert.equal(deleted, false, 'the cascade to the links waits for the batch');
    await writer.query('COMMIT');
    await del;
  } finally {
    writer.release();
  }
  assert.equal(await accountRows(e, e.ownerId), 0, 'no account rollup row of the deleted owner');
  assert.deepEqual(await rowsOf(e, links[0]!.id), none);
  assert.ok((await accountRows(e, other)) > 0, 'the other owner keeps theirs');
  assert.equal(await mismatches(e), 0);
});

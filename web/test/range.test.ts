/**
 * The analytics date range (app/src/range.ts): presets end a minute after "now" (the rollup hour in
 * progress counts), custom dates are whole local days with the end day included, and what the SQL
 * functions refuse is refused here first — checked against the real links.analytics_series, so the
 * client's limit cannot drift from the database's (interval '3 years' compares as 1080 days).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { createTestDatabase } from '@linkport/devstack/testing';
import { DAY, MAX_DAYS, RANGES, localDate, rangeOf } from '../app/src/range.ts';

const NOW = Date.UTC(2026, 2, 15, 10, 30); // a fixed clock

void test('presets: the chosen number of days back from now, to a minute past it', () => {
  for (const [key, [, days]] of Object.entries(RANGES)) {
    const r = rangeOf(key, { from: '', to: '' }, NOW);
    assert.ok(typeof r !== 'string', key);
    assert.equal(r.from.getTime(), NOW - days * DAY, key);
    assert.equal(r.to.getTime(), NOW + 60_000, key);
  }
});

void test('custom dates: local midnight of the first day to local midnight after the last', () => {
  const r = rangeOf('custom', { from: '2026-03-01', to: '2026-03-07' }, NOW);
  assert.ok(typeof r !== 'string');
  assert.deepEqual([r.from.getTime(), r.to.getTime()], [new Date(2026, 2, 1).getTime(), new Date(2026, 2, 8).getTime()]);
  assert.equal(localDate(r.from), '2026-03-01');
  // One day: that whole day.
  const one = rangeOf('custom', { from: '2026-03-07', to: '2026-03-07' }, NOW);
  assert.ok(typeof one !== 'string');
  assert.equal(localDate(one.to), '2026-03-08');
});

void test('custom dates: missing, impossible, reversed and too long ranges are sentences', () => {
  assert.equal(rangeOf('custom', { from: '', to: '2026-03-07' }), 'Choose a start and an end date.');
  assert.equal(rangeOf('custom', { from: '2026-02-31', to: '2026-03-07' }), 'Choose a start and an end date.');
  assert.equal(rangeOf('custom', { from: '2026-3-1', to: '2026-03-07' }), 'Choose a start and an end date.');
  assert.equal(rangeOf('custom', { from: '2026-03-08', to: '2026-03-07' }), 'The end date must not be before the start date.');
  // MAX_DAYS whole local days pass and one more is refused. (Where a daylight-saving hour falls in
  // the range the first may be an hour over, and then it must be refused with the same sentence.)
  const start = new Date(2020, 0, 1);
  const lastOk = new Date(2020, 0, MAX_DAYS); // the MAX_DAYS-th day
  const ok = rangeOf('custom', { from: localDate(start), to: localDate(lastOk) });
  const tooLong = rangeOf('custom', { from: localDate(start), to: localDate(new Date(2020, 0, MAX_DAYS + 1)) });
  if (typeof ok !== 'string') assert.ok(ok.to.getTime() - ok.from.getTime() <= MAX_DAYS * DAY);
  else assert.equal(ok, `A date range can be at most ${MAX_DAYS} days long (about 3 years).`, 'only a DST hour can tip it');
  assert.equal(tooLong, `A date range can be at most ${MAX_DAYS} days long (about 3 years).`);
});

void test("the client's longest range is the database's: MAX_DAYS days accepted, a second more refused", async (t) => {
  const db = await createTestDatabase();
  t.after(() => db.drop());
  const pool = new pg.Pool({ connectionString: db.roleUrl('links_admin'), max: 1 });
  t.after(() => pool.end());
  const session = JSON.stringify({ 'x-hasura-role': 'user', 'x-hasura-user-id': '00000000-0000-4000-8000-000000000001' });
  const call = (ms: number) =>
    pool.query(`SELECT count(*) FROM links.analytics_series($1::json, from_ts => $2::timestamptz, to_ts => $3::timestamptz)`, [
      session,
      new Date(NOW - ms).toISOString(),
      new Date(NOW).toISOString(),
    ]);
  await call(MAX_DAYS * DAY);
  await assert.rejects(call(MAX_DAYS * DAY + 1000), (e: { code?: string; message?: string }) => e.code === '22023' && /3 years/.test(e.message ?? ''));
});

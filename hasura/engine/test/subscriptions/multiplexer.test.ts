/**
 * Multiplexed live queries (subscriptions/multiplexer.ts, docs/research/hasura-v2.md §C.5): one
 * statement per batch of cohorts per refetch interval, results fanned out only to the subscribers
 * whose result changed, per-subscriber permissions inside a cohort (a property test), and a bad
 * cohort's error kept to that cohort. Real engine, real PostgreSQL.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import fc from 'fast-check';
import { createTestDatabase } from '@linkport/devstack/testing';
import { createEngine } from '../../src/engine.ts';
import type { GraphQLEngine, GraphQLRequest, GraphQLResponse, Metadata, Session } from '../../src/contract.ts';
import { Multiplexer, type LiveSubscriber } from '../../src/subscriptions/multiplexer.ts';

const USERS = 25;
const md: Metadata = {
  version: 3,
  sources: [{
    name: 'default', kind: 'postgres', configuration: {},
    tables: [{
      table: { schema: 'public', name: 'clicks' },
      select_permissions: [{ role: 'user', permission: { columns: ['id', 'owner', 'count'], filter: { owner: { _eq: 'X-Hasura-User-Id' } }, allow_aggregations: true } }],
    }],
  }],
};

async function setup(t: TestContext) {
  const db = await createTestDatabase({ migrated: false });
  const pool = new pg.Pool({ connectionString: db.adminUrl, max: 4 });
  const livePool = new pg.Pool({ connectionString: db.adminUrl, max: 4 });
  for (const p of [pool, livePool]) p.on('error', () => undefined);
  t.after(async () => { await pool.end(); await livePool.end(); await db.drop(); });
  await pool.query(`CREATE TABLE clicks (id serial PRIMARY KEY, owner text NOT NULL, count int NOT NULL);
    INSERT INTO clicks (owner, count) SELECT 'u' || (g % ${USERS}), g / ${USERS} + 1 FROM generate_series(0, ${USERS * 4 - 1}) g;`);
  // Every statement the live pool runs is counted: the multiplexer must add no hidden per-subscriber query.
  let statements = 0;
  const query = livePool.query.bind(livePool) as (...a: unknown[]) => Promise<unknown>;
  (livePool as unknown as { query: (...a: unknown[]) => Promise<unknown> }).query = (...a: unknown[]) => { statements++; return query(...a); };
  const engine = await createEngine(pool, md, { livePool });
  return { pool, engine, statements: () => statements };
}

const user = (u: number): Session => ({ role: 'user', vars: { 'x-hasura-role': 'user', 'x-hasura-user-id': `u${u}` }, isAdmin: false });
const LIST = 'subscription ($min: Int!) { clicks(where: {count: {_gte: $min}}, order_by: {id: asc}) { id owner count } }';
const COUNT = 'subscription { clicks_aggregate { aggregate { count } } }';

interface Recorded { sub: LiveSubscriber; got: GraphQLResponse[] }
function subscriber(request: GraphQLRequest, session: Session): Recorded {
  const got: GraphQLResponse[] = [];
  return { got, sub: { request, session, last: undefined, onChange: (r) => got.push(r) } };
}

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const own = (engine: GraphQLEngine, r: Recorded) => engine.execute(r.sub.request, r.sub.session, { live: true });

void test('one statement per batch of cohorts per interval; a change reaches only its cohort', async (t) => {
  const { pool, engine, statements } = await setup(t);
  const sizes: number[] = [];
  // The batch sizes of each finished poll. A poll runs its statements in parallel, so their order
  // within it varies; grouping by poll (onPoll ends each) keeps the check aligned to refetches
  // instead of to wherever a reset of `sizes` happened to fall.
  const polls: number[][] = [];
  let current: number[] = [];
  const mux = new Multiplexer({
    engine: () => engine,
    intervalMs: 40,
    batchSize: 20,
    onStatement: (n) => {
      sizes.push(n);
      current.push(n);
    },
    onPoll: () => {
      polls.push(current);
      current = [];
    },
  });
  t.after(() => mux.close());
  // 25 users × (two subscribers with the same variables = one cohort, one with other variables) = 50 cohorts.
  const subs: Array<Recorded & { u: number }> = [];
  for (let u = 0; u < USERS; u++) {
    for (const min of [1, 1, 3]) subs.push({ u, ...subscriber({ query: LIST, variables: { min } }, user(u)) });
  }
  const handles = subs.map((s) => mux.add(s.sub));
  assert.equal(mux.pollerCount, 1);
  assert.equal(mux.cohortCount, 50);
  await until(() => subs.every((s) => s.got.length > 0));
  for (const s of subs) {
    assert.deepEqual(s.got[0], await own(engine, s), 'the multiplexed result is the subscriber\'s own');
    const rows = (s.got[0]!.data as { clicks: Array<{ owner: string }> }).clicks;
    assert.ok(rows.length > 0 && rows.every((r) => r.owner === `u${s.u}`));
  }

  sizes.length = 0;
  polls.length = 0;
  const before = statements();
  await until(() => polls.length >= 3);
  // Each refetch (the first may have begun before the reset: skip it) is ceil(50 / 20) = 3
  // statements serving 20, 20 and 10 cohorts.
  for (const poll of polls.slice(1, 3)) assert.deepEqual([...poll].sort((a, b) => a - b), [10, 20, 20]);
  assert.ok(statements() - before <= sizes.length, `${statements() - before} statements for ${sizes.length} batches`);
  assert.ok(subs.every((s) => s.got.length === 1), 'unchanged results are not sent again');

  await pool.query("UPDATE clicks SET count = count + 10 WHERE owner = 'u3'");
  await until(() => subs.filter((s) => s.u === 3).every((s) => s.got.length === 2));
  const mark = sizes.length;
  await until(() => sizes.length >= mark + 6);
  for (const s of subs) assert.equal(s.got.length, s.u === 3 ? 2 : 1, `u${s.u}`);
  for (const s of subs.filter((x) => x.u === 3)) assert.deepEqual(s.got[1], await own(engine, s));

  for (const h of handles) h.stop();
  assert.equal(mux.pollerCount, 0, 'the poller ends with its last subscriber');
});

void test('a cohort whose value fails in PostgreSQL gets the error; the rest of its batch still gets data', async (t) => {
  const { engine } = await setup(t);
  const mux = new Multiplexer({ engine: () => engine, intervalMs: 30, batchSize: 100 });
  t.after(() => mux.close());
  const q = 'subscription ($re: String!) { clicks(where: {owner: {_regex: $re}}, order_by: {id: asc}) { id owner } }';
  const good = [subscriber({ query: q, variables: { re: '^u1' } }, user(1)), subscriber({ query: q, variables: { re: '.' } }, user(2))];
  const bad = subscriber({ query: q, variables: { re: '(' } }, user(1));
  for (const s of [...good, bad]) mux.add(s.sub);
  await until(() => [...good, bad].every((s) => s.got.length > 0));
  for (const s of good) assert.deepEqual(s.got[0], await own(engine, s));
  assert.equal(bad.got[0]!.data, undefined);
  assert.deepEqual(bad.got[0], await own(engine, bad), 'the error the subscriber would get on its own');
});

void test('property: inside a cohort batch no subscriber ever receives another user\'s row', async (t) => {
  const { engine } = await setup(t);
  const sub = fc.record({ u: fc.integer({ min: 0, max: 6 }), min: fc.integer({ min: 0, max: 5 }), count: fc.boolean() });
  await fc.assert(
    fc.asyncProperty(fc.array(sub, { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 8 }), async (specs, batchSize) => {
      const mux = new Multiplexer({ engine: () => engine, intervalMs: 5, batchSize });
      try {
        const subs = specs.map((s) => ({ ...s, ...subscriber(s.count ? { query: COUNT } : { query: LIST, variables: { min: s.min } }, user(s.u)) }));
        for (const s of subs) mux.add(s.sub);
        await until(() => subs.every((s) => s.got.length > 0));
        for (const s of subs) {
          const data = s.got[0]!.data as { clicks?: Array<{ owner: string; count: number }> };
          if (data.clicks) assert.ok(data.clicks.every((r) => r.owner === `u${s.u}` && r.count >= s.min), JSON.stringify(s.got[0]));
          assert.deepEqual(s.got[0], await own(engine, s));
        }
      } finally {
        mux.close();
      }
    }),
    { numRuns: 25 },
  );
});

void test('after a metadata reload the subscribers are planned again (permission removed → Hasura\'s error)', async (t) => {
  const { engine } = await setup(t);
  const mux = new Multiplexer({ engine: () => engine, intervalMs: 20 });
  t.after(() => mux.close());
  const s = subscriber({ query: COUNT }, user(1));
  mux.add(s.sub);
  await until(() => s.got.length === 1);
  assert.deepEqual(s.got[0], { data: { clicks_aggregate: { aggregate: { count: 4 } } } });
  const noPerm = structuredClone(md);
  noPerm.sources[0]!.tables[0]!.select_permissions = [];
  await engine.reload(noPerm);
  await until(() => s.got.length === 2);
  assert.equal(s.got[1]!.data, undefined);
  assert.deepEqual(s.got[1], await own(engine, s));
  await engine.reload(md);
  await until(() => s.got.length === 3);
  assert.deepEqual(s.got[2], s.got[0]);
});

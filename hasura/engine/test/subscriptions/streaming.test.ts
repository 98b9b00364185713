/**
 * Streaming subscriptions (schema/stream.ts, compile/stream.ts, subscriptions/streaming.ts), with
 * upstream's TestStreamingSubscription and TestStreamingSubscriptionWithTies cases
 * (server/tests-py/test_subscriptions.py, queries/subscriptions/streaming/) ported to the
 * multiplexer, plus what multiplexing must keep: one statement per cohort batch per poll, cohorts
 * that follow their cursor, per-subscriber permissions. Real engine, real PostgreSQL.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { GraphQLRequest, GraphQLResponse, Session } from '../../src/contract.ts';
import { StreamMultiplexer, type StreamSubscriber } from '../../src/subscriptions/streaming.ts';
import { createEngine } from '../../src/engine.ts';
import { admin, setupStreams, streamMetadata, until, user } from './stream-helper.ts';

interface Recorded { sub: StreamSubscriber; got: GraphQLResponse[] }
function subscriber(request: GraphQLRequest, session: Session): Recorded {
  const got: GraphQLResponse[] = [];
  return { got, sub: { request, session, onData: (r) => got.push(r) } };
}
const rows = (r: GraphQLResponse | undefined, key = 'stream') => (r?.data as Record<string, Array<Record<string, unknown>>>)[key]!;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

void test('schema: <table>_stream in subscription_root only, with Hasura\'s argument and cursor types', async (t) => {
  const { engine } = await setupStreams(t);
  const intro = await engine.execute({
    query: `{ s: __type(name: "subscription_root") { fields { name args { name type { kind name ofType { kind name ofType { name } } } } } }
      q: __type(name: "query_root") { fields { name } }
      c: __type(name: "articles_stream_cursor_input") { inputFields { name type { kind name ofType { name } } } }
      v: __type(name: "articles_stream_cursor_value_input") { inputFields { name type { name } } }
      o: __type(name: "cursor_ordering") { enumValues { name } } }`,
  }, admin);
  const d = JSON.parse(JSON.stringify(intro.data)) as any;
  const f = d.s.fields.find((x: { name: string }) => x.name === 'articles_stream');
  assert.ok(f, 'articles_stream in subscription_root');
  assert.deepEqual(f.args.map((a: { name: string }) => a.name), ['batch_size', 'cursor', 'where']);
  assert.deepEqual(f.args[0].type, { kind: 'NON_NULL', name: null, ofType: { kind: 'SCALAR', name: 'Int', ofType: null } });
  assert.deepEqual(f.args[1].type, { kind: 'NON_NULL', name: null, ofType: { kind: 'LIST', name: null, ofType: { name: 'articles_stream_cursor_input' } } });
  assert.ok(!d.q.fields.some((x: { name: string }) => x.name.endsWith('_stream')), 'no stream field in query_root');
  assert.deepEqual(d.c.inputFields.map((x: { name: string }) => x.name), ['initial_value', 'ordering']);
  assert.deepEqual(d.v.inputFields.map((x: { name: string }) => x.name), ['content', 'id', 'is_public', 'owner', 'priority', 'title']);
  assert.deepEqual(d.o.enumValues.map((x: { name: string }) => x.name), ['ASC', 'DESC']);
  // The `public` role sees title and content only: its cursor can only be on those.
  const pub = await engine.execute({ query: '{ __type(name: "articles_stream_cursor_value_input") { inputFields { name } } }' }, { role: 'public', vars: { 'x-hasura-role': 'public' }, isAdmin: false });
  assert.deepEqual((pub.data as any).__type.inputFields.map((x: { name: string }) => x.name), ['content', 'title']);
  // users has custom column names: the cursor takes userId.
  const u = await engine.execute({ query: '{ __type(name: "users_stream_cursor_value_input") { inputFields { name } } }' }, admin);
  assert.deepEqual((u.data as any).__type.inputFields.map((x: { name: string }) => x.name), ['name', 'userId']);
});

// SubscriptionStream.hs `streamColumnParserArg`: each cursor value field is described by the
// column's ciDescription — column_config `comment` when given (Table/API.hs
// `extractColumnConfiguration`: an empty one removes it), else the PostgreSQL comment; no
// description at all otherwise (upstream's introspection shows `"description": null` there).
void test('cursor value input fields carry the column descriptions', async (t) => {
  const { pool, livePool } = await setupStreams(t);
  await pool.query(`COMMENT ON COLUMN articles.title IS 'headline shown in lists'; COMMENT ON COLUMN articles.id IS 'row id'; COMMENT ON COLUMN articles.priority IS 'from postgres'`);
  const md = structuredClone(streamMetadata);
  const articles = md.sources![0]!.tables!.find((x) => x.table.name === 'articles')!;
  articles.configuration = { column_config: { priority: { comment: 'from metadata' }, id: { comment: '' } } };
  const engine = await createEngine(pool, md, { livePool });
  const r = await engine.execute({ query: '{ __type(name: "articles_stream_cursor_value_input") { inputFields { name description } } }' }, admin);
  const got = Object.fromEntries(((r.data as any).__type.inputFields as Array<{ name: string; description: string | null }>).map((f) => [f.name, f.description]));
  assert.deepEqual(got, { content: null, id: null, is_public: null, owner: null, priority: 'from metadata', title: 'headline shown in lists' });
});

// Table/Cache.hs `_tcrfSelectStream`: custom_root_fields.select_stream renames the stream field
// (and only it); the cursor types keep the table's name as upstream's mkStreamCursorInputTypeName does.
void test('custom_root_fields.select_stream names the stream root field', async (t) => {
  const { pool, livePool } = await setupStreams(t);
  const md = structuredClone(streamMetadata);
  const users = md.sources![0]!.tables!.find((x) => x.table.name === 'users')!;
  users.configuration = { custom_column_names: { id: 'userId' }, custom_root_fields: { select_stream: 'userFeed' } };
  const engine = await createEngine(pool, md, { livePool });
  const intro = await engine.execute({ query: '{ __type(name: "subscription_root") { fields { name args { name type { ofType { ofType { name } } } } } } }' }, admin);
  const names = ((intro.data as any).__type.fields as Array<{ name: string }>).map((f) => f.name);
  assert.ok(names.includes('userFeed'), names.join());
  assert.ok(!names.includes('users_stream'), 'the default name is gone');
  assert.ok(names.includes('users') && names.includes('articles_stream'), 'other fields keep their names');
  const feed = (intro.data as any).__type.fields.find((f: { name: string }) => f.name === 'userFeed');
  assert.equal(feed.args.find((a: { name: string }) => a.name === 'cursor').type.ofType.ofType.name, 'users_stream_cursor_input');
  const res = await engine.execute({ query: 'subscription { userFeed(cursor: {initial_value: {userId: 1}}, batch_size: 5) { userId name } }' }, admin);
  assert.deepEqual(res, { data: { userFeed: [{ userId: 2, name: 'Name 2' }] } });
  const old = await engine.execute({ query: 'subscription { users_stream(cursor: {initial_value: {userId: 1}}, batch_size: 5) { userId } }' }, admin);
  assert.equal(old.errors?.[0]?.extensions.code, 'validation-failed');
});

void test('argument errors as Hasura parses them', async (t) => {
  const { engine } = await setupStreams(t);
  const plan = (q: string) => engine.prepareLive!({ query: q }, admin);
  const err = (q: string) => {
    const p = plan(q);
    assert.ok(!('respond' in p), q);
    return (p as GraphQLResponse).errors![0]!;
  };
  assert.equal(err('subscription { articles_stream(cursor: [], batch_size: 1) { id } }').message, 'one streaming column field is expected');
  assert.equal(err('subscription { articles_stream(cursor: {initial_value: {}}, batch_size: 1) { id } }').message, 'one streaming column field is expected');
  assert.equal(err('subscription { articles_stream(cursor: {initial_value: {id: 1, priority: 2}}, batch_size: 1) { id } }').message, 'multiple column cursors are not supported yet');
  assert.equal(err('subscription { articles_stream(cursor: [{initial_value: {id: 1}}, {initial_value: {priority: 2}}], batch_size: 1) { id } }').message, 'multiple column cursors are not supported yet');
  const neg = err('subscription { articles_stream(cursor: {initial_value: {id: 1}}, batch_size: -1) { id } }');
  assert.equal(neg.extensions.code, 'validation-failed');
  assert.match(neg.message, /non-negative/);
  const two = err('subscription @_multiple_top_level_fields { a: articles_stream(cursor: {initial_value: {id: 1}}, batch_size: 1) { id } b: articles(limit: 1) { id } }');
  assert.ok(two.message === 'exactly one root field is allowed for streaming subscriptions' || two.message === 'subscriptions must select one top level field', two.message);
  const ok = plan('subscription { articles_stream(cursor: {initial_value: {id: 1}}, batch_size: 1) { id } }');
  assert.ok('respond' in ok && ok.stream, 'a streaming plan');
});

void test('a stream run once (HTTP) answers the first batch after the initial cursor', async (t) => {
  const { engine, pool } = await setupStreams(t);
  await pool.query("INSERT INTO articles (id, title) SELECT g, 'Article title ' || g FROM generate_series(1, 5) g");
  const res = await engine.execute({ query: 'subscription { stream: articles_stream(cursor: {initial_value: {id: 2}}, batch_size: 2) { id title } }' }, admin);
  assert.deepEqual(res, { data: { stream: [{ id: 3, title: 'Article title 3' }, { id: 4, title: 'Article title 4' }] } });
  const desc = await engine.execute({ query: 'subscription { stream: articles_stream(cursor: {initial_value: {id: 4}, ordering: DESC}, batch_size: 5) { id } }' }, admin);
  assert.deepEqual(desc, { data: { stream: [{ id: 3 }, { id: 2 }, { id: 1 }] } });
});

void test('upstream test_basic_streaming_subscription_existing_static_data: 10 rows, batch_size 2 → five batches, then nothing', async (t) => {
  const { engine, pool } = await setupStreams(t);
  await pool.query("INSERT INTO articles (id, title) SELECT g, 'Article title ' || g FROM generate_series(1, 10) g");
  const mux = new StreamMultiplexer({ engine: () => engine, intervalMs: 30 });
  t.after(() => mux.close());
  const s = subscriber({ query: 'subscription ($batch_size: Int!) { stream: articles_stream(cursor: {initial_value: {id: 0}}, batch_size: $batch_size) { id title } }', variables: { batch_size: 2 } }, admin);
  const h = mux.add(s.sub);
  await until(() => s.got.length === 5);
  s.got.forEach((r, i) => assert.deepEqual(rows(r), [{ id: 2 * i + 1, title: `Article title ${2 * i + 1}` }, { id: 2 * i + 2, title: `Article title ${2 * i + 2}` }]));
  await sleep(150);
  assert.equal(s.got.length, 5, 'no empty batch is sent');
  h.stop();
  assert.equal(mux.pollerCount, 0);
});

void test('upstream test_streaming_subscriptions_with_concurrent_data_inserts (timestamptz cursor as a variable)', async (t) => {
  const { engine, pool } = await setupStreams(t);
  const mux = new StreamMultiplexer({ engine: () => engine, intervalMs: 30 });
  t.after(() => mux.close());
  const s = subscriber({
    query: 'subscription ($batch_size: Int!, $initial_created_at: timestamptz!) { stream: test_t2_stream(cursor: [{initial_value: {created_at: $initial_created_at}, ordering: ASC}], batch_size: $batch_size) { c1 c2 } }',
    variables: { batch_size: 2, initial_created_at: '2020-01-01' },
  }, admin);
  mux.add(s.sub);
  await sleep(120);
  assert.equal(s.got.length, 0, 'nothing while the table is empty');
  await pool.query("INSERT INTO test_t2 (c1, c2) VALUES (1, 'test1')");
  await until(() => s.got.length === 1);
  assert.deepEqual(rows(s.got[0]), [{ c1: 1, c2: 'test1' }]);
  // Both rows of one insert share created_at (now() is the transaction's time): one batch.
  await pool.query("INSERT INTO test_t2 (c1, c2) VALUES (2, 'test2'), (3, 'test3')");
  await until(() => s.got.length === 2);
  assert.deepEqual(rows(s.got[1]), [{ c1: 2, c2: 'test2' }, { c1: 3, c2: 'test3' }]);
  await sleep(120);
  assert.equal(s.got.length, 2);
});

void test('upstream test_streaming_subscription_with_custom_name_set_for_cursor (userId)', async (t) => {
  const { engine } = await setupStreams(t);
  const mux = new StreamMultiplexer({ engine: () => engine, intervalMs: 30 });
  t.after(() => mux.close());
  const s = subscriber({ query: 'subscription ($batch_size: Int!) { stream: users_stream(cursor: {initial_value: {userId: 0}}, batch_size: $batch_size) { userId name } }', variables: { batch_size: 1 } }, admin);
  mux.add(s.sub);
  await until(() => s.got.length === 2);
  assert.deepEqual(s.got.map((r) => rows(r)), [[{ userId: 1, name: 'Name 1' }], [{ userId: 2, name: 'Name 2' }]]);
});

void test('upstream TestStreamingSubscriptionWithTies: rows sharing the last cursor value come in the same batch', async (t) => {
  const { engine, pool } = await setupStreams(t);
  await pool.query('INSERT INTO articles (id, priority) VALUES (7, 1), (6, 2), (5, 2), (4, 2), (1, 3), (2, 4), (3, 5)');
  const mux = new StreamMultiplexer({ engine: () => engine, intervalMs: 30 });
  t.after(() => mux.close());
  const s = subscriber({ query: 'subscription ($batch_size: Int!) { stream: articles_stream(cursor: [{initial_value: {priority: 0}, ordering: ASC}], batch_size: $batch_size) { id priority } }', variables: { batch_size: 2 } }, admin);
  mux.add(s.sub);
  await until(() => s.got.length === 3);
  const batches = s.got.map((r) => rows(r));
  assert.deepEqual(batches.map((b) => b.map((r) => r.priority)), [[1, 2, 2, 2], [3, 4], [5]]);
  assert.deepEqual(batches.map((b) => b.map((r) => r.id as number).sort((a, b) => a - b)), [[4, 5, 6, 7], [1, 2], [3]]);
});

void test('multiplexed: one statement per cohort batch per poll; cohorts follow their cursor and merge when they meet', async (t) => {
  const { engine, pool, statements } = await setupStreams(t);
  await pool.query("INSERT INTO articles (id, title, owner) SELECT g, 't' || g, 'u' || (g % 3) FROM generate_series(1, 30) g");
  const sizes: number[] = [];
  const polls: number[] = [];
  const mux = new StreamMultiplexer({ engine: () => engine, intervalMs: 40, batchSize: 4, onStatement: (n) => sizes.push(n), onPoll: (p) => polls.push(p.statements) });
  t.after(() => mux.close());
  const q = 'subscription ($from: Int!) { stream: articles_stream(cursor: {initial_value: {id: $from}}, batch_size: 5) { id } }';
  // Ten subscribers at ten different starting points = ten cohorts; two batches of 4 and one of 2.
  const subs = Array.from({ length: 10 }, (_, i) => subscriber({ query: q, variables: { from: i } }, admin));
  for (const s of subs) mux.add(s.sub);
  assert.equal(mux.cohortCount, 10);
  await until(() => subs.every((s) => s.got.length >= 1));
  subs.forEach((s, i) => assert.deepEqual(rows(s.got[0]).map((r) => r.id), [i + 1, i + 2, i + 3, i + 4, i + 5]));
  assert.deepEqual(sizes.slice(0, 3).sort((a, b) => a - b), [2, 4, 4], 'one statement per batch of cohorts');
  // Every subscriber reaches the end (id 30) with no row twice and none missing.
  await until(() => subs.every((s) => s.got.flatMap((r) => rows(r)).some((r) => r.id === 30)));
  subs.forEach((s, i) => {
    const ids = s.got.flatMap((r) => rows(r).map((x) => x.id as number));
    assert.deepEqual(ids, Array.from({ length: 30 - i }, (_, k) => i + 1 + k));
  });
  // All at the same cursor now: one cohort, one statement per poll.
  await until(() => mux.cohortCount === 1);
  const before = statements();
  const mark = polls.length;
  await until(() => polls.length >= mark + 3);
  assert.deepEqual(polls.slice(mark, mark + 3), [1, 1, 1]);
  assert.ok(statements() - before <= 4, `${statements() - before} live-pool statements over 3 polls`);
  // A new row reaches every subscriber once.
  await pool.query("INSERT INTO articles (id, title, owner) VALUES (31, 't31', 'u1')");
  await until(() => subs.every((s) => rows(s.got.at(-1)).some((r) => r.id === 31)));
  await sleep(100);
  for (const s of subs) assert.equal(s.got.filter((r) => rows(r).some((x) => x.id === 31)).length, 1);
});

void test('a subscriber joining a poller that has advanced starts from its own initial value', async (t) => {
  const { engine, pool } = await setupStreams(t);
  await pool.query("INSERT INTO articles (id, title) SELECT g, 't' || g FROM generate_series(1, 6) g");
  const mux = new StreamMultiplexer({ engine: () => engine, intervalMs: 30 });
  t.after(() => mux.close());
  const q = { query: 'subscription { stream: articles_stream(cursor: {initial_value: {id: 0}}, batch_size: 10) { id } }' };
  const a = subscriber(q, admin);
  mux.add(a.sub);
  await until(() => a.got.length === 1);
  const b = subscriber(q, admin);
  mux.add(b.sub);
  await until(() => b.got.length === 1);
  assert.deepEqual(rows(b.got[0]), rows(a.got[0]));
  assert.equal(a.got.length, 1, 'the first subscriber gets nothing again');
  assert.equal(mux.pollerCount, 1);
  await until(() => mux.cohortCount === 1);
});

void test('permissions inside a cohort batch: each user streams only their own rows', async (t) => {
  const { engine, pool } = await setupStreams(t);
  await pool.query("INSERT INTO articles (id, title, owner) SELECT g, 't' || g, 'u' || (g % 4) FROM generate_series(1, 40) g");
  const mux = new StreamMultiplexer({ engine: () => engine, intervalMs: 20, batchSize: 3 });
  t.after(() => mux.close());
  const q = { query: 'subscription { stream: articles_stream(cursor: {initial_value: {id: 0}}, batch_size: 3) { id owner } }' };
  const subs = [0, 1, 2, 3, 0, 1].map((u) => ({ u, ...subscriber(q, user(`u${u}`)) }));
  for (const s of subs) mux.add(s.sub);
  await until(() => subs.every((s) => s.got.flatMap((r) => rows(r)).length === 10));
  for (const s of subs) {
    const all = s.got.flatMap((r) => rows(r));
    assert.ok(all.every((r) => r.owner === `u${s.u}`), JSON.stringify(all));
    assert.deepEqual(all.map((r) => r.id), Array.from({ length: 10 }, (_, k) => 4 * k + (s.u === 0 ? 4 : s.u)));
  }
});

void test('after a reload a subscriber is planned again and keeps its cursor', async (t) => {
  const { engine, pool } = await setupStreams(t);
  const { streamMetadata } = await import('./stream-helper.ts');
  await pool.query("INSERT INTO articles (id, title) SELECT g, 't' || g FROM generate_series(1, 3) g");
  const mux = new StreamMultiplexer({ engine: () => engine, intervalMs: 20 });
  t.after(() => mux.close());
  const s = subscriber({ query: 'subscription { stream: articles_stream(cursor: {initial_value: {id: 0}}, batch_size: 10) { id } }' }, admin);
  mux.add(s.sub);
  await until(() => s.got.length === 1);
  await engine.reload(structuredClone(streamMetadata));
  await sleep(100);
  assert.equal(s.got.length, 1, 'no batch sent again after the reload');
  await pool.query("INSERT INTO articles (id, title) VALUES (4, 't4')");
  await until(() => s.got.length === 2);
  assert.deepEqual(rows(s.got[1]), [{ id: 4 }]);
});

// Issue 14's isolation property for streams: cohorts are keyed by query, cursor and session, and a
// batch statement serves several cohorts of several users at once (unnest of their variables, as
// Hasura's multiplexed streaming queries); no subscriber may ever receive a row of another user,
// miss one of its own, or get one twice — also for rows committed while the streams run.
void test('property: inside a streaming cohort batch no subscriber ever receives another user\'s row', async (t) => {
  const { engine, pool } = await setupStreams(t);
  const owners = fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 0, maxLength: 15 });
  const sub = fc.record({ u: fc.integer({ min: 0, max: 3 }), from: fc.integer({ min: 0, max: 8 }), batch: fc.integer({ min: 1, max: 4 }) });
  await fc.assert(
    fc.asyncProperty(owners, owners, fc.array(sub, { minLength: 1, maxLength: 12 }), fc.integer({ min: 1, max: 5 }), async (before, during, specs, batchSize) => {
      await pool.query('TRUNCATE articles');
      const insert = (list: number[], first: number) => list.length === 0 ? Promise.resolve() : pool.query(
        "INSERT INTO articles (id, title, owner) SELECT first + i, 't', 'u' || o FROM unnest($1::int[]) WITH ORDINALITY AS x(o, i), (SELECT $2::int AS first) f",
        [list, first - 1]);
      await insert(before, 1);
      const mux = new StreamMultiplexer({ engine: () => engine, intervalMs: 5, batchSize });
      try {
        const subs = specs.map((s) => ({ ...s, ...subscriber({ query: `subscription { stream: articles_stream(cursor: {initial_value: {id: ${s.from}}}, batch_size: ${s.batch}) { id owner } }` }, user(`u${s.u}`)) }));
        for (const s of subs) mux.add(s.sub);
        await insert(during, before.length + 1);
        const all = [...before, ...during];
        const expected = (s: (typeof subs)[number]) => all.flatMap((o, i) => (o === s.u && i + 1 > s.from ? [i + 1] : []));
        const got = (s: (typeof subs)[number]) => s.got.flatMap((r) => rows(r));
        await until(() => subs.every((s) => got(s).length >= expected(s).length));
        await sleep(30); // a few more polls: nothing extra may arrive
        for (const s of subs) {
          const mine = got(s);
          assert.ok(mine.every((r) => r.owner === `u${s.u}`), `u${s.u} got ${JSON.stringify(mine)}`);
          assert.deepEqual(mine.map((r) => r.id), expected(s), `u${s.u} from ${s.from}`);
        }
      } finally {
        mux.close();
      }
    }),
    { numRuns: 20 },
  );
});

/**
 * The database's JSON passed through (execute/passthrough.ts, issue 16 §1): the HTTP answer to a
 * query whose root fields all come from PostgreSQL is PostgreSQL's `data` text, compacted; it must
 * be byte for byte what parsing and stringifying gave (ENGINE_JSON_PASSTHROUGH=0, the old path)
 * on a row built to trip it up, and it must differ only where PostgreSQL's own rendering is what
 * Hasura sends (numbers PostgreSQL prints differently from JS, a `json` column's text verbatim).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { createTestDatabase } from '@linkport/devstack/testing';
import { buildTestApp, post } from '../http/helper.ts';
import { compactJson, isPassthrough, passthroughResponse, responseBody } from '../../src/execute/passthrough.ts';
import { createEngine } from '../../src/engine.ts';
import type { Metadata } from '../../src/contract.ts';

const SECRET = 'passthrough-secret';
const H = { 'x-hasura-admin-secret': SECRET };

const DDL = `
CREATE TABLE public.tricky (
  id int PRIMARY KEY, n numeric, big bigint, f float8, r real, t text, j json, jb jsonb,
  ints int[], grid int[][], texts text[], ts timestamptz, ok boolean, nothing text
);
CREATE TABLE public.tricky_child (id int PRIMARY KEY, parent_id int REFERENCES public.tricky (id), label text);
INSERT INTO public.tricky VALUES
 (1, 1.50, 9007199254740993, 1.5, 0.25,
  E'quote " backslash \\\\ tab \\t newline \\n ctl \\u0001 del \\u007f é 日本 😀 \\u2028 end',
  '{"a":[1,2,{"b":null}],"c":"é","d":{"e":[[]]}}',
  '{"z": [1, [2, [3]]], "y": {"x": null, "w": "ü \\" \\\\"}, "v": true}',
  '{1,2,3}', '{{1,2},{3,4}}', '{"a b",NULL,"c\\"d"}', '2026-03-29 01:30:00+00', true, NULL),
 (2, NULL, NULL, NULL, NULL, '', 'null', '[]', '{}', NULL, '{}', NULL, false, NULL);
INSERT INTO public.tricky_child VALUES (10, 1, 'x  y'), (11, 1, ' '), (12, 2, NULL);`;

/** The numbers and json text where PostgreSQL's rendering and JSON.stringify's part ways. */
const DIFF_DDL = `
CREATE TABLE public.numbers (id int PRIMARY KEY, n numeric, big bigint, f float8, j json);
INSERT INTO public.numbers VALUES (1, 1.0, 9007199254740993, 1e20, '{"b" : 1,  "a":"\\u00e9", "1": 2}');`;

async function app(t: TestContext, passthrough: boolean | 'verbatim', stringify = true): Promise<FastifyInstance> {
  const { app } = await buildTestApp(t, {
    fake: false,
    env: { HASURA_GRAPHQL_ADMIN_SECRET: SECRET, ENGINE_JSON_PASSTHROUGH: passthrough === 'verbatim' ? passthrough : passthrough ? '1' : '0', HASURA_GRAPHQL_STRINGIFY_NUMERIC_TYPES: String(stringify) },
  });
  for (const sql of [DDL, DIFF_DDL]) {
    const r = await post(app, '/v2/query', { type: 'run_sql', args: { sql } }, H);
    assert.equal(r.status, 200, JSON.stringify(r.body));
  }
  const args = [
    { type: 'pg_track_table', args: { source: 'default', table: { schema: 'public', name: 'tricky' } } },
    { type: 'pg_track_table', args: { source: 'default', table: { schema: 'public', name: 'tricky_child' } } },
    { type: 'pg_track_table', args: { source: 'default', table: { schema: 'public', name: 'numbers' } } },
    { type: 'pg_create_array_relationship', args: { source: 'default', table: 'tricky', name: 'children', using: { foreign_key_constraint_on: { table: 'tricky_child', column: 'parent_id' } } } },
    { type: 'pg_create_object_relationship', args: { source: 'default', table: 'tricky_child', name: 'parent', using: { foreign_key_constraint_on: 'parent_id' } } },
  ];
  const r = await post(app, '/v1/metadata', { type: 'bulk', args }, H);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return app;
}

const raw = async (a: FastifyInstance, query: string, variables?: Record<string, unknown>) => {
  const res = await a.inject({ method: 'POST', url: '/v1/graphql', payload: JSON.stringify({ query, variables }), headers: { 'content-type': 'application/json', ...H } });
  assert.equal(res.statusCode, 200);
  return res.body;
};

const TRICKY = `query Tricky {
  tricky(order_by: {id: asc}) {
    id n big f r t j jb ints grid texts ts ok nothing
    children(order_by: {id: asc}) { id label parent { id t } }
    children_aggregate { aggregate { count max { label } } }
  }
  one: tricky_by_pk(id: 2) { id t j jb ints texts }
  none: tricky_by_pk(id: 3) { id }
  agg: tricky_aggregate { aggregate { count sum { big n f } avg { f } } nodes { jb } }
  empty: tricky(where: {id: {_eq: 99}}) { id }
}`;

void test('compactJson takes out whitespace outside strings only', () => {
  const cases = [
    '{"a" : 1, "b" : [1, \n 2, \n {"c" : "x  y"}]}',
    '[{"q" : "say \\"hi\\" " , "bs" : "\\\\"}, \n {"end\\\\" : "\\\\\\" \\t"}]',
    '  {"k":"\\u0001 \\n"}\r\n',
    '{}',
    '"  "',
    'null',
  ];
  for (const c of cases) assert.equal(compactJson(c).toString(), JSON.stringify(JSON.parse(c)), c);
  assert.equal(compactJson('{"é" : "😀 \\\\", "b" : [1, \n 2]}', '[', ']').toString(), '[{"é":"😀 \\\\","b":[1,2]}]');
});

void test('a passed-through response reads as the parsed one, and a read makes the object the truth', () => {
  const res = passthroughResponse('{"a" : [1, \n 2]}');
  assert.equal(isPassthrough(res), true);
  assert.equal(String(responseBody(res)), '{"data":{"a":[1,2]}}');
  assert.equal(String(responseBody([res, { errors: [] }])), '[{"data":{"a":[1,2]}},{"errors":[]}]');
  assert.equal(responseBody(passthroughResponse('{"a" : [1, \n 2]}', 'verbatim')), '{"data":{"a" : [1, \n 2]}}');
  assert.deepStrictEqual(res, { data: { a: [1, 2] } }); // deep equality reads `data`
  assert.equal(isPassthrough(res), false);
  (res.data as { a: number[] }).a.push(3);
  assert.equal(responseBody(res), '{"data":{"a":[1,2,3]}}');
  assert.equal(JSON.stringify(passthroughResponse('{"b" : null}')), '{"data":{"b":null}}');
});

void test('passthrough answers are byte-identical to the parsed path on a tricky row', async (t) => {
  const [on, off] = await Promise.all([app(t, true), app(t, false)]);
  const a = await raw(on, TRICKY);
  const b = await raw(off, TRICKY);
  assert.doesNotMatch(a, /"errors"/, a);
  assert.equal(a, b);
  // The row really carries what it was built for (not an accidentally plain answer).
  const row = (JSON.parse(a) as { data: { tricky: Array<Record<string, unknown>> } }).data.tricky[0]!;
  assert.equal(row.big, '9007199254740993');
  assert.deepEqual(row.grid, [[1, 2], [3, 4]]);
  assert.deepEqual(row.texts, ['a b', null, 'c"d']);
  assert.match(String(row.t), /é 日本 😀 \u2028 end$/);
  assert.deepEqual(row.jb, { v: true, y: { w: 'ü " \\', x: null }, z: [1, [2, [3]]] });
  // Batches and variables go the same way.
  const batch = (x: FastifyInstance) => x.inject({ method: 'POST', url: '/v1/graphql', headers: { 'content-type': 'application/json', ...H },
    payload: JSON.stringify([{ query: TRICKY }, { query: 'query ($id: Int!) { tricky_by_pk(id: $id) { t } }', variables: { id: 1 } }, { query: '{ nope }' }]) });
  const [ba, bb] = await Promise.all([batch(on), batch(off)]);
  assert.equal(ba.body, bb.body);
  assert.match(ba.body, /^\[\{"data":\{"tricky":\[\{"id":1,/);
  // Mixed root fields (introspection, __typename) take the parsed path and still agree.
  const mixed = '{ __typename tricky_by_pk(id: 1) { id __typename } __type(name: "tricky") { name } }';
  assert.equal(await raw(on, mixed), await raw(off, mixed));
});

void test('verbatim: PostgreSQL\u2019s text with its spaces, the same JSON', async (t) => {
  const [v, off] = await Promise.all([app(t, 'verbatim'), app(t, false)]);
  const a = await raw(v, TRICKY);
  const b = await raw(off, TRICKY);
  assert.match(a, /^\{"data":\{"tricky" : \[\{"id" : 1, "n" : "1.50", /);
  assert.notEqual(a, b);
  assert.deepStrictEqual(JSON.parse(a), JSON.parse(b));
});

void test('where PostgreSQL renders differently from JSON.stringify, the answer is PostgreSQL’s (as Hasura’s)', async (t) => {
  const [on, off] = await Promise.all([app(t, true, false), app(t, false, false)]);
  const q = '{ numbers { n big f j } }';
  const a = await raw(on, q);
  const b = await raw(off, q);
  // PostgreSQL's own text of each value: what Hasura copies into its answer.
  const sel = `SELECT json_build_object('n', 1.0::numeric, 'big', 9007199254740993::bigint, 'f', 1e20::float8, 'j', '{"b" : 1,  "a":"\\u00e9", "1": 2}'::json)::text`;
  const pgText = ((await post(on, '/v2/query', { type: 'run_sql', args: { sql: sel } }, H)).body as { result: string[][] }).result[1]![0]!;
  assert.equal(a, `{"data":{"numbers":[${compactJson(pgText).toString()}]}}`);
  assert.equal(a, '{"data":{"numbers":[{"n":1.0,"big":9007199254740993,"f":1e+20,"j":{"b":1,"a":"\\u00e9","1":2}}]}}');
  // The parsed path rounded the bigint, reformatted the numbers and reordered and unescaped the json.
  assert.equal(b, '{"data":{"numbers":[{"n":1,"big":9007199254740992,"f":100000000000000000000,"j":{"1":2,"b":1,"a":"é"}}]}}');
  assert.deepEqual(JSON.parse(a), JSON.parse(b)); // the same JSON values to any JS reader
});

void test('the engine passes through only when every root field comes from the database', async (t) => {
  const db = await createTestDatabase({ migrated: false });
  const pool = new pg.Pool({ connectionString: db.adminUrl, max: 2 });
  t.after(async () => { await pool.end(); await db.drop(); });
  await pool.query(DDL);
  const md: Metadata = { version: 3, sources: [{ name: 'default', kind: 'postgres', configuration: {}, tables: [{ table: { schema: 'public', name: 'tricky' } }] }] };
  const s = { role: 'admin', vars: {}, isAdmin: true };
  const on = await createEngine(pool, md);
  const off = await createEngine(pool, md, { jsonPassthrough: 'off' });
  assert.equal(isPassthrough(await on.execute({ query: '{ tricky { id } a: tricky_by_pk(id: 1) { t } }' }, s)), true);
  assert.equal(isPassthrough(await off.execute({ query: '{ tricky { id } }' }, s)), false);
  // A role's time limit runs the statement in a transaction under SET LOCAL statement_timeout
  // (run.ts inTransaction; admin has no api_limits, so a role with a select permission).
  const limited: Metadata = {
    version: 3,
    api_limits: { time_limit: { global: 5, per_role: {} } },
    sources: [{ name: 'default', kind: 'postgres', configuration: {}, tables: [{ table: { schema: 'public', name: 'tricky' }, select_permissions: [{ role: 'reader', permission: { columns: '*', filter: {} } }] }] }],
  };
  const reader = { role: 'reader', vars: { 'x-hasura-role': 'reader' }, isAdmin: false };
  const tq = '{ tricky(order_by: {id: asc}) { id t jb } }';
  const tres = await (await createEngine(pool, limited)).execute({ query: tq }, reader);
  assert.equal(isPassthrough(tres), true);
  assert.equal(String(responseBody(tres)), JSON.stringify(await (await createEngine(pool, limited, { jsonPassthrough: 'off' })).execute({ query: tq }, reader)));
  assert.match(String(responseBody(tres)), /^\{"data":\{"tricky":\[\{"id":1,"t":"quote/);
  for (const query of ['{ __typename tricky { id } }', '{ __schema { queryType { name } } tricky { id } }', 'subscription { tricky { id } }', '{ tricky { nope } }']) {
    const res = await on.execute({ query }, s);
    assert.equal(isPassthrough(res), false, query);
    assert.equal(String(responseBody(res)), JSON.stringify(await off.execute({ query }, s)), query);
  }
});

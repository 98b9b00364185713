/**
 * SQL function arguments as Hasura exposes them (Backends/Postgres/Schema/Select.hs
 * `functionArgs`): unnamed input arguments as `arg_1`, `arg_2`… (the table row and session
 * arguments take no number), leading given arguments passed by position and the rest by name so
 * defaults apply, "Non default arguments cannot be omitted" / "Only last set of positional
 * arguments can be omitted" (not-supported); tracked functions and computed fields alike, and
 * track_function given the bare function name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp, post } from '../http/helper.ts';

const schemaSql = `
  CREATE TABLE item (id int PRIMARY KEY, price int NOT NULL);
  INSERT INTO item VALUES (1, 10), (2, 20), (3, 30);
  -- Unnamed arguments: arg_1 (lower bound), arg_2 (upper bound, defaults to 1000).
  CREATE FUNCTION price_between(int, int DEFAULT 1000) RETURNS SETOF item AS $$
    SELECT * FROM item WHERE price BETWEEN $1 AND $2 ORDER BY id
  $$ LANGUAGE sql STABLE;
  -- Named then unnamed with defaults: skipping the named one leaves the unnamed one unpassable.
  CREATE FUNCTION scaled(factor int DEFAULT 1, int DEFAULT 0) RETURNS SETOF item AS $$
    SELECT id, price * factor + $2 FROM item ORDER BY id
  $$ LANGUAGE sql STABLE;
  -- A computed field with an unnamed input argument after the row.
  CREATE FUNCTION item_plus(item, int) RETURNS int AS $$ SELECT $1.price + $2 $$ LANGUAGE sql STABLE;
`;

void test('function arguments: arg_N names, positional then named, Hasura refusal texts, bare track_function', async (t) => {
  const { app } = await buildTestApp(t, { fake: false });
  const setup = await post(app, '/v1/query', {
    type: 'bulk',
    args: [
      { type: 'run_sql', args: { sql: schemaSql } },
      { type: 'track_table', args: 'item' },
      // A bare name, as QualifiedFunction parses it (public schema).
      { type: 'track_function', args: 'price_between' },
      { type: 'track_function', args: { schema: 'public', name: 'scaled' } },
      { type: 'add_computed_field', args: { table: 'item', name: 'plus', definition: { function: 'item_plus' } } },
    ],
  });
  assert.equal(setup.status, 200, JSON.stringify(setup.body));
  const exported = (await post(app, '/v1/query', { type: 'export_metadata', args: {} })).body;
  assert.deepEqual(exported.sources[0].functions.map((f: { function: unknown }) => f.function), [{ name: 'price_between', schema: 'public' }, { name: 'scaled', schema: 'public' }]);
  const gql = async (query: string) => (await post(app, '/v1/graphql', { query })).body;

  const type = await gql('{ __type(name: "price_between_args") { inputFields { name type { name kind } } } }');
  assert.deepEqual(type.data.__type.inputFields, [
    { name: 'arg_1', type: { name: 'Int', kind: 'SCALAR' } },
    { name: 'arg_2', type: { name: 'Int', kind: 'SCALAR' } },
  ]);
  assert.deepEqual((await gql('{ price_between(args: {arg_1: 15}) { id } }')).data.price_between, [{ id: 2 }, { id: 3 }]);
  assert.deepEqual((await gql('{ price_between(args: {arg_1: 15, arg_2: 25}) { id } }')).data.price_between, [{ id: 2 }]);
  const omitted = await gql('{ price_between(args: {arg_2: 25}) { id } }');
  assert.deepEqual(omitted.errors, [{ message: 'Non default arguments cannot be omitted', extensions: { code: 'not-supported', path: '$.selectionSet.price_between.args.args' } }], JSON.stringify(omitted));

  // scaled(factor DEFAULT 1, $2 DEFAULT 0): arg_1 is the unnamed second argument.
  assert.deepEqual((await gql('{ scaled(args: {factor: 2, arg_1: 1}) { price } }')).data.scaled, [{ price: 21 }, { price: 41 }, { price: 61 }]);
  assert.deepEqual((await gql('{ scaled { price } }')).data.scaled, [{ price: 10 }, { price: 20 }, { price: 30 }]);
  const gap = await gql('{ scaled(args: {arg_1: 1}) { price } }');
  assert.equal(gap.errors?.[0]?.message, 'Only last set of positional arguments can be omitted', JSON.stringify(gap));
  assert.equal(gap.errors?.[0]?.extensions.code, 'not-supported');

  // The computed field's unnamed input argument (the row is not numbered).
  assert.deepEqual((await gql('{ item(order_by: {id: asc}, limit: 1) { plus(args: {arg_1: 5}) } }')).data.item, [{ plus: 15 }]);

  // untrack_function takes the bare name too.
  const untrack = await post(app, '/v1/query', { type: 'untrack_function', args: 'scaled' });
  assert.equal(untrack.status, 200, JSON.stringify(untrack.body));
  assert.match((await gql('{ scaled { price } }')).errors[0].message, /field 'scaled' not found/);
});

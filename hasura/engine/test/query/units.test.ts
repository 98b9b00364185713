/** Pure phases, no database: the SQL builder, JSON paths, PG error mapping. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compile, identifier, join, sql, value } from '../../src/sql/sql.ts';
import { parseJsonPath, readJsonPath } from '../../src/jsonpath.ts';
import { mapPgError } from '../../src/execute/pg-errors.ts';

void test('sql builder: identifiers are quoted, values are parameters', () => {
  const evil = 'x"; DROP TABLE t; --';
  const q = compile(sql`SELECT ${identifier('links', evil)} FROM t WHERE a = ${value(evil)} AND b IN (${join([value(1), value(2)], ', ')})`);
  assert.equal(q.text, 'SELECT "links"."x""; DROP TABLE t; --" FROM t WHERE a = $1 AND b IN ($2, $3)');
  assert.deepEqual(q.values, [evil, 1, 2]);
  assert.throws(() => sql`${'raw' as never}`, TypeError);
  assert.throws(() => compile(identifier('a\0b')));
});

void test('json paths: one parser for column path arguments and JWT claim paths', () => {
  assert.deepEqual(parseJsonPath('$'), []);
  assert.deepEqual(parseJsonPath('$.a.b'), ['a', 'b']);
  assert.deepEqual(parseJsonPath('a'), ['a']);
  assert.deepEqual(parseJsonPath('$.arr[2]'), ['arr', 2]);
  assert.deepEqual(parseJsonPath('objs[0].["你好"]'), ['objs', 0, '你好']);
  assert.deepEqual(parseJsonPath("$['!@#$%^']"), ['!@#$%^']);
  assert.deepEqual(parseJsonPath("$['a.b'].c"), ['a.b', 'c']);
  assert.equal(parseJsonPath('$.a['), undefined);
  assert.equal(parseJsonPath('$.a..b'), undefined);
  assert.equal(readJsonPath({ a: [{ b: 1 }] }, parseJsonPath('$.a[0].b')!), 1);
  assert.equal(readJsonPath({ a: 1 }, parseJsonPath('$.a.b')!), undefined);
});

void test('pg errors map to Hasura codes; internals only on unexpected errors, only for admin', () => {
  const e = { code: '23505', message: 'duplicate key value violates unique constraint "links_code_key"' };
  const user = mapPgError(e, 'SELECT secret');
  assert.equal(user.code, 'constraint-violation');
  assert.equal(user.message, 'Uniqueness violation. duplicate key value violates unique constraint "links_code_key"');
  assert.equal(user.toJSON(false).extensions.internal, undefined);
  // mkTxErrorHandler: expected errors are err400 without internal, even for the admin
  // (graphql_mutation/insert/constraints/*.yaml expect no `internal`).
  assert.equal(mapPgError(e, 'SELECT 1').toJSON(true).extensions.internal, undefined);
  assert.equal(mapPgError({ code: '22P02', message: 'invalid input syntax for type uuid: "x"' }).code, 'data-exception');
  const other = mapPgError({ code: '42P01', message: 'relation "x" does not exist' }, 'SELECT secret');
  assert.deepEqual(other.toJSON(false), { extensions: { path: '$', code: 'unexpected' }, message: 'database query error' });
  assert.equal(JSON.stringify(other).includes('secret'), false, 'JSON.stringify encodes without internal');
  const internal = other.toJSON(true).extensions.internal as { statement: string; error: { status_code: string } };
  assert.equal(internal.statement, 'SELECT secret');
  assert.equal(internal.error.status_code, '42P01');
  assert.equal(other.body().internal, internal, 'the admin APIs encode internal');
});

/** Pure phases, no database: the SQL builder, JSON paths, PG error mapping. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compile, identifier, join, sql, value } from '../../src/sql/sql.ts';
import { jsonPath } from '../../src/compile/jsonpath.ts';
import { mapPgError } from '../../src/execute/pg-errors.ts';
import { QueryError } from '../../src/validation/errors.ts';

void test('sql builder: identifiers are quoted, values are parameters', () => {
  const evil = 'x"; DROP TABLE t; --';
  const q = compile(sql`SELECT ${identifier('links', evil)} FROM t WHERE a = ${value(evil)} AND b IN (${join([value(1), value(2)], ', ')})`);
  assert.equal(q.text, 'SELECT "links"."x""; DROP TABLE t; --" FROM t WHERE a = $1 AND b IN ($2, $3)');
  assert.deepEqual(q.values, [evil, 1, 2]);
  assert.throws(() => sql`${'raw' as never}`, TypeError);
  assert.throws(() => compile(identifier('a\0b')));
});

void test('json paths', () => {
  assert.deepEqual(jsonPath('$', 'p'), []);
  assert.deepEqual(jsonPath('$.a.b', 'p'), ['a', 'b']);
  assert.deepEqual(jsonPath('a', 'p'), ['a']);
  assert.deepEqual(jsonPath('$.arr[2]', 'p'), ['arr', '2']);
  assert.deepEqual(jsonPath('objs[0].["你好"]', 'p'), ['objs', '0', '你好']);
  assert.deepEqual(jsonPath("$['!@#$%^']", 'p'), ['!@#$%^']);
  assert.throws(() => jsonPath('$.a[', 'p'), QueryError);
});

void test('pg errors map to Hasura codes; internals only for admin', () => {
  const e = { code: '23505', message: 'duplicate key value violates unique constraint "links_code_key"' };
  const user = mapPgError(e, false, 'SELECT secret');
  assert.equal(user.code, 'constraint-violation');
  assert.equal(user.message, 'Uniqueness violation. duplicate key value violates unique constraint "links_code_key"');
  assert.equal(user.toJSON(false).extensions.internal, undefined);
  assert.ok(mapPgError(e, true, 'SELECT 1').toJSON(true).extensions.internal);
  assert.equal(mapPgError({ code: '22P02', message: 'invalid input syntax for type uuid: "x"' }, false).code, 'data-exception');
  const other = mapPgError({ code: '42P01', message: 'relation "x" does not exist' }, false);
  assert.deepEqual(other.toJSON(false), { extensions: { path: '$', code: 'unexpected' }, message: 'database query error' });
});

/**
 * The Kriti interpreter against kriti-lang's own golden tests (test/data/eval/success: 34
 * templates evaluated with `$` bound to source.json; test/data/parser/failure: the error each
 * bad template gives, span included — copied in kriti-lang/, see its README) and the examples of
 * Hasura's "Kriti templating" page (docs/docs/api-reference/kriti-templating.mdx).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KritiError, parseKriti, runKriti, type Json } from '../../src/transforms/kriti.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const evalDir = path.join(here, 'kriti-lang/eval');
const failDir = path.join(here, 'kriti-lang/parse-failure');

function kritiError(f: () => unknown): Record<string, unknown> {
  try {
    f();
  } catch (err) {
    if (err instanceof KritiError) return err.toJSON();
    throw err;
  }
  throw new Error('expected a Kriti error');
}

void test('kriti-lang eval goldens: every example evaluates to its golden JSON', () => {
  const source = JSON.parse(fs.readFileSync(path.join(evalDir, 'source.json'), 'utf8')) as Json;
  const examples = fs.readdirSync(evalDir).filter((f) => f.endsWith('.kriti')).sort();
  assert.equal(examples.length, 34);
  for (const f of examples) {
    const expected = JSON.parse(fs.readFileSync(path.join(evalDir, f.replace(/\.kriti$/, '.json')), 'utf8')) as unknown;
    const got = runKriti(fs.readFileSync(path.join(evalDir, f), 'utf8'), { $: source });
    assert.deepEqual(got, expected, f);
  }
});

void test('kriti-lang parser failure goldens: token and span as Kriti reports them', () => {
  // The golden files are Haskell `show` of SerializedError; the fields are read out of them.
  const files = fs.readdirSync(failDir).filter((f) => f.endsWith('.kriti'));
  assert.equal(files.length, 3);
  for (const f of files) {
    const golden = fs.readFileSync(path.join(failDir, f.replace(/\.kriti$/, '.txt')), 'utf8');
    const m = /_message = "((?:[^"\\]|\\.)*)".*start = AlexSourcePos \{line = (\d+), col = (\d+)\}, end = AlexSourcePos \{line = (\d+), col = (\d+)\}/.exec(golden);
    assert.ok(m, golden);
    const err = kritiError(() => parseKriti(fs.readFileSync(path.join(failDir, f), 'utf8')));
    assert.deepEqual(err, {
      error_code: 'Parse Error',
      message: m[1]!.replace(/\\(.)/g, '$1'),
      source_position: { start_line: Number(m[2]), start_column: Number(m[3]), end_line: Number(m[4]), end_column: Number(m[5]) },
    }, f);
  }
});

void test('Hasura docs examples: interpolation, control flow, paths, optional chaining, defaulting', () => {
  assert.deepEqual(runKriti('{"a": [1, 2, 3], "b": "hello world"}', {}), { a: [1, 2, 3], b: 'hello world' });
  assert.deepEqual(runKriti('{"a": 1, "b": {{ 2 }}}', {}), { a: 1, b: 2 });
  assert.equal(runKriti('"Hello world {{ 1 }}"', {}), 'Hello world 1');
  assert.deepEqual(
    runKriti('{"if" : {{ if something }} 1 {{ else }} 2 {{ end }}, "loop": {{ range i, x := [1,2,3] }} ["item", {{ i }}, {{ x }}] {{ end }} }', { something: false }),
    { if: 2, loop: [['item', 0, 1], ['item', 1, 2], ['item', 2, 3]] },
  );
  assert.deepEqual(runKriti(`{ "a": {{ bar.x }}, "b": {{ bar['x'] }}, "c": {{ bar?.y }}, "d": {{ bar?['y'] }}, "e": {{ bar?.y ?? 3 }} }`, { bar: { x: 2 } }), { a: 2, b: 2, c: null, d: null, e: 3 });
  assert.deepEqual(runKriti('{{ if x == 1 }} "one" {{ elif x == 2 }} "two" {{ else }} "many" {{ end }}', { x: 2 }), 'two');
  assert.equal(runKriti('{{ "a" in {"a": 1} }}', {}), true);
  assert.equal(runKriti('{{ 3 in [1, 2] }}', {}), false);
  assert.equal(runKriti('{{ not (1 > 2) }}', {}), true);
  assert.equal(runKriti('"\\{{ literal"', {}), '{{ literal');
  assert.equal(runKriti('"{{ $body.obj }}"', { $body: { obj: { k: [1, null] } } }), '{"k":[1,null]}');
});

void test('the standard functions (Function reference of the Kriti page)', () => {
  assert.deepEqual(runKriti('{"object": {{ empty({"a": 1}) }}, "string": {{ empty("") }}, "array": {{ empty([1]) }} }', {}), { array: false, object: false, string: true });
  assert.deepEqual(runKriti('{"object": {{ size({"a": 1}) }}, "string": {{ size("asdf") }}, "array": {{ size([1]) }} }', {}), { array: 1, object: 1, string: 4 });
  assert.deepEqual(runKriti('{"string": {{ inverse("asdf") }}, "array": {{ inverse([1,2,3]) }}, "number": {{ inverse(4) }} }', {}), { array: [3, 2, 1], number: 0.25, string: 'fdsa' });
  assert.deepEqual(runKriti('{"string": {{ head("asdf") }}, "array": {{ head([1,2,3]) }} }', {}), { array: 1, string: 'a' });
  assert.deepEqual(runKriti('{"string": {{ tail("asdf") }}, "array": {{ tail([1,2,3]) }} }', {}), { array: [2, 3], string: 'sdf' });
  assert.equal(runKriti('{{ toCaseFold("AbCd") }}', {}), 'abcd');
  assert.equal(runKriti('{{ toUpper("abcd") }}', {}), 'ABCD');
  assert.equal(runKriti('{{ toTitle("hello wORLD") }}', {}), 'Hello World');
  assert.equal(runKriti('{{ escapeUri("?foo=bar/baz é") }}', {}), '%3Ffoo%3Dbar%2Fbaz%20%C3%A9');
  assert.deepEqual(runKriti('{{ toPairs({"b": 2, "a": 1}) }}', {}), [['a', 1], ['b', 2]]);
  assert.deepEqual(runKriti('{{ fromPairs([["a", 1], ["b", 2]]) }}', {}), { a: 1, b: 2 });
  assert.deepEqual(runKriti('{{ removeNulls([1, null, 2]) }}', {}), [1, 2]);
  assert.deepEqual(runKriti('{{ concat([[1,2],[3,4]]) }}', {}), [1, 2, 3, 4]);
  assert.equal(runKriti('{{ concat(["hello", " ", "world"]) }}', {}), 'hello world');
  assert.deepEqual(runKriti('{{ concat([{"a":1, "b":2}, {"b":3, "c":4}]) }}', {}), { a: 1, b: 3, c: 4 });
});

void test('errors: codes, messages and spans as Hasura reports them (never an exception of another kind)', () => {
  // upstream tests-py queries/v1/metadata/test_webhook_transform_bad_eval.yaml
  assert.deepEqual(kritiError(() => runKriti('{{ $body.world }}', { $body: { hello: 'world' } })), {
    error_code: 'Attribute Error', message: "'Object' has no attribute 'world'.", source_position: { start_line: 0, start_column: 4, end_line: 0, end_column: 15 },
  });
  // …_bad_parse.yaml: the offending token, the span of the last lexeme.
  assert.deepEqual(kritiError(() => parseKriti('$body.hello }}')), {
    error_code: 'Parse Error', message: "Unexpected token '}'.", source_position: { start_line: 0, start_column: 14, end_line: 0, end_column: 15 },
  });
  assert.equal(kritiError(() => runKriti('{{ nope }}', {})).error_code, 'Name Error');
  assert.equal(kritiError(() => runKriti('{{ $x.a }}', { $x: [1] })).message, "Couldn't match expected type 'Object' with actual type 'Array'");
  assert.equal(kritiError(() => runKriti('{{ $x[5] }}', { $x: [1] })).error_code, 'Index Error');
  assert.equal(kritiError(() => runKriti('{{ range _, x := 3 }} 1 {{ end }}', {})).error_code, 'Type Error');
  assert.equal(kritiError(() => runKriti('{{ if 1 }} 1 {{ else }} 2 {{ end }}', {})).message, "Couldn't match expected type 'Boolean' with actual type 'Number'");
  assert.deepEqual(kritiError(() => runKriti('{{ head([]) }}', {})), {
    error_code: 'Function Error', message: 'Empty array', source_position: { start_line: 0, start_column: 9, end_line: 0, end_column: 11 },
  });
  assert.equal(kritiError(() => parseKriti('"a\\qb"')).error_code, 'Lex Error');
  assert.equal(kritiError(() => parseKriti('')).message, 'ParseError: Empty token stream.');
  // Hostile input ends in a Kriti error, never a crash.
  for (const src of ['{{', '}}', '[1,', '{"a"', '{{ range', '{{ if x }}', "{{ $['", '"{{ "', '((((', '{{ a ? . }}', '-', '!', 'a(', '{{ x ?? }}']) {
    assert.ok(kritiError(() => runKriti(src, { x: 1, a: {} })).error_code, src);
  }
  // Nesting that would exhaust the stack is a parse error (MAX_NESTING), not a RangeError.
  for (const src of ['('.repeat(20_000) + '1' + ')'.repeat(20_000), '['.repeat(20_000), 'not '.repeat(20_000) + 'true', `{{ $${'.a'.repeat(20_000)} }}`, `"${'{{ "'.repeat(5_000)}"`]) {
    assert.deepEqual([kritiError(() => runKriti(src, { $: {} })).error_code], ['Parse Error']);
  }
  assert.deepEqual(runKriti(`{{ ${'('.repeat(100)}1${')'.repeat(100)} }}`, {}), 1);
});

/** Rule syntax and matcher semantics (traefik `pkg/muxer/http/matcher_test.go`, `mux_test.go`). */
import test from 'node:test';
import assert from 'node:assert/strict';
import { parseRule, RuleSyntaxError } from '../src/rules/parser.ts';
import { compileRule, routingPath, rulePriority, type MatchInput } from '../src/rules/matcher.ts';
import { call, gateway, upstream } from './helper.ts';

function req(o: Partial<MatchInput> = {}): MatchInput {
  return { method: 'GET', host: 'example.com', path: '/', headers: {}, query: new URLSearchParams(), clientIp: '10.0.0.1', ...o };
}
const m = (rule: string, r: Partial<MatchInput>) => compileRule(rule)(req(r));

void test('operators and precedence: ! binds tighter than &&, && tighter than ||', () => {
  assert.deepEqual(parseRule('A(`a`) || B(`b`) && !C(`c`)'), {
    type: 'or',
    left: { type: 'call', name: 'A', args: ['a'] },
    right: { type: 'and', left: { type: 'call', name: 'B', args: ['b'] }, right: { type: 'not', operand: { type: 'call', name: 'C', args: ['c'] } } },
  });
  assert.equal(m('(Path(`/a`) || Path(`/b`)) && Method(`POST`)', { path: '/b', method: 'POST' }), true);
  assert.equal(m('(Path(`/a`) || Path(`/b`)) && Method(`POST`)', { path: '/b' }), false);
  assert.equal(m('!PathPrefix(`/api`)', { path: '/x' }), true);
  assert.equal(m('Path("/a\\"b")', { path: '/a"b' }), true);
});

void test('syntax errors', () => {
  for (const bad of ["Path('/a')", 'Path(`/a`', 'Path(`/a`) &&', '', 'Path(`/a`) Path(`/b`)', 'Path(`/a)']) {
    assert.throws(() => parseRule(bad), RuleSyntaxError, bad);
  }
  assert.throws(() => compileRule('Path(`a`)'), /does not start with a "\/"/);
  assert.throws(() => compileRule('PathPrefix(`a`)'), /does not start/);
  assert.throws(() => compileRule('Method(`GET`, `POST`)'), /number of parameters/);
  assert.throws(() => compileRule('Headers(`a`, `b`)'), /unsupported matcher/);
  assert.throws(() => compileRule('PathRegexp(`(`)'), /invalid regexp/);
});

void test('Path is exact, PathPrefix is not segment-aware', () => {
  assert.equal(m('Path(`/products`)', { path: '/products' }), true);
  assert.equal(m('Path(`/products`)', { path: '/products/' }), false);
  assert.equal(m('PathPrefix(`/products`)', { path: '/products-for-sale' }), true);
  assert.equal(m('PathRegexp(`^/v[0-9]+/`)', { path: '/v12/x' }), true);
  assert.equal(m('PathRegexp(`v[0-9]`)', { path: '/api/v2' }), true, 'unanchored like Go MatchString');
});

void test('Host: case-insensitive, trailing dot, wildcard label, HostRegexp', () => {
  assert.equal(m('Host(`Example.COM`)', { host: 'example.com' }), true);
  assert.equal(m('Host(`example.com.`)', { host: 'example.com' }), true);
  assert.equal(m('Host(`example.com`)', { host: 'example.com.' }), true);
  assert.equal(m('Host(`example.com`)', { host: 'other.com' }), false);
  assert.equal(m('Host(`*.example.com`)', { host: 'a.example.com' }), true);
  assert.equal(m('Host(`*.example.com`)', { host: 'a.b.example.com' }), false);
  assert.equal(m('HostRegexp(`^[a-z]+\\.example\\.com$`)', { host: 'foo.example.com' }), true);
  assert.equal(m('HostRegexp(`(?i)^FOO`)', { host: 'foo.example.com' }), true);
});

void test('Method, Header, HeaderRegexp, Query, QueryRegexp, ClientIP', () => {
  assert.equal(m('Method(`get`)', { method: 'GET' }), true);
  assert.equal(m('Header(`X-A`, `b`)', { headers: { 'x-a': ['c', 'b'] } }), true);
  assert.equal(m('Header(`X-A`, `b`)', { headers: { 'x-a': 'bb' } }), false);
  assert.equal(m('HeaderRegexp(`Content-Type`, `^application/(.+)json$`)', { headers: { 'content-type': 'application/vnd.api+json' } }), true);
  assert.equal(m('Query(`mode`, `optional`)', { query: new URLSearchParams('mode=optional') }), true);
  assert.equal(m('Query(`flag`)', { query: new URLSearchParams('flag=') }), true);
  assert.equal(m('Query(`flag`)', { query: new URLSearchParams('other=1') }), false);
  assert.equal(m('QueryRegexp(`id`, `^[0-9]+$`)', { query: new URLSearchParams('id=42') }), true);
  assert.equal(m('ClientIP(`10.0.0.0/8`)', { clientIp: '10.2.3.4' }), true);
  assert.equal(m('ClientIP(`10.0.0.0/8`)', { clientIp: '::ffff:10.2.3.4' }), true);
  assert.equal(m('ClientIP(`192.168.1.1`)', { clientIp: '10.2.3.4' }), false);
});

void test('routing path decodes unreserved escapes only', () => {
  assert.equal(routingPath('/ap%69/a%2Fb'), '/api/a%2Fb');
  assert.equal(routingPath('/a%3fb%25'), '/a%3Fb%25');
});

void test('default priority is the rule length; explicit priority wins', () => {
  assert.equal(rulePriority('PathPrefix(`/`)'), 15);
  assert.equal(rulePriority('PathPrefix(`/`)', 1), 1);
  assert.equal(rulePriority('PathPrefix(`/`)', 0), 15);
});

void test('routers are tried by priority (longest rule first), ties by name', async (t) => {
  const a = await upstream(t, (_q, res) => res.end('a'));
  const b = await upstream(t, (_q, res) => res.end('b'));
  const c = await upstream(t, (_q, res) => res.end('c'));
  const cfg = {
    http: {
      routers: {
        short: { rule: 'PathPrefix(`/`)', service: 'a' },
        longer: { rule: 'PathPrefix(`/api`)', service: 'b' },
        lowest: { rule: 'PathPrefix(`/api/x`)', priority: 1, service: 'c' },
        other: { rule: 'Host(`b.example`)', service: 'c', entryPoints: ['websecure'] },
      },
      services: { a: { loadBalancer: { servers: [{ url: a.url }] } }, b: { loadBalancer: { servers: [{ url: b.url }] } }, c: { loadBalancer: { servers: [{ url: c.url }] } } },
    },
  };
  const gw = await gateway(t, JSON.stringify(cfg));
  assert.equal((await call(`${gw.url}/api/x`)).body, 'b');
  assert.equal((await call(`${gw.url}/other`)).body, 'a');
  assert.equal((await call(`${gw.url}/`, { headers: { host: 'b.example' } })).body, 'a', 'router on another entrypoint is not attached');
});

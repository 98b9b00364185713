/** Port of traefik `pkg/middlewares/stripprefix/strip_prefix_test.go` (docs/research/traefik-v3.md §1.8). */
import test from 'node:test';
import assert from 'node:assert/strict';
import { call, gateway, route, upstream } from './helper.ts';

const cases: Array<{ prefixes: string[]; path: string; expected?: string; header?: string; status?: number }> = [
  { prefixes: [], path: '/noprefixes', expected: '/noprefixes' },
  { prefixes: ['/'], path: '/', expected: '/', header: '/' },
  { prefixes: ['/stat'], path: '/stat', expected: '/', header: '/stat' },
  { prefixes: ['/stat/'], path: '/stat/', expected: '/', header: '/stat/' },
  { prefixes: ['/stat/'], path: '/stat/us', expected: '/us', header: '/stat/' },
  { prefixes: ['/stat/'], path: '/status', expected: '/status' },
  { prefixes: ['/stat'], path: '/stat/', expected: '/', header: '/stat' },
  { prefixes: ['/stat', '/stat/us'], path: '/stat/us', expected: '/us', header: '/stat' },
  { prefixes: ['/mismatch', '/stat'], path: '/stat', expected: '/', header: '/stat' },
  { prefixes: ['/stat'], path: '/status', expected: '/us', header: '/stat' },
  { prefixes: ['/stat'], path: '/stat/a%2Fb', expected: '/a%2Fb', header: '/stat' },
  { prefixes: ['/api/'], path: '/ap%69/a%2Fb', expected: '/a%2Fb', header: '/api/' },
  { prefixes: ['/api'], path: '/api./foo', status: 400 },
  { prefixes: ['/api'], path: '/api../foo', status: 400 },
];

for (const c of cases) {
  void test(`stripPrefix ${JSON.stringify(c.prefixes)} ${c.path}`, async (t) => {
    const up = await upstream(t);
    const gw = await gateway(t, route(up.url, { strip: { stripPrefix: { prefixes: c.prefixes } } }));
    const r = await call(gw.url, { path: `${c.path}?q=1` });
    if (c.status) {
      assert.equal(r.status, c.status);
      assert.equal(up.seen.length, 0);
      return;
    }
    assert.equal(r.status, 200);
    assert.equal(up.seen[0]!.url, `${c.expected}?q=1`);
    assert.equal(up.seen[0]!.headers['x-forwarded-prefix'], c.header);
  });
}

void test('replacePath keeps the query and sets X-Replaced-Path', async (t) => {
  const up = await upstream(t);
  const gw = await gateway(t, route(up.url, { rp: { replacePath: { path: '/v1/graphql' } } }));
  await call(`${gw.url}/v1/links/graphql?x=1`);
  assert.equal(up.seen[0]!.url, '/v1/graphql?x=1');
  assert.equal(up.seen[0]!.headers['x-replaced-path'], '/v1/links/graphql');
});

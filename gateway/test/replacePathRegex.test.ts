/** Port of traefik `pkg/middlewares/replacepathregex/replace_path_regex_test.go` (the cases our paths can express). */
import test from 'node:test';
import assert from 'node:assert/strict';
import { call, gateway, route, upstream } from './helper.ts';

const cases: Array<{ name: string; path: string; regex: string; replacement: string; expected: string; header?: string }> = [
  { name: 'simple replace (no regex)', path: '/whoami/and/whoami', regex: '/whoami', replacement: '/who-am-i', expected: '/who-am-i/and/who-am-i', header: '/whoami/and/whoami' },
  { name: 'no match', path: '/whoami/and/whoami', regex: '/whoami/and/whoami/', replacement: '/who-am-i/$1', expected: '/whoami/and/whoami' },
  { name: 'multiple replacement', path: '/downloads/src/source.go', regex: '^(?:/downloads/)([^/]+)/(.+)', replacement: '/downloads/$1-$2', expected: '/downloads/src-source.go', header: '/downloads/src/source.go' },
  { name: 'Go ${1} group syntax', path: '/v1/links/api/links/x', regex: '^/v1/links/api/(.*)', replacement: '/api/rest/${1}', expected: '/api/rest/links/x', header: '/v1/links/api/links/x' },
  { name: 'escaped path kept escaped', path: '/aaa/foo%2Fbar', regex: '^/aaa/(.*)', replacement: '/bbb/$1', expected: '/bbb/foo%2Fbar', header: '/aaa/foo%2Fbar' },
];

for (const c of cases) {
  void test(`replacePathRegex: ${c.name}`, async (t) => {
    const up = await upstream(t);
    const gw = await gateway(t, route(up.url, { rp: { replacePathRegex: { regex: c.regex, replacement: c.replacement } } }));
    const r = await call(gw.url, { path: `${c.path}?q=1` });
    assert.equal(r.status, 200);
    assert.equal(up.seen[0]!.url, `${c.expected}?q=1`);
    assert.equal(up.seen[0]!.headers['x-replaced-path'], c.header);
  });
}

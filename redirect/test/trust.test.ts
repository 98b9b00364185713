import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { parseClick } from '../src/clicks/click.ts';
import { loadRedirectConfig } from '../src/config.ts';
import { clientInfo, parseTrustedProxies, TrustedProxies } from '../src/http/proxies.ts';
import { VisitorHasher } from '../src/visitor.ts';
import { BROWSER_UA, get, setup, startApp, waitFor } from './helper.ts';

const req = (peer: string, xff?: string | string[]) => ({ socket: { remoteAddress: peer }, headers: xff === undefined ? {} : { 'x-forwarded-for': xff } }) as unknown as IncomingMessage;

void test('client address: X-Forwarded-For only through trusted proxies, rightmost untrusted hop', () => {
  const none = new TrustedProxies([]);
  const gw = new TrustedProxies(parseTrustedProxies('127.0.0.1, 10.0.0.0/8, 2001:db8::/32'));
  // Untrusted peer: its headers are its say-so.
  assert.deepEqual(clientInfo(req('198.51.100.7', '203.0.113.1'), none), { ip: '198.51.100.7', viaTrustedProxy: false });
  assert.deepEqual(clientInfo(req('198.51.100.7', '203.0.113.1'), gw), { ip: '198.51.100.7', viaTrustedProxy: false });
  // Trusted peer: the first untrusted address from the right; spoofed entries to its left are ignored.
  assert.equal(clientInfo(req('127.0.0.1', '1.1.1.1, 203.0.113.9'), gw).ip, '203.0.113.9');
  assert.equal(clientInfo(req('127.0.0.1', '1.1.1.1, 203.0.113.9, 10.1.2.3'), gw).ip, '203.0.113.9');
  assert.equal(clientInfo(req('::ffff:127.0.0.1', ['1.1.1.1', '203.0.113.9:4711']), gw).ip, '203.0.113.9');
  assert.equal(clientInfo(req('127.0.0.1', '[2001:db8::1]:443, 2a00:1450::5'), gw).ip, '2a00:1450::5');
  // Every hop trusted: the leftmost; garbage stops the walk at the hop that delivered it.
  assert.equal(clientInfo(req('127.0.0.1', '10.0.0.5, 10.0.0.6'), gw).ip, '10.0.0.5');
  assert.equal(clientInfo(req('127.0.0.1', '203.0.113.1, not-an-ip, 10.0.0.6'), gw).ip, '10.0.0.6');
  assert.deepEqual(clientInfo(req('127.0.0.1'), gw), { ip: '127.0.0.1', viaTrustedProxy: true });
  // Named ranges and errors.
  assert.deepEqual(parseTrustedProxies('loopback'), ['127.0.0.0/8', '::1/128']);
  assert.throws(() => parseTrustedProxies('10.0.0.0/33'), /not an IP address, a CIDR range/);
  assert.throws(() => parseTrustedProxies('gateway.local'), /"gateway.local" is not an IP address/);
  assert.throws(() => loadRedirectConfig({ DATABASE_URL: 'postgres://x@h/d', REDIS_URL: 'redis://h', TRUSTED_PROXIES: '1.2.3.4/40' }), /TRUSTED_PROXIES/);
  assert.deepEqual(loadRedirectConfig({ DATABASE_URL: 'postgres://x@h/d', REDIS_URL: 'redis://h' }).TRUSTED_PROXIES, [], 'trusts nobody by default');
});

void test('the country header and X-Forwarded-For count only from a trusted peer', async (t) => {
  const e = await setup(t);
  const untrusted = await startApp(t, e, { TRUSTED_PROXIES: '' });
  const trusted = await startApp(t, e, { TRUSTED_PROXIES: '127.0.0.1/32,::1/128' });
  const l = await e.newLink({ geo_targets: { DE: 'https://example.de/' } });
  const loc = async (url: string) => (await get(`${url}/${l.code}`, { headers: { 'cf-ipcountry': 'DE' } })).headers.get('location');
  assert.equal(await loc(untrusted.url), 'https://example.com/landing', 'a client-sent country header is ignored');
  assert.equal(await loc(trusted.url), 'https://example.de/', 'the trusted proxy’s country header targets');

  // Visitor hashes: from an untrusted peer every X-Forwarded-For gives the same visitor (the peer).
  const redis = new Redis(e.redis.url).on('error', () => {});
  t.after(() => redis.disconnect());
  const visitorsOf = async (url: string, code: string) => {
    for (const ip of ['203.0.113.1', '203.0.113.2']) {
      await get(`${url}/${code}`, { headers: { 'x-forwarded-for': ip, 'cf-ipcountry': 'NL' } });
    }
    const mine = await waitFor(async () => {
      const all = (await redis.xrange('clicks', '-', '+')).map(([, f]) => parseClick(f)).filter((c) => c?.code === code);
      return all.length === 2 ? all : undefined;
    }, 2000, 'two clicks');
    return mine;
  };
  const a = await e.newLink();
  const viaUntrusted = await visitorsOf(untrusted.url, a.code);
  assert.equal(new Set(viaUntrusted.map((c) => c!.visitor)).size, 1);
  assert.deepEqual(viaUntrusted.map((c) => c!.country), ['', '']);
  const b = await e.newLink();
  const viaTrusted = await visitorsOf(trusted.url, b.code);
  assert.equal(new Set(viaTrusted.map((c) => c!.visitor)).size, 2);
  assert.deepEqual(viaTrusted.map((c) => c!.country), ['NL', 'NL']);
  // And the hash is the one of the forwarded address, not of the proxy.
  const hasher = new VisitorHasher(e.config().REDIRECT_SECRET);
  assert.equal(viaTrusted[0]!.visitor, hasher.hash('203.0.113.1', BROWSER_UA, viaTrusted[0]!.ts));
});

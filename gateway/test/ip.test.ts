/**
 * The IPv4 fast path of ipMatcher (proxy/ip.ts) must decide exactly as net.BlockList does: the same
 * addresses accepted as IPv4 as net.isIPv4, the same CIDR membership, IPv6 and mapped addresses
 * through BlockList.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { ipMatcher, normalizeIp, parseIPv4 } from '../src/proxy/ip.ts';

void test('parseIPv4 accepts what net.isIPv4 accepts, and nothing else', () => {
  const odd = ['', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.04', '256.1.1.1', '1.2.3.255', '0.0.0.0', '1..2.3', '.1.2.3', '1.2.3.', ' 1.2.3.4', '1.2.3.4 ', '1.2.3.4/8', '::1', '::ffff:1.2.3.4', 'a.b.c.d', '999.999.999.999', '1.2.3.2555', '255.255.255.255'];
  for (const s of odd) assert.equal(parseIPv4(s) !== -1, net.isIPv4(s), s);
  let seed = 7;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
  for (let i = 0; i < 20_000; i++) {
    const parts = Array.from({ length: 3 + rnd(3) }, () => (rnd(10) === 0 ? `0${rnd(10)}` : String(rnd(300))));
    const s = parts.join('.');
    assert.equal(parseIPv4(s) !== -1, net.isIPv4(s), s);
    if (parseIPv4(s) !== -1) assert.equal(parseIPv4(s), parts.reduce((a, p) => a * 256 + Number(p), 0), s);
  }
});

void test('ipMatcher decides as net.BlockList for IPv4 lists, IPv6 lists and mixed ones', () => {
  const lists = [['127.0.0.1'], ['10.0.0.0/8', '192.168.1.0/24'], ['0.0.0.0/0'], ['172.16.0.0/12', '1.2.3.4/32', '5.6.7.8/31'], ['::1', '10.0.0.0/8'], ['2001:db8::/32']];
  const addrs = ['127.0.0.1', '127.0.0.2', '10.1.2.3', '11.0.0.0', '192.168.1.255', '192.168.2.1', '172.31.255.255', '172.32.0.0', '1.2.3.4', '1.2.3.5', '5.6.7.9', '5.6.7.10', '::1', '::ffff:10.0.0.1', '::ffff:127.0.0.1', '2001:db8::1', '2001:db9::1', 'not-an-ip', ''];
  for (const list of lists) {
    const bl = new net.BlockList();
    for (const e of list) {
      const [a = '', bits] = e.split('/');
      const fam = net.isIPv6(a) ? 'ipv6' : 'ipv4';
      if (bits === undefined) bl.addAddress(a, fam);
      else bl.addSubnet(a, Number(bits), fam);
    }
    const m = ipMatcher(list);
    for (const ip of addrs) {
      const a = normalizeIp(ip);
      const fam = net.isIPv6(a) ? 'ipv6' : net.isIPv4(a) ? 'ipv4' : undefined;
      assert.equal(m(ip), fam !== undefined && bl.check(a, fam), `${list.join(',')} ∋ ${ip}`);
    }
  }
  assert.throws(() => ipMatcher(['1.2.3']), /invalid IP or CIDR/);
});

import net from 'node:net';

/** Strips the IPv4-mapped IPv6 prefix Node reports for dual-stack sockets (`::ffff:1.2.3.4`). */
export function normalizeIp(ip: string): string {
  return ip.startsWith('::ffff:') && parseIPv4(ip.slice(7)) !== -1 ? ip.slice(7) : ip;
}

/**
 * A dotted-quad IPv4 address as an unsigned 32-bit number, or -1 when `s` is not one. Accepts what
 * net.isIPv4 accepts (four decimal parts 0–255, no leading zeros), without its regular expression
 * and without allocating: it runs for every request (the entrypoint's trusted-peer check, the rate
 * limits' X-Forwarded-For walk).
 */
export function parseIPv4(s: string): number {
  const len = s.length;
  if (len < 7 || len > 15) return -1;
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < len; i++) {
    const c = s.charCodeAt(i);
    if (c === 46 /* . */) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return -1; // a leading zero
      part = part * 10 + (c - 48);
      if (part > 255) return -1;
      digits++;
    } else return -1;
  }
  if (digits === 0 || dots !== 3) return -1;
  return value * 256 + part;
}

/**
 * A matcher for a list of IPs and CIDRs (Traefik `ip.Checker`). When every entry is IPv4 (the
 * configuration's trusted proxies and excluded IPs), IPv4 addresses are matched by integer masks:
 * net.BlockList.check builds a SocketAddress per call, measured at ~3 % of the gateway's CPU on the
 * short-link path (bench:gateway, BENCH_PROFILE=1). Everything else — IPv6 entries or addresses —
 * goes through net.BlockList as before.
 */
export function ipMatcher(list: string[]): (ip: string) => boolean {
  const bl = new net.BlockList();
  const v4: Array<[net: number, mask: number]> = [];
  let allV4 = true;
  for (const entry of list) {
    const [addr = '', bits] = entry.trim().split('/');
    const family = net.isIPv6(addr) ? 'ipv6' : net.isIPv4(addr) ? 'ipv4' : undefined;
    if (!family) throw new Error(`invalid IP or CIDR "${entry}"`);
    if (bits === undefined) bl.addAddress(addr, family);
    else bl.addSubnet(addr, Number(bits), family);
    if (family === 'ipv4') {
      const n = bits === undefined ? 32 : Number(bits);
      const mask = n <= 0 ? 0 : n >= 32 ? 0xffffffff : (0xffffffff << (32 - n)) >>> 0;
      v4.push([(parseIPv4(addr) & mask) >>> 0, mask]);
    } else allV4 = false;
  }
  return (ip) => {
    const a = normalizeIp(ip);
    if (allV4) {
      const n = parseIPv4(a);
      if (n !== -1) {
        for (const [netw, mask] of v4) if (((n & mask) >>> 0) === netw) return true;
        return false;
      }
    }
    const family = net.isIPv6(a) ? 'ipv6' : net.isIPv4(a) ? 'ipv4' : undefined;
    return family !== undefined && bl.check(a, family);
  };
}

import net from 'node:net';

/** Strips the IPv4-mapped IPv6 prefix Node reports for dual-stack sockets (`::ffff:1.2.3.4`). */
export function normalizeIp(ip: string): string {
  return ip.startsWith('::ffff:') && net.isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
}

/** A matcher for a list of IPs and CIDRs (Traefik `ip.Checker`), backed by net.BlockList. */
export function ipMatcher(list: string[]): (ip: string) => boolean {
  const bl = new net.BlockList();
  for (const entry of list) {
    const [addr = '', bits] = entry.trim().split('/');
    const family = net.isIPv6(addr) ? 'ipv6' : net.isIPv4(addr) ? 'ipv4' : undefined;
    if (!family) throw new Error(`invalid IP or CIDR "${entry}"`);
    if (bits === undefined) bl.addAddress(addr, family);
    else bl.addSubnet(addr, Number(bits), family);
  }
  return (ip) => {
    const a = normalizeIp(ip);
    const family = net.isIPv6(a) ? 'ipv6' : net.isIPv4(a) ? 'ipv4' : undefined;
    return family !== undefined && bl.check(a, family);
  };
}

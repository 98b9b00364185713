import { BlockList, isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';

/**
 * Named ranges, as proxy-addr (Express/Fastify `trustProxy`) names them, so TRUSTED_PROXIES reads
 * like core-service's TRUST_PROXY.
 */
const NAMED: Record<string, string[]> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
};

/** Parses `TRUSTED_PROXIES`: comma-separated IPs, CIDRs or the names above. Throws on a bad entry. */
export function parseTrustedProxies(spec: string): string[] {
  const out: string[] = [];
  for (const raw of spec.split(',')) {
    const item = raw.trim().toLowerCase();
    if (!item) continue;
    const named = NAMED[item];
    if (named) {
      out.push(...named);
      continue;
    }
    const [addr = '', prefix] = item.split('/');
    const family = isIP(addr);
    const max = family === 4 ? 32 : 128;
    const bits = prefix === undefined ? max : Number(prefix);
    if (family === 0 || !/^\d{1,3}$/.test(prefix ?? String(max)) || bits > max) {
      throw new Error(`"${raw.trim()}" is not an IP address, a CIDR range or one of ${Object.keys(NAMED).join(', ')}`);
    }
    out.push(`${addr}/${bits}`);
  }
  return out;
}

/**
 * Which TCP peers may speak for the client: their X-Forwarded-For entries name earlier hops and
 * their COUNTRY_HEADER is believed. Anyone else is the client, whatever headers it sends (issue 11:
 * a client-sent CF-IPCountry steered geo targeting with no trusted proxy in front).
 */
export class TrustedProxies {
  private readonly list = new BlockList();
  readonly empty: boolean;

  constructor(cidrs: string[]) {
    for (const c of cidrs) {
      const [addr, bits] = c.split('/') as [string, string];
      const family = isIP(addr) === 4 ? 'ipv4' : 'ipv6';
      this.list.addSubnet(addr, Number(bits), family);
    }
    this.empty = cidrs.length === 0;
  }

  trusts(ip: string): boolean {
    if (this.empty || !ip) return false;
    const family = isIP(ip);
    // BlockList matches IPv4-mapped IPv6 (::ffff:a.b.c.d) against IPv4 ranges too.
    return family !== 0 && this.list.check(ip, family === 4 ? 'ipv4' : 'ipv6');
  }
}

export interface ClientInfo {
  /** The client's address: the TCP peer, or from X-Forwarded-For when the peer is a trusted proxy. */
  ip: string;
  /** The TCP peer is a trusted proxy: headers it sets (COUNTRY_HEADER) may be believed. */
  viaTrustedProxy: boolean;
}

/**
 * The client address by the "rightmost untrusted" rule (MDN X-Forwarded-For "Selecting an IP
 * address"; nginx `real_ip_recursive on`; Traefik `ipStrategy.excludedIPs`): start at the TCP peer
 * and walk X-Forwarded-For right to left while the hop is a trusted proxy; the first untrusted
 * address is the client. Entries left of it are the client's own say-so and never used. When every
 * hop is trusted, the leftmost is the client; an entry that is not an IP stops the walk at the hop
 * that delivered it.
 */
export function clientInfo(req: IncomingMessage, proxies: TrustedProxies): ClientInfo {
  const peer = unmap(req.socket.remoteAddress ?? '');
  if (!proxies.trusts(peer)) return { ip: peer, viaTrustedProxy: false };
  const raw = req.headers['x-forwarded-for'];
  if (!raw) return { ip: peer, viaTrustedProxy: true };
  // Several X-Forwarded-For fields are one list in order (RFC 9110 §5.3).
  const hops = (Array.isArray(raw) ? raw.join(',') : raw).split(',');
  let ip = peer;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = unmap(stripPort(hops[i]!.trim()));
    if (isIP(hop) === 0) break;
    ip = hop;
    if (!proxies.trusts(hop)) break;
  }
  return { ip, viaTrustedProxy: true };
}

/** `::ffff:1.2.3.4` (a dual-stack socket's IPv4 peer) → `1.2.3.4`, so one client has one spelling. */
function unmap(ip: string): string {
  return ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
}

/** Some proxies write `1.2.3.4:5678` or `[::1]:5678` (Azure, RFC 7239 style). */
function stripPort(hop: string): string {
  if (hop.startsWith('[')) {
    const end = hop.indexOf(']');
    return end > 0 ? hop.slice(1, end) : hop;
  }
  const colon = hop.indexOf(':');
  return colon > 0 && colon === hop.lastIndexOf(':') ? hop.slice(0, colon) : hop;
}

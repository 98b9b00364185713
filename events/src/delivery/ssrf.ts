import dns from 'node:dns';
import net from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Which addresses a user's webhook may reach. Only globally routable unicast is allowed: ipaddr.js
 * classifies every special-purpose block of the IANA registries (RFC 6890) — loopback, RFC 1918
 * private, link-local 169.254/16 (cloud metadata 169.254.169.254 included) and fe80::/10, CGNAT
 * 100.64/10 (RFC 6598), unique-local fc00::/7, multicast, unspecified, broadcast, reserved,
 * benchmarking, and the IPv6 transition prefixes that embed an IPv4 address (6to4, Teredo, NAT64)
 * — as something other than `unicast`. An IPv4-mapped IPv6 address (::ffff:127.0.0.1) is judged as
 * the IPv4 address it is.
 */
export function addressRange(address: string): string {
  let ip = ipaddr.parse(address);
  if (ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress()) ip = (ip as ipaddr.IPv6).toIPv4Address();
  return ip.range();
}

export function isAllowedAddress(address: string, opts: { allowLoopback: boolean }): boolean {
  if (!ipaddr.isValid(address)) return false;
  const range = addressRange(address);
  return range === 'unicast' || (opts.allowLoopback && range === 'loopback');
}

export class BlockedAddressError extends Error {
  readonly code = 'SSRF_BLOCKED';
  constructor(
    readonly host: string,
    readonly address: string,
  ) {
    super(`refused: ${host} resolves to ${address} (${ipaddr.isValid(address) ? addressRange(address) : 'invalid'}), not a public address`);
    this.name = 'BlockedAddressError';
  }
}

export type Resolver = (hostname: string) => Promise<Array<{ address: string; family: number }>>;

export const systemResolver: Resolver = (hostname) => dns.promises.lookup(hostname, { all: true, verbatim: true });

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;

/**
 * A `lookup` for net/tls.connect (passed through undici's connector): the address is checked when
 * the socket is about to connect, on the very answer it connects to, so a DNS answer that changes
 * between a check and the connection (DNS rebinding) cannot slip through. Every address of the
 * answer must be allowed — a name that also resolves to a private address is refused outright.
 */
export function guardedLookup(opts: { allowLoopback: boolean; resolve?: Resolver }) {
  const resolve = opts.resolve ?? systemResolver;
  return (hostname: string, options: dns.LookupOptions | number | undefined, callback: LookupCallback): void => {
    const all = typeof options === 'object' && options !== null && options.all === true;
    resolve(hostname).then(
      (addresses) => {
        if (addresses.length === 0) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '');
        const bad = addresses.find((a) => !isAllowedAddress(a.address, opts));
        if (bad) return callback(new BlockedAddressError(hostname, bad.address) as unknown as NodeJS.ErrnoException, '');
        if (all) return callback(null, addresses.map((a) => ({ address: a.address, family: a.family })));
        const first = addresses[0]!;
        callback(null, first.address, first.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, ''),
    );
  };
}

/**
 * net.connect never calls `lookup` for an IP literal, so literals are judged before the request.
 * Returns the refusal, or undefined when the host is a name (judged at connect time) or allowed.
 */
export function checkLiteralHost(url: URL, opts: { allowLoopback: boolean }): BlockedAddressError | undefined {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (net.isIP(host) === 0) {
    // WHATWG URL parsing already turns decimal/octal/hex IPv4 forms (http://2130706433/) into
    // dotted quads, so anything left is a DNS name.
    return undefined;
  }
  return isAllowedAddress(host, opts) ? undefined : new BlockedAddressError(host, host);
}

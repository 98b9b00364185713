/**
 * The server choice of a `loadBalancer` service, as Traefik v3 makes it
 * (docs/research/traefik-v3.md §1.2; src `pkg/server/service/loadbalancer/wrr/wrr.go`,
 * `pkg/healthcheck/healthcheck.go`, `pkg/server/cookie/cookie.go`):
 *  - weighted round robin by earliest deadline first: each pick takes the server with the smallest
 *    deadline and pushes it back by 1/weight, so weights 3:1 give a a a b, interleaved smoothly
 *    (a a b a …, never long runs), and a server coming back starts at the current deadline instead of
 *    catching up on the turns it missed; weight 0 never serves (src: non-positive weights are skipped);
 *  - `healthCheck`: every `interval` (`unhealthyInterval` while down) a request to `path` with
 *    `timeout`; healthy is the configured `status`, or any 2xx/3xx when none is set. An unhealthy
 *    server leaves the rotation and comes back at its next good answer; no healthy server left →
 *    503 "no available server";
 *  - `sticky.cookie`: a request carrying the service's cookie goes to the server it names while that
 *    server is healthy; otherwise WRR picks and the answer sets the cookie. The value is a hash of
 *    the server URL (v3 stopped putting the address itself in the cookie), the raw URL is still
 *    accepted (v2 cookies); the default name is Traefik's `_` + sha1("_TRAEFIK_BACKEND_" + service)[:5].
 * Checks start at once (not one interval later) so a server that is down when the gateway starts
 * or reloads leaves the rotation within one timeout.
 */
import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { request, type Pool } from 'undici';
import type { HealthCheckConfig, StickyCookieConfig } from '../config/schema.ts';
import { parseDuration } from '../config/duration.ts';

export interface LbServer {
  /** The configured URL without trailing slashes: the server's identity. */
  readonly url: string;
  readonly origin: URL;
  readonly host: string;
  readonly weight: number;
  /** The hash the sticky cookie carries. */
  readonly cookieValue: string;
  healthy: boolean;
  deadline: number;
  pool: Pool | undefined;
}

/** FNV-1a 64, hex: a short, stable, non-reversible-at-a-glance name for a server URL. */
export function fnv1a64(s: string): string {
  let h = 0xcbf29ce484222325n;
  const buf = Buffer.from(s);
  for (const b of buf) {
    h ^= BigInt(b);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h.toString(16).padStart(16, '0');
}

/** src `pkg/server/cookie/cookie.go` GenerateName. */
export function defaultCookieName(serviceName: string): string {
  return `_${createHash('sha1').update(`_TRAEFIK_BACKEND_${serviceName}`).digest('hex')}`.slice(0, 6);
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() === name) {
      const v = part.slice(eq + 1).trim();
      return v.startsWith('"') && v.endsWith('"') && v.length >= 2 ? v.slice(1, -1) : v;
    }
  }
  return undefined;
}

export interface BalancerOptions {
  serviceName: string;
  servers: Array<{ url: string; weight?: number | undefined }>;
  healthCheck?: HealthCheckConfig | undefined;
  sticky?: { cookie: StickyCookieConfig } | undefined;
  /** Told when a server changes state (tests, logs). */
  onStatus?: (url: string, healthy: boolean) => void;
}

export class Balancer {
  readonly servers: LbServer[];
  /** Servers that may serve (weight > 0), in declared order. */
  private readonly rotation: LbServer[];
  private curDeadline = 0;
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;
  private readonly cookie: (StickyCookieConfig & { name: string }) | undefined;
  private readonly setCookieSuffix: string;

  constructor(private readonly opts: BalancerOptions) {
    this.servers = opts.servers.map((s) => {
      const url = s.url.replace(/\/+$/, '');
      const u = new URL(url);
      const weight = s.weight ?? 1;
      return { url, origin: new URL(u.origin), host: u.host, weight, cookieValue: fnv1a64(url), healthy: true, deadline: 0, pool: undefined };
    });
    this.rotation = this.servers.filter((s) => s.weight > 0);
    for (const s of this.rotation) s.deadline = 1 / s.weight;
    const c = opts.sticky?.cookie;
    this.cookie = c ? { ...c, name: c.name ?? defaultCookieName(`${opts.serviceName}@file`) } : undefined;
    let suffix = '';
    if (c) {
      suffix += `; Path=${c.path}`;
      if (c.domain) suffix += `; Domain=${c.domain}`;
      if (c.maxAge > 0) suffix += `; Max-Age=${c.maxAge}`;
      else if (c.maxAge < 0) suffix += '; Max-Age=0';
      if (c.httpOnly) suffix += '; HttpOnly';
      if (c.secure) suffix += '; Secure';
      if (c.sameSite === 'none') suffix += '; SameSite=None';
      else if (c.sameSite === 'lax') suffix += '; SameSite=Lax';
      else if (c.sameSite === 'strict') suffix += '; SameSite=Strict';
    }
    this.setCookieSuffix = suffix;
    if (opts.healthCheck) for (const s of this.servers) this.schedule(s, opts.healthCheck, 0);
  }

  /**
   * The next healthy server by earliest deadline (src wrr.go nextServer), or undefined when none.
   * `avoid`: servers that failed this request already, passed over while another is healthy.
   */
  next(avoid?: Set<string>): LbServer | undefined {
    const list = this.rotation;
    if (avoid !== undefined) {
      let other: LbServer | undefined;
      for (const s of list) if (s.healthy && !avoid.has(s.url) && (other === undefined || s.deadline < other.deadline)) other = s;
      if (other) {
        this.curDeadline = other.deadline;
        other.deadline += 1 / other.weight;
        return other;
      }
    }
    if (list.length === 1) {
      const only = list[0] as LbServer;
      return only.healthy ? only : undefined;
    }
    let best: LbServer | undefined;
    for (const s of list) if (s.healthy && (best === undefined || s.deadline < best.deadline)) best = s;
    if (!best) return undefined;
    this.curDeadline = best.deadline;
    best.deadline += 1 / best.weight;
    return best;
  }

  /**
   * The server for a request: its sticky cookie's server when that one is healthy, else the next by
   * WRR, registering the Set-Cookie on the answer. `onHeaders` is the ctx's response-header list.
   */
  pick(cookieHeader: string | undefined, onHeaders: Array<(res: ServerResponse) => void> | undefined, avoid?: Set<string>): LbServer | undefined {
    const c = this.cookie;
    if (!c) return this.next(avoid);
    const v = cookieValue(cookieHeader, c.name);
    if (v !== undefined) {
      for (const s of this.rotation) if (s.healthy && (s.cookieValue === v || s.url === v) && !avoid?.has(s.url)) return s;
    }
    const s = this.next(avoid);
    if (s && onHeaders) {
      const line = `${c.name}=${s.cookieValue}${this.setCookieSuffix}`;
      onHeaders.push((res) => {
        const prior = res.getHeader('set-cookie');
        res.setHeader('Set-Cookie', prior === undefined ? line : [...(Array.isArray(prior) ? prior : [String(prior)]), line]);
      });
    }
    return s;
  }

  /** The Set-Cookie line for a server (upgrade answers are written raw, see service.ts). */
  setCookieFor(s: LbServer): string | undefined {
    return this.cookie ? `${this.cookie.name}=${s.cookieValue}${this.setCookieSuffix}` : undefined;
  }

  private setHealthy(s: LbServer, healthy: boolean): void {
    if (s.healthy === healthy) return;
    s.healthy = healthy;
    // src wrr.go SetStatus → a server coming back competes from the current deadline
    if (healthy) s.deadline = this.curDeadline + 1 / Math.max(s.weight, 1e-9);
    this.opts.onStatus?.(s.url, healthy);
  }

  private schedule(s: LbServer, hc: HealthCheckConfig, delayMs: number): void {
    if (this.closed) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      void this.check(s, hc).then((ok) => {
        this.setHealthy(s, ok);
        const interval = parseDuration(ok ? hc.interval : (hc.unhealthyInterval ?? hc.interval)) ?? 30_000;
        this.schedule(s, hc, Math.max(interval, 10));
      });
    }, delayMs);
    t.unref();
    this.timers.add(t);
  }

  private async check(s: LbServer, hc: HealthCheckConfig): Promise<boolean> {
    const target = new URL(s.origin);
    if (hc.scheme) target.protocol = `${hc.scheme}:`;
    if (hc.port) target.port = String(hc.port);
    const timeoutMs = parseDuration(hc.timeout) ?? 5000;
    const headers: Record<string, string> = { ...(hc.headers ?? {}) };
    if (hc.hostname) headers.host = hc.hostname;
    try {
      const res = await request(new URL(hc.path, target), {
        method: hc.method as 'GET',
        headers,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: AbortSignal.timeout(timeoutMs),
      });
      await res.body.dump();
      return hc.status !== undefined ? res.statusCode === hc.status : res.statusCode >= 200 && res.statusCode < 400;
    } catch {
      return false;
    }
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}

/**
 * A JWK set fetched from `jwk_url` and cached for as long as the response allows: `Cache-Control`
 * max-age / s-maxage, else `Expires` (docs/docs/auth/authentication/jwt.mdx "Rotating JWKs";
 * JWT.hs `fetchAndUpdateJWKs`). Hasura refreshes in a background thread; we refresh lazily on the
 * next request after expiry, and additionally refetch (at most every `minRefetchMs`) when a token
 * names a `kid` the cached set lacks, so a key rotated in by core is picked up even when the JWKS
 * response carries no caching headers.
 */
import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';

export interface JwksCacheOptions {
  fetch?: typeof fetch;
  now?: () => number;
  minRefetchMs?: number;
}

export function cacheLifetimeMs(headers: Headers, now: number): number | undefined {
  const cc = headers.get('cache-control');
  if (cc) {
    const directives = cc.toLowerCase().split(',').map((d) => d.trim());
    if (directives.includes('no-cache') || directives.includes('no-store')) return 0;
    for (const name of ['s-maxage', 'max-age']) {
      const d = directives.find((x) => x.startsWith(`${name}=`));
      if (d) {
        const secs = Number(d.slice(name.length + 1));
        if (Number.isFinite(secs)) return Math.max(0, secs) * 1000;
      }
    }
  }
  const expires = headers.get('expires');
  if (expires) {
    const at = Date.parse(expires);
    if (Number.isFinite(at)) return Math.max(0, at - now);
  }
  return undefined;
}

export class JwksCache {
  private readonly url: string;
  private readonly fetchFn: typeof fetch;
  private readonly now: () => number;
  private readonly minRefetchMs: number;
  private keys: JSONWebKeySet | undefined;
  private getKey: JWTVerifyGetKey | undefined;
  /** undefined = never expires (no caching headers). */
  private expiresAt: number | undefined;
  private fetchedAt = 0;
  private inflight: Promise<void> | undefined;
  /** How many times the set was fetched (tests observe caching through it). */
  fetchCount = 0;

  constructor(url: string, opts: JwksCacheOptions = {}) {
    this.url = url;
    this.fetchFn = opts.fetch ?? fetch;
    this.now = opts.now ?? Date.now;
    this.minRefetchMs = opts.minRefetchMs ?? 10_000;
  }

  private async refresh(): Promise<void> {
    this.inflight ??= (async () => {
      try {
        const res = await this.fetchFn(this.url, { headers: { accept: 'application/json' } });
        if (!res.ok) throw new Error(`JWK fetch from ${this.url} answered ${res.status}`);
        const body = (await res.json()) as JSONWebKeySet;
        if (!body || !Array.isArray(body.keys)) throw new Error(`JWK fetch from ${this.url}: no "keys" array`);
        const now = this.now();
        const life = cacheLifetimeMs(res.headers, now);
        this.keys = body;
        this.getKey = createLocalJWKSet(body);
        this.fetchedAt = now;
        this.expiresAt = life === undefined ? undefined : now + life;
        this.fetchCount++;
      } finally {
        this.inflight = undefined;
      }
    })();
    return this.inflight;
  }

  /** The key resolver for jose, refreshed when stale or when the token's kid is unknown. */
  async resolver(kid: string | undefined): Promise<JWTVerifyGetKey> {
    const now = this.now();
    const stale = !this.getKey || (this.expiresAt !== undefined && now >= this.expiresAt);
    const unknownKid = kid !== undefined && this.keys !== undefined && !this.keys.keys.some((k) => k.kid === kid);
    if (stale || (unknownKid && now - this.fetchedAt >= this.minRefetchMs)) {
      try {
        await this.refresh();
      } catch (err) {
        if (!this.getKey) throw err;
      }
    }
    return this.getKey!;
  }
}

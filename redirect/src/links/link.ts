import { createHash } from 'node:crypto';

/** A link as the hot path needs it: plain data, JSON-safe (it is cached in Redis as JSON). */
export interface Link {
  id: string;
  code: string;
  destination: string;
  redirectType: 301 | 302 | 307 | 308;
  forwardQuery: boolean;
  /** utm_* pairs set on the link, applied over the destination's own query. */
  utm: [string, string][];
  status: 'active' | 'disabled' | 'archived';
  expiresAt: number | null;
  expiredUrl: string | null;
  maxClicks: number | null;
  /** click_count when the row was read: max_clicks is enforced within the cache TTL, not exactly. */
  clickCount: number;
  /**
   * A fingerprint of the bcrypt hash, never the hash: it binds the password cookie to the current
   * password (changing it logs everyone out) without putting the hash in Redis or memory.
   */
  passwordTag: string | null;
  iosUrl: string | null;
  androidUrl: string | null;
  geoTargets: Record<string, string>;
  abVariants: { url: string; weight: number }[];
  title: string | null;
  createdAt: string;
}

export interface LinkRow {
  id: string;
  code: string;
  destination: string;
  redirect_type: number;
  forward_query: boolean;
  utm_source: string | null;
  utm_medium: string | null;
  utm_campaign: string | null;
  utm_term: string | null;
  utm_content: string | null;
  status: string;
  expires_at: Date | null;
  expired_url: string | null;
  max_clicks: string | null;
  click_count: string;
  password: string | null;
  ios_url: string | null;
  android_url: string | null;
  geo_targets: unknown;
  ab_variants: unknown;
  title: string | null;
  created_at: Date;
}

const UTM_KEYS = ['source', 'medium', 'campaign', 'term', 'content'] as const;
const isHttp = (u: unknown): u is string => typeof u === 'string' && /^https?:\/\//i.test(u);

/**
 * Location must be ASCII: the links migration accepts IRIs (any non-space character), and Node
 * refuses header values beyond Latin-1 (and would send Latin-1 ones unencoded). The WHATWG URL
 * serialiser percent-encodes the path and query and punycodes the host (RFC 3987 §3.1 mapping).
 * Done once per cache fill, not per request.
 */
export function asciiUrl(u: string): string {
  if (!/[^\x21-\x7e]/.test(u)) return u;
  try {
    return new URL(u).href;
  } catch {
    return encodeURI(u);
  }
}
const asciiOrNull = (u: string | null) => (u === null ? null : asciiUrl(u));

export function passwordTag(hash: string): string {
  return createHash('sha256').update(hash).digest('base64url').slice(0, 16);
}

export function linkFromRow(r: LinkRow): Link {
  const utm: [string, string][] = [];
  for (const k of UTM_KEYS) {
    const v = r[`utm_${k}`];
    if (v) utm.push([`utm_${k}`, v]);
  }
  const geo: Record<string, string> = {};
  if (r.geo_targets && typeof r.geo_targets === 'object' && !Array.isArray(r.geo_targets)) {
    for (const [k, v] of Object.entries(r.geo_targets)) if (isHttp(v)) geo[k.toUpperCase()] = asciiUrl(v);
  }
  // geo_targets/ab_variants are jsonb written by users through GraphQL: anything not an http(s) URL
  // or not a positive weight is ignored rather than trusted.
  const ab: { url: string; weight: number }[] = [];
  if (Array.isArray(r.ab_variants)) {
    for (const v of r.ab_variants as unknown[]) {
      if (!v || typeof v !== 'object') continue;
      const { url, weight } = v as { url?: unknown; weight?: unknown };
      const w = typeof weight === 'number' ? weight : Number(weight);
      if (isHttp(url) && Number.isFinite(w) && w > 0) ab.push({ url: asciiUrl(url), weight: w });
    }
  }
  const rt = r.redirect_type;
  return {
    id: r.id,
    code: r.code,
    destination: asciiUrl(r.destination),
    redirectType: rt === 301 || rt === 307 || rt === 308 ? rt : 302,
    forwardQuery: r.forward_query,
    utm,
    status: r.status === 'disabled' || r.status === 'archived' ? r.status : 'active',
    expiresAt: r.expires_at ? r.expires_at.getTime() : null,
    expiredUrl: asciiOrNull(r.expired_url),
    maxClicks: r.max_clicks === null ? null : Number(r.max_clicks),
    clickCount: Number(r.click_count),
    passwordTag: r.password ? passwordTag(r.password) : null,
    iosUrl: asciiOrNull(r.ios_url),
    androidUrl: asciiOrNull(r.android_url),
    geoTargets: geo,
    abVariants: ab,
    title: r.title,
    createdAt: r.created_at.toISOString(),
  };
}

import { createHash } from 'node:crypto';
import type { Link } from './links/link.ts';

/** What the handler learned from the request; everything decide() needs besides the link. */
export interface RequestFacts {
  now: number;
  /** Raw query string without the leading '?', '' when none. */
  query: string;
  userAgent: string;
  /** ISO 3166-1 alpha-2, upper case, from the trusted COUNTRY_HEADER; null when unknown. */
  country: string | null;
  /** Stable per visitor (cookie id), used to keep an A/B assignment sticky. */
  visitorKey: string;
  /** A valid password cookie for this link's current password was presented. */
  passwordOk: boolean;
}

export type Decision =
  | { kind: 'not_found' }
  | { kind: 'gone'; reason: 'expired' | 'click_limit' }
  | { kind: 'password' }
  | { kind: 'redirect'; status: 301 | 302 | 307 | 308; location: string; cacheControl: string; count: boolean };

export interface DecideOptions {
  /** Browser cache lifetime granted to 301/308 answers. */
  permanentMaxAgeS: number;
}

const NO_STORE = 'private, no-store';
const IOS = /\b(iPhone|iPad|iPod)\b/;
const ANDROID = /\bAndroid\b/;

/**
 * The rules of one link for one request, in the order peers apply them (docs/research/peers.md §2: Dub's
 * middleware, Sink's 1.redirect.ts): inactive → 404; expired → expired_url or 410; click limit → 410;
 * password → interstitial; then device, country, A/B to pick the target. Pure: no I/O, no clock.
 */
export function decide(link: Link | null, req: RequestFacts, opts: DecideOptions): Decision {
  if (!link || link.status !== 'active') return { kind: 'not_found' };
  if (link.expiresAt !== null && req.now >= link.expiresAt) {
    if (link.expiredUrl) return { kind: 'redirect', status: 302, location: link.expiredUrl, cacheControl: NO_STORE, count: false };
    return { kind: 'gone', reason: 'expired' };
  }
  if (link.maxClicks !== null && link.clickCount >= link.maxClicks) return { kind: 'gone', reason: 'click_limit' };
  if (link.passwordTag !== null && !req.passwordOk) return { kind: 'password' };

  const target = pickTarget(link, req);
  const location = buildLocation(target, link.utm, link.forwardQuery ? req.query : '');
  return { kind: 'redirect', status: link.redirectType, location, cacheControl: cacheControl(link, req.now, opts), count: true };
}

export function pickTarget(link: Link, req: Pick<RequestFacts, 'userAgent' | 'country' | 'visitorKey'>): string {
  return chooseTarget(link, req).url;
}

/** The destination and the rule that chose it (recorded with the click for analytics, issue 16). */
export function chooseTarget(link: Link, req: Pick<RequestFacts, 'userAgent' | 'country' | 'visitorKey'>): { url: string; rule: 'ios' | 'android' | 'geo' | 'ab' | 'default' } {
  if (link.iosUrl && IOS.test(req.userAgent)) return { url: link.iosUrl, rule: 'ios' };
  if (link.androidUrl && ANDROID.test(req.userAgent)) return { url: link.androidUrl, rule: 'android' };
  if (req.country) {
    const geo = link.geoTargets[req.country];
    if (geo) return { url: geo, rule: 'geo' };
  }
  if (link.abVariants.length > 0) return { url: pickVariant(link.id, link.abVariants, req.visitorKey), rule: 'ab' };
  return { url: link.destination, rule: 'default' };
}

/**
 * Weighted pick, sticky per visitor: the point in [0, total) comes from a hash of (link, visitor),
 * so the same visitor lands on the same variant without server-side state (Dub keeps it in a
 * cookie per link; we derive it from one visitor cookie).
 */
export function pickVariant(linkId: string, variants: { url: string; weight: number }[], visitorKey: string): string {
  const total = variants.reduce((s, v) => s + v.weight, 0);
  const h = createHash('sha256').update(linkId).update('\0').update(visitorKey).digest();
  let point = (h.readUInt32BE(0) / 2 ** 32) * total;
  for (const v of variants) {
    if (point < v.weight) return v.url;
    point -= v.weight;
  }
  return variants[variants.length - 1]!.url;
}

/**
 * Destination query, then the link's UTM values, then the visitor's own query string (Dub's
 * get-final-url.ts: short-link parameters win over the target's). Without either the destination is
 * returned byte for byte, which keeps the common case free of URL parsing.
 */
export function buildLocation(target: string, utm: [string, string][], query: string): string {
  if (utm.length === 0 && query === '') return target;
  let u: URL;
  try {
    u = new URL(target);
  } catch {
    return target;
  }
  for (const [k, v] of utm) u.searchParams.set(k, v);
  if (query !== '') {
    const extra = new URLSearchParams(query);
    for (const k of new Set(extra.keys())) u.searchParams.delete(k);
    for (const [k, v] of extra) u.searchParams.append(k, v);
  }
  return u.toString();
}

/**
 * RFC 9110 §15.4: 301 and 308 are permanent and "cacheable by default", 302 and 307 are not.
 * Browsers keep a cached permanent redirect indefinitely, so later edits and repeat clicks never
 * reach us (YOURLS#1964, #1832; docs/research/peers.md §3.6). Permanent answers therefore get a short max-age
 * (Bitly sends ≈90 s, shlink#746), never beyond the link's expiry, `private` when the target depends
 * on who asks, and no caching at all behind a password. Temporary answers are never stored.
 */
export function cacheControl(link: Link, now: number, opts: DecideOptions): string {
  if (link.redirectType === 302 || link.redirectType === 307 || link.passwordTag !== null) return NO_STORE;
  let maxAge = opts.permanentMaxAgeS;
  if (link.expiresAt !== null) maxAge = Math.min(maxAge, Math.floor((link.expiresAt - now) / 1000));
  if (maxAge <= 0) return NO_STORE;
  const perVisitor = link.iosUrl || link.androidUrl || Object.keys(link.geoTargets).length > 0 || link.abVariants.length > 0;
  return `${perVisitor ? 'private' : 'public'}, max-age=${maxAge}`;
}

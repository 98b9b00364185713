import { isbot } from 'isbot';
import { LRUCache } from 'lru-cache';
import { UAParser } from 'ua-parser-js';
import type { Click } from '../clicks/click.ts';

export interface EnrichedClick extends Click {
  streamId: string;
  device: string;
  browser: string;
  os: string;
  referrerHost: string;
  isBot: boolean;
  utmSource: string;
  utmMedium: string;
  utmCampaign: string;
  /** The A/B variant's URL when the rules picked one ('' otherwise). */
  variant: string;
  destination: string;
}

const NO_UTM = { utmSource: '', utmMedium: '', utmCampaign: '' };

/**
 * utm_source/medium/campaign of the URL the visitor was sent to (the link's UTM values and the
 * visitor's own query merged, decide.ts buildLocation), each cut to 200 characters. Real traffic
 * repeats a few locations per link, so results are memoised like agents.
 */
export function utmOf(location: string): { utmSource: string; utmMedium: string; utmCampaign: string } {
  if (!location.includes('utm_')) return NO_UTM;
  let u = utms.get(location);
  if (!u) {
    try {
      const q = new URL(location).searchParams;
      const v = (k: string) => (q.get(k) ?? '').slice(0, 200);
      u = { utmSource: v('utm_source'), utmMedium: v('utm_medium'), utmCampaign: v('utm_campaign') };
    } catch {
      u = NO_UTM;
    }
    utms.set(location, u);
  }
  return u;
}
const utms = new LRUCache<string, { utmSource: string; utmMedium: string; utmCampaign: string }>({ max: 10_000 });

/**
 * Link-preview fetchers and scanners that isbot 5 does not name (checked against its pattern list);
 * previews are the main source of phantom clicks (shlink#900, #1613; dub#1860; docs/research/peers.md §3.2).
 */
const EXTRA_BOTS = /(preview|unfurl|scanner|headless|lighthouse|embedly|outbrain|skypeuripreview|bitlybot|vkshare|w3c_validator)/i;

export function isBotAgent(ua: string): boolean {
  // No user agent at all is a script or a scanner, not a person clicking a link.
  return ua.trim() === '' || isbot(ua) || EXTRA_BOTS.test(ua);
}

export function referrerHost(ref: string): string {
  if (!ref) return '';
  try {
    return new URL(ref).hostname.toLowerCase().replace(/^www\./, '');
  } catch {
    return '';
  }
}

interface Agent {
  device: string;
  browser: string;
  os: string;
  isBot: boolean;
}

// Parsing costs ~70 µs per user agent (measured) and real traffic repeats a few thousand agents,
// so parses are memoised.
const agents = new LRUCache<string, Agent>({ max: 10_000 });

export function parseAgent(ua: string): Agent {
  let a = agents.get(ua);
  if (!a) {
    // ua-parser-js 1.x (MIT; 2.x is AGPL — do not upgrade) for device, browser and OS names.
    const r = new UAParser(ua).getResult();
    const type = r.device.type;
    a = {
      device: type === 'mobile' || type === 'tablet' ? type : type ? 'other' : 'desktop',
      browser: r.browser.name ?? 'unknown',
      os: r.os.name ?? 'unknown',
      isBot: isBotAgent(ua),
    };
    agents.set(ua, a);
  }
  return a;
}

/**
 * One object literal of a fixed shape rather than spreads: spreading a click whose optional fields
 * (tp, target, rule, location) come and go gave every entry one of several hidden classes, and
 * enrichment measured ~57 µs per click (bench/drain-profile.ts) — more than its PostgreSQL write.
 */
export function enrich(streamId: string, c: Click): EnrichedClick {
  const target = (c.target ?? '').slice(0, 2048);
  const agent = parseAgent(c.ua);
  const utm = utmOf(c.location || target);
  return {
    id: c.id,
    linkId: c.linkId,
    code: c.code,
    ts: c.ts,
    visitor: c.visitor,
    ua: c.ua,
    referrer: c.referrer,
    country: c.country,
    streamId,
    device: agent.device,
    browser: agent.browser,
    os: agent.os,
    isBot: agent.isBot,
    referrerHost: referrerHost(c.referrer),
    utmSource: utm.utmSource,
    utmMedium: utm.utmMedium,
    utmCampaign: utm.utmCampaign,
    variant: c.rule === 'ab' ? target : '',
    destination: target,
    // Present (possibly undefined) on every click, so every click has the same shape.
    tp: c.tp,
    target: c.target,
    rule: c.rule,
    location: c.location,
  };
}

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
}

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

export function enrich(streamId: string, c: Click): EnrichedClick {
  return { ...c, ...parseAgent(c.ua), streamId, referrerHost: referrerHost(c.referrer) };
}

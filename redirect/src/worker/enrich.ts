import { isbot } from 'isbot';
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
 * previews are the main source of phantom clicks (shlink#900, #1613; dub#1860; peers.md §3.2).
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

/** ua-parser-js 1.x (MIT; 2.x is AGPL — do not upgrade) for device, browser and OS names. */
export function enrich(streamId: string, c: Click): EnrichedClick {
  const r = new UAParser(c.ua).getResult();
  const type = r.device.type;
  return {
    ...c,
    streamId,
    device: type === 'mobile' || type === 'tablet' ? type : type ? 'other' : 'desktop',
    browser: r.browser.name ?? 'unknown',
    os: r.os.name ?? 'unknown',
    referrerHost: referrerHost(c.referrer),
    isBot: isBotAgent(c.ua),
  };
}

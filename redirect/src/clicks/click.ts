/** One click as it travels through the stream: flat string fields (XADD field/value pairs). */
export interface Click {
  /** Producer-side unique id (links.clicks.click_id): dedups a re-sent XADD. */
  id: string;
  linkId: string;
  code: string;
  /** Epoch milliseconds of the redirect. */
  ts: number;
  visitor: string;
  ua: string;
  referrer: string;
  country: string;
  /**
   * The W3C traceparent of the redirect's span, when that request was traced: the worker's batch
   * span links to it (one batch serves many traces, so a link, not a parent).
   */
  tp?: string;
  /**
   * Analytics dimensions (issue 16): the destination the rules chose before UTM/query merging, the
   * rule that chose it ('ab' marks an A/B variant), and the final Location when it differs (its
   * utm_* parameters are the click's UTM dimensions). Optional: entries without them still parse.
   */
  target?: string;
  rule?: string;
  location?: string;
}

/**
 * One field per entry, `c` = a version tag and the values joined by TAB. Header values may hold a
 * TAB (RFC 9110 §5.5 allows HTAB inside field values), so the two header-borne values have theirs
 * turned into spaces; no other control character can occur. Fewer arguments per XADD cut the
 * redirect server's CPU per click (bench/redirect.ts).
 */
export function packClick(c: Click): string {
  const base = `1\t${c.id}\t${c.linkId}\t${c.code}\t${c.ts}\t${c.visitor}\t${noTab(c.ua)}\t${noTab(c.referrer)}\t${c.country}`;
  // An optional tenth value: older workers never see it (they read nine), newer ones link to it.
  // Values 11-13 (target, rule, location) follow only when a target is known.
  if (c.target) return `${base}\t${c.tp ?? ''}\t${noTab(c.target)}\t${c.rule ?? ''}\t${noTab(c.location ?? '')}`;
  return c.tp ? `${base}\t${c.tp}` : base;
}

const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/;

const noTab = (s: string) => (s.includes('\t') ? s.replaceAll('\t', ' ') : s);

export function clickFields(c: Click): string[] {
  return ['c', packClick(c)];
}

/** Parses stream fields back; null when the entry is not a click (it goes to the dead-letter stream). */
export function parseClick(fields: string[]): Click | null {
  const m = new Map<string, string>();
  if (fields.length === 2 && fields[0] === 'c') {
    const v = fields[1]!.split('\t');
    if (v[0] !== '1' || (v.length !== 9 && v.length !== 10 && v.length !== 13)) return null;
    const keys = ['', 'id', 'link', 'code', 'ts', 'v', 'ua', 'ref', 'co', 'tp', 'dst', 'rule', 'loc'];
    for (let i = 1; i < v.length; i++) m.set(keys[i]!, v[i]!);
  } else {
    for (let i = 0; i + 1 < fields.length; i += 2) m.set(fields[i]!, fields[i + 1]!);
  }
  const ts = Number(m.get('ts'));
  const linkId = m.get('link') ?? '';
  const code = m.get('code') ?? '';
  // 2000-01-01 .. 2100-01-01: inside both JavaScript's Date range and PostgreSQL's timestamptz range.
  if (!Number.isSafeInteger(ts) || ts < 946_684_800_000 || ts >= 4_102_444_800_000) return null;
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(linkId) || code === '') return null;
  return {
    id: m.get('id') ?? '',
    linkId,
    code,
    ts,
    visitor: m.get('v') ?? '',
    ua: m.get('ua') ?? '',
    referrer: m.get('ref') ?? '',
    country: m.get('co') ?? '',
    ...(TRACEPARENT.test(m.get('tp') ?? '') ? { tp: m.get('tp')! } : {}),
    ...(m.get('dst') ? { target: m.get('dst')!, rule: m.get('rule') ?? '', location: m.get('loc') ?? '' } : {}),
  };
}

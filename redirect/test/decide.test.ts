import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildLocation, decide, pickVariant, type RequestFacts } from '../src/decide.ts';
import type { Link } from '../src/links/link.ts';

const NOW = Date.parse('2026-01-15T12:00:00Z');
const opts = { permanentMaxAgeS: 60 };
const link = (o: Partial<Link> = {}): Link => ({
  id: '00000000-0000-4000-8000-000000000001',
  code: 'abc',
  destination: 'https://example.com/x',
  redirectType: 302,
  forwardQuery: true,
  utm: [],
  status: 'active',
  expiresAt: null,
  expiredUrl: null,
  maxClicks: null,
  clickCount: 0,
  passwordTag: null,
  iosUrl: null,
  androidUrl: null,
  geoTargets: {},
  abVariants: [],
  title: null,
  createdAt: '2026-01-01T00:00:00.000Z',
  ...o,
});
const req = (o: Partial<RequestFacts> = {}): RequestFacts => ({ now: NOW, query: '', userAgent: 'Mozilla/5.0 (X11; Linux x86_64)', country: null, visitorKey: 'v1', passwordOk: false, ...o });
const loc = (d: ReturnType<typeof decide>) => (d.kind === 'redirect' ? d.location : d.kind);

void describe('decide()', () => {
  void it('redirects with the link status, 302 by default', () => {
    assert.deepEqual(decide(link(), req(), opts), { kind: 'redirect', status: 302, location: 'https://example.com/x', cacheControl: 'private, no-store', count: true });
    for (const s of [301, 307, 308] as const) assert.equal((decide(link({ redirectType: s }), req(), opts) as { status: number }).status, s);
  });

  void it('unknown, disabled and archived links are not found', () => {
    assert.equal(decide(null, req(), opts).kind, 'not_found');
    assert.equal(decide(link({ status: 'disabled' }), req(), opts).kind, 'not_found');
    assert.equal(decide(link({ status: 'archived' }), req(), opts).kind, 'not_found');
  });

  void it('expired: 410, or the expired_url without counting', () => {
    assert.deepEqual(decide(link({ expiresAt: NOW - 1 }), req(), opts), { kind: 'gone', reason: 'expired' });
    assert.deepEqual(decide(link({ expiresAt: NOW, expiredUrl: 'https://e.com/over' }), req(), opts), {
      kind: 'redirect', status: 302, location: 'https://e.com/over', cacheControl: 'private, no-store', count: false,
    });
    assert.equal(decide(link({ expiresAt: NOW + 1000 }), req(), opts).kind, 'redirect');
  });

  void it('click limit reached → 410', () => {
    assert.deepEqual(decide(link({ maxClicks: 3, clickCount: 3 }), req(), opts), { kind: 'gone', reason: 'click_limit' });
    assert.equal(decide(link({ maxClicks: 3, clickCount: 2 }), req(), opts).kind, 'redirect');
  });

  void it('password: interstitial until a valid cookie', () => {
    assert.deepEqual(decide(link({ passwordTag: 't' }), req(), opts), { kind: 'password' });
    const d = decide(link({ passwordTag: 't', redirectType: 301 }), req({ passwordOk: true }), opts);
    assert.equal(loc(d), 'https://example.com/x');
    assert.equal((d as { cacheControl: string }).cacheControl, 'private, no-store');
  });

  void it('device targeting by user agent', () => {
    const l = link({ iosUrl: 'https://apps.apple.com/x', androidUrl: 'https://play.google.com/x' });
    assert.equal(loc(decide(l, req({ userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)' }), opts)), 'https://apps.apple.com/x');
    assert.equal(loc(decide(l, req({ userAgent: 'Mozilla/5.0 (Linux; Android 14; Pixel 8)' }), opts)), 'https://play.google.com/x');
    assert.equal(loc(decide(l, req(), opts)), 'https://example.com/x');
  });

  void it('geo targeting by country', () => {
    const l = link({ geoTargets: { DE: 'https://example.de/' } });
    assert.equal(loc(decide(l, req({ country: 'DE' }), opts)), 'https://example.de/');
    assert.equal(loc(decide(l, req({ country: 'FR' }), opts)), 'https://example.com/x');
    assert.equal(loc(decide(l, req({ country: null }), opts)), 'https://example.com/x');
  });

  void it('A/B: weighted and sticky per visitor', () => {
    const variants = [{ url: 'https://a.example/', weight: 70 }, { url: 'https://b.example/', weight: 30 }];
    const counts = new Map<string, number>();
    for (let i = 0; i < 4000; i++) {
      const u = pickVariant('link-1', variants, `visitor-${i}`);
      counts.set(u, (counts.get(u) ?? 0) + 1);
      assert.equal(pickVariant('link-1', variants, `visitor-${i}`), u);
    }
    const a = counts.get('https://a.example/')! / 4000;
    assert.ok(a > 0.65 && a < 0.75, `share of A ${a}`);
    const l = link({ abVariants: variants });
    assert.equal(loc(decide(l, req({ visitorKey: 'x' }), opts)), loc(decide(l, req({ visitorKey: 'x' }), opts)));
  });

  void it('query forwarding and UTM parameters', () => {
    assert.equal(buildLocation('https://e.com/p?a=1#frag', [['utm_source', 'news']], 'b=2&a=3'), 'https://e.com/p?utm_source=news&b=2&a=3#frag');
    assert.equal(loc(decide(link({ forwardQuery: false }), req({ query: 'x=1' }), opts)), 'https://example.com/x');
    assert.equal(loc(decide(link(), req({ query: 'x=1' }), opts)), 'https://example.com/x?x=1');
    assert.equal(loc(decide(link({ utm: [['utm_campaign', 'spring sale']] }), req(), opts)), 'https://example.com/x?utm_campaign=spring+sale');
  });

  void it('cache-control: temporary never stored, permanent short and bounded by expiry', () => {
    assert.equal((decide(link({ redirectType: 307 }), req(), opts) as { cacheControl: string }).cacheControl, 'private, no-store');
    assert.equal((decide(link({ redirectType: 301 }), req(), opts) as { cacheControl: string }).cacheControl, 'public, max-age=60');
    assert.equal((decide(link({ redirectType: 308, expiresAt: NOW + 10_500 }), req(), opts) as { cacheControl: string }).cacheControl, 'public, max-age=10');
    assert.equal((decide(link({ redirectType: 301, geoTargets: { DE: 'https://d.e/' } }), req(), opts) as { cacheControl: string }).cacheControl, 'private, max-age=60');
  });
});

void describe('click entries', () => {
  void it('pack and parse round-trip, TABs in header values included', async () => {
    const { packClick, parseClick } = await import('../src/clicks/click.ts');
    const c = { id: 'id1', linkId: '00000000-0000-4000-8000-000000000001', code: 'abc', ts: NOW, visitor: 'v', ua: 'Mozilla\t5.0', referrer: 'https://r.example/\t', country: 'DE' };
    assert.deepEqual(parseClick(['c', packClick(c)]), { ...c, ua: 'Mozilla 5.0', referrer: 'https://r.example/ ' });
    assert.equal(parseClick(['c', '2\tfuture-format']), null);
    assert.equal(parseClick(['garbage', '1']), null);
  });
});

void describe('visitor hash', () => {
  void it('stable within a UTC day, different across days, secret and inputs', async () => {
    const { VisitorHasher } = await import('../src/visitor.ts');
    const h = new VisitorHasher('a-long-enough-secret');
    const day = Date.parse('2026-03-01T00:00:00Z');
    const x = h.hash('198.51.100.7', 'UA', day + 1000);
    assert.equal(h.hash('198.51.100.7', 'UA', day + 86_399_000), x);
    assert.notEqual(h.hash('198.51.100.7', 'UA', day + 86_400_000), x);
    assert.notEqual(h.hash('198.51.100.8', 'UA', day + 1000), x);
    assert.notEqual(new VisitorHasher('another-long-secret!').hash('198.51.100.7', 'UA', day + 1000), x);
    assert.match(x, /^[A-Za-z0-9_-]{32}$/);
  });
});

void describe('config', () => {
  void it('requires REDIRECT_SECRET in production only, and lists every bad key', async () => {
    const { loadRedirectConfig } = await import('../src/config.ts');
    const base = { DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/db', REDIS_URL: 'redis://127.0.0.1:6390' };
    assert.ok(loadRedirectConfig(base).REDIRECT_SECRET.length >= 16);
    assert.throws(() => loadRedirectConfig({ ...base, NODE_ENV: 'production' }), /REDIRECT_SECRET/);
    assert.equal(loadRedirectConfig({ ...base, NODE_ENV: 'production', REDIRECT_SECRET: 'x'.repeat(32) }).REDIRECT_SECRET, 'x'.repeat(32));
    assert.throws(() => loadRedirectConfig({ REDIS_URL: 'nope', PORT: 'abc' }), (e: Error) => /DATABASE_URL/.test(e.message) && /REDIS_URL/.test(e.message) && /PORT/.test(e.message));
  });
});

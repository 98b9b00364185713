/**
 * Port of traefik `pkg/middlewares/ratelimiter/rate_limiter_test.go` (docs/research/traefik-v3.md §1.8). The load
 * tables run on a simulated clock against the same limiter the middleware uses (a request counts
 * when it is forwarded, delayed or not), so the 60-second cases take milliseconds; the behaviour
 * on the wire (429 shape, shaping delay, sources) is tested through a real gateway.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { createLimiter } from '../src/middlewares/rateLimit.ts';
import { rateLimitSchema, type RateLimitConfig } from '../src/config/schema.ts';
import { loadDynamicDir, parseDynamicFiles } from '../src/config/load.ts';
import { formatGoDuration } from '../src/config/duration.ts';
import { call, gateway, route, upstream } from './helper.ts';

function simulate(cfg: Record<string, unknown>, rps: number, seconds: number, initial = 0): number {
  const limiter = createLimiter(rateLimitSchema.parse(cfg));
  let reached = 0;
  for (let i = 0; i < initial; i++) if (limiter.reserve('src', 0) >= 0) reached++;
  const interval = 1000 / rps;
  for (let t = 0; t < seconds * 1000; t += interval) if (limiter.reserve('src', t) >= 0) reached++;
  return reached;
}

const table: Array<{ name: string; cfg: Record<string, unknown>; rps: number; seconds: number; initial?: number; want: number }> = [
  { name: 'average respected', cfg: { average: 100, burst: 1 }, rps: 400, seconds: 2, want: 201 },
  { name: 'burst allowed, no bursty traffic', cfg: { average: 100, burst: 100 }, rps: 200, seconds: 2, want: 300 },
  { name: 'initial burst under capacity', cfg: { average: 100, burst: 100 }, rps: 200, seconds: 2, initial: 50, want: 300 },
  { name: 'initial burst over capacity', cfg: { average: 100, burst: 100 }, rps: 200, seconds: 2, initial: 150, want: 300 },
  { name: 'burst over average', cfg: { average: 100, burst: 200 }, rps: 200, seconds: 2, initial: 300, want: 400 },
  { name: 'lower than 1/s', cfg: { average: 5, period: '10s' }, rps: 100, seconds: 2, want: 2 },
  { name: 'lower than 1/s, longer', cfg: { average: 5, period: '10s' }, rps: 100, seconds: 60, want: 31 },
  { name: 'lower than 1/s, harsher', cfg: { average: 1, period: '1m' }, rps: 100, seconds: 60, want: 2 },
  { name: 'period below 1s', cfg: { average: 50, period: '500ms' }, rps: 300, seconds: 2, want: 201 },
];

for (const c of table) {
  void test(`load: ${c.name}`, () => {
    const got = simulate(c.cfg, c.rps, c.seconds, c.initial);
    // Traefik's tolerance: +2% / -5%
    assert.ok(got <= c.want * 1.02 + 1 && got >= c.want * 0.95 - 1, `got ${got}, want ≈ ${c.want}`);
  });
}

void test('average 0 means no limit; maxDelay values', () => {
  const none = createLimiter(rateLimitSchema.parse({ average: 0 }));
  for (let i = 0; i < 1000; i++) assert.equal(none.reserve('x', 0), 0);
  assert.equal(createLimiter(rateLimitSchema.parse({ average: 200 })).maxDelayMs, 2.5);
  assert.equal(createLimiter(rateLimitSchema.parse({ average: 2, period: '10s' })).maxDelayMs, 500);
  // Go truncates the rate before dividing: 100/min = 1.67/s → 1 → 500 ms
  assert.equal(createLimiter(rateLimitSchema.parse({ average: 100, period: '1m' })).maxDelayMs, 500);
});

void test('ipStrategy and requestHeaderName are mutually exclusive', () => {
  const yaml = JSON.stringify({ http: { middlewares: { rl: { rateLimit: { average: 1, sourceCriterion: { ipStrategy: { depth: 1 }, requestHeaderName: 'Foo' } } } } } });
  assert.throws(() => parseDynamicFiles([{ name: 'x.yml', text: yaml }], {}), /mutually exclusive/);
});

void test('Go duration strings for X-Retry-In', () => {
  assert.equal(formatGoDuration(1.5e9), '1.5s');
  assert.equal(formatGoDuration(60e9), '1m0s');
  assert.equal(formatGoDuration(599.998e6), '599.998ms');
  assert.equal(formatGoDuration(3725e9), '1h2m5s');
});

void test('429 "Too Many Requests" with Retry-After and X-Retry-In', async (t) => {
  const up = await upstream(t);
  const gw = await gateway(t, route(up.url, { rl: { rateLimit: { average: 1, period: '1m', burst: 2 } } }));
  assert.equal((await call(gw.url)).status, 200);
  assert.equal((await call(gw.url)).status, 200);
  const r = await call(gw.url);
  assert.equal(r.status, 429);
  assert.equal(r.body, 'Too Many Requests');
  assert.equal(r.headers['retry-after'], '60');
  assert.match(r.headers['x-retry-in'] as string, /^(59\.\d+s|1m0s)$/);
  assert.equal(up.seen.length, 2);
});

void test('sources: default peer IP ignores X-Forwarded-For; requestHeaderName buckets by header; per router', async (t) => {
  const up = await upstream(t);
  const byIp = await gateway(t, route(up.url, { rl: { rateLimit: { average: 1, period: '1m', burst: 1 } } }));
  assert.equal((await call(byIp.url, { headers: { 'X-Forwarded-For': '1.1.1.1' } })).status, 200);
  assert.equal((await call(byIp.url, { headers: { 'X-Forwarded-For': '2.2.2.2' } })).status, 429);
  const byHeader = await gateway(t, route(up.url, { rl: { rateLimit: { average: 1, period: '1m', burst: 1, sourceCriterion: { requestHeaderName: 'X-Client' } } } }));
  assert.equal((await call(byHeader.url, { headers: { 'X-Client': 'a' } })).status, 200);
  assert.equal((await call(byHeader.url, { headers: { 'X-Client': 'b' } })).status, 200);
  assert.equal((await call(byHeader.url, { headers: { 'X-Client': 'a' } })).status, 429);
  assert.equal((await call(byHeader.url)).status, 200);
  assert.equal((await call(byHeader.url)).status, 429, 'header-less requests share the "" bucket');
});

void test('integration: average 100, burst 1 → 101 successful requests take ≥ 0.99 s', async (t) => {
  const up = await upstream(t);
  const gw = await gateway(t, route(up.url, { rl: { rateLimit: { average: 100, burst: 1 } } }));
  const start = performance.now();
  // integration/ratelimit_test.go: try.GetRequest retries until a 200 (within 500 ms)
  for (let i = 0; i <= 100; i++) {
    const deadline = performance.now() + 500;
    while ((await call(gw.url)).status !== 200) assert.ok(performance.now() < deadline, 'no 200 within 500 ms');
  }
  assert.ok(performance.now() - start >= 985, `took ${performance.now() - start} ms`);
});

/** Traefik's per-limiter numbers (src rate_limiter.go New): rate/s, maxDelay s and the idle ttl s. */
function traefikNumbers(cfg: { average: number; period: string | number; burst: number }) {
  const limiter = createLimiter(rateLimitSchema.parse(cfg));
  const rate = limiter.ratePerSecond;
  const ttl = rate >= 1 ? 2 : 1 + Math.trunc(1 / rate);
  return { rate, ttl, maxDelay: limiter.maxDelayMs / 1000, burst: limiter.burst };
}

async function shippedLimits() {
  const dir = path.resolve(import.meta.dirname, '../dynamic');
  const config = await loadDynamicDir(dir, { CORE_URL: 'http://127.0.0.1:1', MEDIA_URL: 'http://127.0.0.1:1', HASURA_URL: 'http://127.0.0.1:1', REDIRECT_URL: 'http://127.0.0.1:1', CORS_ORIGINS: '', SHORT_LINK_HOST: '' });
  const out: Record<string, RateLimitConfig> = {};
  for (const [name, m] of Object.entries(config.middlewares)) if (m.rateLimit) out[name] = m.rateLimit;
  return out;
}

void test('issue 11: a bucket idle for its Traefik ttl does not come back full; the shipped limits, driven as the attacker did', async () => {
  const limits = await shippedLimits();
  assert.deepEqual(Object.keys(limits).sort(), ['rl-auth', 'rl-core', 'rl-links', 'rl-media', 'rl-redirect']);
  for (const [name, cfg] of Object.entries(limits)) {
    const { rate, ttl, burst } = traefikNumbers(cfg);
    // bursts of 3·burst requests, each after an idle pause just over Traefik's ttl, for 60 s
    const limiter = createLimiter(cfg);
    const gap = ttl * 1000 + 100;
    let reached = 0;
    let last = 0;
    for (let t = 0; t < 60_000; t += gap) {
      for (let i = 0; i < 3 * burst; i++) if (limiter.reserve('attacker', t) >= 0) reached++;
      last = t;
    }
    // a token bucket's bound: the burst, plus the configured rate over the time elapsed (one more
    // for a request the shaping delay (≤ maxDelay) lets wait for its token)
    const bound = burst + Math.floor((rate * last) / 1000) + 1;
    assert.ok(reached <= bound, `${name}: ${reached} requests reached upstream in 60 s, bound ${bound}`);
    if (name === 'rl-auth') {
      // 9 bursts 7.1 s apart: 5 + ⌊56.8 s · 10/min⌋ = 14 (Traefik's forgetting: 9 · 5 = 45)
      assert.ok(reached >= 13 && reached <= 15, `rl-auth: ${reached}`);
    }
  }
  // the numbers of the report: rl-auth (10/min, burst 5) let 40 a minute through after 7 s pauses
  const auth = traefikNumbers(limits['rl-auth']!);
  assert.deepEqual([auth.rate * 60, auth.burst, auth.ttl], [10, 5, 7]);
});

void test('a bucket is forgotten only once it has refilled at the configured rate (never earlier)', () => {
  const limiter = createLimiter(rateLimitSchema.parse({ average: 10, period: '1m', burst: 5 }));
  for (let i = 0; i < 5; i++) assert.ok(limiter.reserve('a', 0) >= 0);
  assert.ok(limiter.reserve('a', 0) < 0, 'burst spent');
  // 7.1 s idle (Traefik's ttl here is 7 s): 1.18 tokens back, not 5
  assert.ok(limiter.reserve('a', 7_100) >= 0);
  assert.ok(limiter.reserve('a', 7_100) < 0);
  // 30 s after that: full again (5 tokens), and no more
  let n = 0;
  for (let i = 0; i < 10; i++) if (limiter.reserve('a', 37_100 + 30_000) >= 0) n++;
  assert.equal(n, 5);
});

void test('rl-redirect is sized so Traefik itself never refills early: burst ≤ rate · (ttl − maxDelay)', async () => {
  const { rate, ttl, maxDelay, burst } = traefikNumbers((await shippedLimits())['rl-redirect']!);
  assert.deepEqual([rate, burst], [20, 30]);
  assert.ok(burst <= rate * (ttl - maxDelay), `burst ${burst} > ${rate * (ttl - maxDelay)}`);
});

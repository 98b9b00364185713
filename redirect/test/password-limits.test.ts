import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clientKey } from '../src/http/password-limiter.ts';
import { get, setup, startApp } from './helper.ts';

const PER_CLIENT = 5;
const PER_LINK = 8;
const LOCKOUT_S = 30;
const LIMITS = {
  PASSWORD_ATTEMPTS_PER_CLIENT: String(PER_CLIENT),
  PASSWORD_ATTEMPTS_PER_LINK: String(PER_LINK),
  PASSWORD_WINDOW_S: '60',
  PASSWORD_LOCKOUT_S: String(LOCKOUT_S),
};
const PASSWORD = 'correct horse';

void test('IPv6 clients are limited per /64', () => {
  assert.equal(clientKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
  assert.equal(clientKey('2001:DB8:1:2:ffff:ffff:ffff:ffff'), '2001:db8:1:2::/64');
  assert.equal(clientKey('2001:db8::1'), '2001:db8:0:0::/64');
  assert.equal(clientKey('::1'), '0:0:0:0::/64');
  assert.equal(clientKey('203.0.113.5'), '203.0.113.5');
});

void test('password attempts: per-client and per-link limits, lockout with Retry-After, exact numbers', async (t) => {
  const e = await setup(t);
  const app = await startApp(t, e, LIMITS);
  const post = (url: string, code: string, ip: string, password: string, json = false) =>
    get(`${url}/${code}`, {
      method: 'POST',
      body: new URLSearchParams({ password }),
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': ip, ...(json ? { accept: 'application/json' } : {}) },
    }).then(async (r) => {
      await r.arrayBuffer();
      return r;
    });
  const statuses = async (n: number, f: (i: number) => Promise<Response>) => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push((await f(i)).status);
    return out;
  };
  const newLink = () => e.newLink({ password: PASSWORD });

  await t.test(`one client: ${PER_CLIENT} wrong guesses, then 429 on every link, even with the right password`, async () => {
    const [l1, l2] = [await newLink(), await newLink()];
    const ip = '203.0.113.10';
    assert.deepEqual(await statuses(PER_CLIENT, () => post(app.url, l1.code, ip, 'guess')), Array(PER_CLIENT).fill(403));
    const locked = await post(app.url, l1.code, ip, PASSWORD);
    assert.equal(locked.status, 429);
    assert.equal(locked.headers.get('retry-after'), String(LOCKOUT_S));
    const j = await get(`${app.url}/${l2.code}`, {
      method: 'POST',
      body: new URLSearchParams({ password: PASSWORD }),
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': ip, accept: 'application/json' },
    });
    assert.equal(j.status, 429);
    const body = (await j.json()) as { error: { code: string; message: string; details: { retryAfterSeconds: number; scope: string } } };
    assert.equal(body.error.code, 'TOO_MANY_ATTEMPTS');
    assert.equal(body.error.details.scope, 'client');
    assert.ok(body.error.details.retryAfterSeconds > LOCKOUT_S - 3 && body.error.details.retryAfterSeconds <= LOCKOUT_S, JSON.stringify(body));
    assert.match(body.error.message, /from this address; retry in \d+ s/);
    // Another client is unaffected.
    assert.equal((await post(app.url, l1.code, '203.0.113.11', PASSWORD)).status, 303);
  });

  await t.test(`one link: ${PER_LINK} wrong guesses from many clients, then 429 for everyone on that link only`, async () => {
    const [l, other] = [await newLink(), await newLink()];
    assert.deepEqual(await statuses(PER_LINK, (i) => post(app.url, l.code, `198.51.100.${i + 1}`, 'guess')), Array(PER_LINK).fill(403));
    const r = await post(app.url, l.code, '198.51.100.200', 'guess');
    assert.equal(r.status, 429);
    assert.equal(r.headers.get('retry-after'), String(LOCKOUT_S));
    assert.equal((await post(app.url, l.code, '198.51.100.201', PASSWORD)).status, 429);
    // The refused attempts were not charged to their clients.
    assert.equal((await post(app.url, other.code, '198.51.100.200', PASSWORD)).status, 303);
  });

  await t.test('a correct password gives its attempt back: only failures count', async () => {
    const l = await newLink();
    const ip = '203.0.113.20';
    assert.deepEqual(await statuses(PER_CLIENT * 3, () => post(app.url, l.code, ip, PASSWORD)), Array(PER_CLIENT * 3).fill(303));
    assert.deepEqual(await statuses(PER_CLIENT + 1, () => post(app.url, l.code, ip, 'guess')), [...Array<number>(PER_CLIENT).fill(403), 429]);
  });

  await t.test('concurrent guesses cannot overrun the limit', async () => {
    const l = await newLink();
    const all = await Promise.all(Array.from({ length: 20 }, () => post(app.url, l.code, '203.0.113.30', 'guess').then((r) => r.status)));
    assert.equal(all.filter((s) => s === 403).length, PER_CLIENT);
    assert.equal(all.filter((s) => s === 429).length, 20 - PER_CLIENT);
  });

  await t.test('X-Forwarded-For from an untrusted peer does not make new clients', async () => {
    const direct = await startApp(t, e, { ...LIMITS, TRUSTED_PROXIES: '' });
    const l = await newLink();
    const seq = await statuses(PER_CLIENT + 1, (i) => post(direct.url, l.code, `192.0.2.${i + 1}`, 'guess'));
    assert.deepEqual(seq, [...Array<number>(PER_CLIENT).fill(403), 429]);
  });

  await t.test('the lockout ends after PASSWORD_LOCKOUT_S', async () => {
    const short = await startApp(t, e, { ...LIMITS, PASSWORD_LOCKOUT_S: '1' });
    const l = await newLink();
    const ip = '203.0.113.40';
    assert.deepEqual(await statuses(PER_CLIENT + 1, () => post(short.url, l.code, ip, 'guess')), [...Array<number>(PER_CLIENT).fill(403), 429]);
    const r = await post(short.url, l.code, ip, PASSWORD);
    assert.equal(r.status, 429);
    assert.equal(r.headers.get('retry-after'), '1');
    await new Promise((res) => setTimeout(res, 1100));
    assert.equal((await post(short.url, l.code, ip, PASSWORD)).status, 303);
  });

  await t.test('Redis down: the same limits hold in memory', async () => {
    const l = await newLink();
    // Cache the link first: the form POST looks it up (PostgreSQL would answer anyway).
    assert.equal((await get(`${app.url}/${l.code}`)).status, 200);
    await e.redis.stop();
    const ip = '203.0.113.50';
    assert.deepEqual(await statuses(PER_CLIENT + 1, () => post(app.url, l.code, ip, 'guess')), [...Array<number>(PER_CLIENT).fill(403), 429]);
    const r = await post(app.url, l.code, ip, PASSWORD);
    assert.equal(r.status, 429);
    assert.equal(r.headers.get('retry-after'), String(LOCKOUT_S));
    assert.equal((await post(app.url, l.code, '203.0.113.51', PASSWORD)).status, 303);
    const m = await (await get(`${app.url}/metrics`)).text();
    assert.match(m, /linkport_redirect_password_limiter_fallbacks_total [1-9]\d*/);
    assert.match(m, /linkport_redirect_password_lockouts_total [1-9]\d*/);
  });
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect } from 'node:net';
import { Redis } from 'ioredis';
import { parseClick } from '../src/clicks/click.ts';
import { BROWSER_UA, get, setup, startApp, waitFor } from './helper.ts';

void test('redirect server over HTTP', async (t) => {
  const e = await setup(t);
  const app = await startApp(t, e);
  const u = (p: string) => app.url + p;

  await t.test('redirect status, Location and Cache-Control per link', async () => {
    const l302 = await e.newLink();
    const r = await get(u(`/${l302.code}`));
    assert.equal(r.status, 302);
    assert.equal(r.headers.get('location'), 'https://example.com/landing');
    assert.equal(r.headers.get('cache-control'), 'private, no-store');
    for (const s of [301, 307, 308]) {
      const l = await e.newLink({ redirect_type: s });
      const res = await get(u(`/${l.code}`));
      assert.equal(res.status, s);
      assert.equal(res.headers.get('cache-control'), s === 307 ? 'private, no-store' : 'public, max-age=60');
    }
    const head = await get(u(`/${l302.code}`), { method: 'HEAD' });
    assert.equal(head.status, 302);
  });

  await t.test('query forwarding and UTM', async () => {
    const l = await e.newLink({ destination: 'https://example.com/p?a=1', utm_source: 'newsletter', utm_medium: 'email' });
    const r = await get(u(`/${l.code}?b=2`));
    assert.equal(r.headers.get('location'), 'https://example.com/p?a=1&utm_source=newsletter&utm_medium=email&b=2');
    const iri = await e.newLink({ destination: 'https://bücher.example/日本?q=é' });
    const ri = await get(u(`/${iri.code}`));
    assert.equal(ri.status, 302);
    assert.equal(ri.headers.get('location'), 'https://xn--bcher-kva.example/%E6%97%A5%E6%9C%AC?q=%C3%A9');
    const nf = await e.newLink({ forward_query: false });
    assert.equal((await get(u(`/${nf.code}?b=2`))).headers.get('location'), 'https://example.com/landing');
  });

  await t.test('disabled/archived → 404, expired → 410 or expired_url, click limit → 410', async () => {
    for (const status of ['disabled', 'archived']) {
      const l = await e.newLink({ status });
      assert.equal((await get(u(`/${l.code}`))).status, 404);
    }
    const ex = await e.newLink({ expires_at: new Date(Date.now() - 1000) });
    const r = await get(u(`/${ex.code}`));
    assert.equal(r.status, 410);
    assert.match(await r.text(), /expired/);
    const exu = await e.newLink({ expires_at: new Date(Date.now() - 1000), expired_url: 'https://example.com/over' });
    const r2 = await get(u(`/${exu.code}`));
    assert.equal(r2.status, 302);
    assert.equal(r2.headers.get('location'), 'https://example.com/over');
    const mc = await e.newLink({ max_clicks: 5, click_count: 5 });
    assert.equal((await get(u(`/${mc.code}`))).status, 410);
  });

  await t.test('password: form, wrong → 403, right → signed cookie → redirect', async () => {
    const l = await e.newLink({ password: 's3cret pw' });
    const form = await get(u(`/${l.code}`));
    assert.equal(form.status, 200);
    assert.match(await form.text(), /<form method="post"/);
    const post = (pw: string) =>
      get(u(`/${l.code}`), { method: 'POST', body: new URLSearchParams({ password: pw }), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    const bad = await post('nope');
    assert.equal(bad.status, 403);
    // Over the form limit: a clean 413, not a reset the gateway would turn into 502 (found by e2e/fuzz).
    const huge = await post('p'.repeat(5000));
    assert.equal(huge.status, 413);
    // A 2 MB form on a keep-alive connection, with a second request pipelined behind it: the 413
    // must not close the connection with the body unread (the RST that follows can overtake the
    // 413: a gateway 502 in e2e/fuzz case 387). The body is drained and the next request answered.
    const raw = await rawExchange(
      new URL(app.url),
      `POST /${l.code} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${2_000_009}\r\n\r\n` +
        `password=${'p'.repeat(2_000_000)}` +
        `GET /${l.code} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    );
    assert.deepEqual([...raw.matchAll(/^HTTP\/1\.1 (\d{3})/gm)].map((m) => m[1]), ['413', '200'], raw.slice(0, 300));
    const ok = await post('s3cret pw');
    assert.equal(ok.status, 303);
    const cookie = ok.headers.get('set-cookie')!;
    assert.match(cookie, new RegExp(`^lp_pw_${l.code}=\\d+\\.[A-Za-z0-9_-]+; Path=/${l.code}; Max-Age=3600; HttpOnly; SameSite=Lax`));
    const pair = cookie.split(';')[0]!;
    const go = await get(u(`/${l.code}`), { headers: { cookie: pair } });
    assert.equal(go.status, 302);
    assert.equal(go.headers.get('location'), 'https://example.com/landing');
    for (const forged of [pair.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')), pair.replace(/\.(.)/, (_, c: string) => `.${c === 'x' ? 'y' : 'x'}`), pair.replace(/=\d+/, '=9999999999')]) {
      assert.equal((await get(u(`/${l.code}`), { headers: { cookie: forged } })).status, 200, forged);
    }
    // A new password invalidates the cookie (it is bound to the hash).
    await e.admin.query(`UPDATE links.links SET password = 'other' WHERE id = $1`, [l.id]);
    await waitFor(async () => (await get(u(`/${l.code}`), { headers: { cookie: pair } })).status === 200, 1000, 'cookie invalidation');
  });

  await t.test('device, country and sticky A/B targeting', async () => {
    const l = await e.newLink({ ios_url: 'https://apps.apple.com/app', android_url: 'https://play.google.com/app', geo_targets: { DE: 'https://example.de/' } });
    const loc = async (h: Record<string, string>) => (await get(u(`/${l.code}`), { headers: h })).headers.get('location');
    assert.equal(await loc({ 'user-agent': 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Safari/604.1' }), 'https://apps.apple.com/app');
    assert.equal(await loc({ 'user-agent': 'Mozilla/5.0 (Linux; Android 14; Pixel 8) Chrome/124.0' }), 'https://play.google.com/app');
    assert.equal(await loc({ 'cf-ipcountry': 'de' }), 'https://example.de/');
    assert.equal(await loc({ 'cf-ipcountry': 'FR' }), 'https://example.com/landing');
    const ab = await e.newLink({ ab_variants: [{ url: 'https://a.example/', weight: 1 }, { url: 'https://b.example/', weight: 1 }] });
    const first = await get(u(`/${ab.code}`));
    const vid = first.headers.get('set-cookie')!.split(';')[0]!;
    assert.match(vid, /^lp_vid=/);
    const seen = new Set<string>();
    for (let i = 0; i < 5; i++) seen.add((await get(u(`/${ab.code}`), { headers: { cookie: vid } })).headers.get('location')!);
    assert.deepEqual([...seen], [first.headers.get('location')]);
    const all = new Set<string>();
    for (let i = 0; i < 30; i++) all.add((await get(u(`/${ab.code}`))).headers.get('location')!);
    assert.equal(all.size, 2);
  });

  await t.test('preview page and QR codes, HTML escaped', async () => {
    const l = await e.newLink({ destination: 'https://example.com/?q=<script>alert(1)</script>', title: '<b>T&C</b>' });
    const p = await get(u(`/${l.code}+`));
    assert.equal(p.status, 200);
    const html = await p.text();
    assert.ok(!html.includes('<script>alert'));
    assert.match(html, /&lt;b&gt;T&amp;C&lt;\/b&gt;/);
    const svg = await get(u(`/${l.code}/qr.svg`));
    assert.equal(svg.headers.get('content-type'), 'image/svg+xml');
    assert.match(await svg.text(), /^<svg/);
    const png = await get(u(`/${l.code}/qr.png`));
    assert.equal(png.headers.get('content-type'), 'image/png');
    assert.deepEqual([...new Uint8Array(await png.arrayBuffer()).slice(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
    assert.equal((await get(u('/nope-nope/qr.svg'))).status, 404);
  });

  await t.test('reserved paths', async () => {
    assert.equal((await get(u('/health/live'))).status, 200);
    assert.equal((await get(u('/health/ready'))).status, 200);
    assert.equal((await get(u('/favicon.ico'))).status, 204);
    assert.match(await (await get(u('/robots.txt'))).text(), /Disallow: \//);
    const m = await (await get(u('/metrics'))).text();
    for (const k of ['redirects_total', 'cache_hits_total', 'cache_misses_total', 'clicks_buffered_total', 'clicks_dropped_total', 'click_buffer_size']) {
      assert.match(m, new RegExp(`linkport_redirect_${k} \\d+`));
    }
  });

  await t.test('unknown and hostile codes → small 404 quickly, JSON on request', async () => {
    const hostile = ['/' + 'a'.repeat(65), '/' + 'a'.repeat(5000), '/%C3%A9t%C3%A9', '/é', '/..', '/../etc/passwd', '/a%2Fb', '/a%2fb', '/abc%00', '/%00', '/abc/', '//abc', '/abc?x=%00', '/unknown-code', '/a.b', "/'", '/<script>'];
    const t0 = performance.now();
    for (const p of hostile) {
      const r = await get(u(p));
      assert.equal(r.status, 404, p);
      assert.match(r.headers.get('content-type')!, /text\/html/);
      assert.ok((await r.text()).length < 2000);
    }
    assert.ok(performance.now() - t0 < 2000);
    const j = await get(u('/unknown-code'), { headers: { accept: 'application/json' } });
    assert.equal(j.status, 404);
    assert.deepEqual(await j.json(), { error: { code: 'NOT_FOUND', message: 'Link not found' } });
    assert.equal((await get(u('/unknown-code'), { method: 'DELETE' })).status, 405);
  });

  await t.test('an edit invalidates the local and Redis caches within a second', async () => {
    const l = await e.newLink({ destination: 'https://example.com/v1' });
    assert.equal((await get(u(`/${l.code}`))).headers.get('location'), 'https://example.com/v1');
    const redis = new Redis(e.redis.url).on('error', () => {});
    try {
      // The fill is asynchronous side work; only the invalidation below is held to one second. The
      // insert's own link_changed notice can land while the first lookup is in flight, and then that
      // lookup rightly fills nothing (its generation is stale): ask again until a lookup fills.
      await waitFor(async () => {
        if ((await redis.get(`link:${l.code}`)) !== null) return true;
        await (await get(u(`/${l.code}`))).arrayBuffer();
        return false;
      }, 5000, 'redis fill');
    } finally {
      redis.disconnect();
    }
    const t0 = Date.now();
    await e.admin.query(`UPDATE links.links SET destination = 'https://example.com/v2' WHERE id = $1`, [l.id]);
    await waitFor(async () => (await get(u(`/${l.code}`))).headers.get('location') === 'https://example.com/v2', 1000, 'new destination');
    assert.ok(Date.now() - t0 < 1000);
    // Disabling and deleting take effect the same way.
    await e.admin.query(`UPDATE links.links SET status = 'disabled' WHERE id = $1`, [l.id]);
    await waitFor(async () => (await get(u(`/${l.code}`))).status === 404, 1000, 'disabled');
    const fresh = await get(u('/brand-new-code'));
    assert.equal(fresh.status, 404); // now cached negatively
    await e.newLink({ code: 'brand-new-code' });
    await waitFor(async () => (await get(u('/brand-new-code'))).status === 302, 1000, 'new code visible');
  });

  await t.test('the LISTEN connection reconnects after being killed', async () => {
    const l = await e.newLink({ destination: 'https://example.com/before' });
    assert.equal((await get(u(`/${l.code}`))).headers.get('location'), 'https://example.com/before');
    const listenPid = async () =>
      (await e.admin.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE application_name = 'redirect-listen' AND datname = current_database() AND query = 'LISTEN link_changed'`)).rows[0]?.pid;
    const before = await listenPid();
    assert.ok(before);
    await e.admin.query('SELECT pg_terminate_backend($1)', [before]);
    await waitFor(async () => {
      const pid = await listenPid();
      return pid !== undefined && pid !== before && /invalidation_listener_up 1/.test(await (await get(u('/metrics'))).text());
    }, 5000, 'listener reconnected');
    await e.admin.query(`UPDATE links.links SET destination = 'https://example.com/after' WHERE id = $1`, [l.id]);
    await waitFor(async () => (await get(u(`/${l.code}`))).headers.get('location') === 'https://example.com/after', 1000, 'edit after reconnect');
  });

  await t.test('clicks go to the stream with a hashed visitor, never the IP', async () => {
    const redis = new Redis(e.redis.url).on('error', () => {});
    const l = await e.newLink();
    await get(u(`/${l.code}`), { headers: { referer: 'https://news.example/item', 'cf-ipcountry': 'NL', 'x-forwarded-for': '203.0.113.9' } });
    const entries = await waitFor(async () => {
      const all = await redis.xrange('clicks', '-', '+');
      const mine = all.filter(([, f]) => parseClick(f)?.code === l.code);
      return mine.length ? mine : undefined;
    }, 1000, 'click entry');
    const f = entries[0]![1];
    const c = parseClick(f)!;
    assert.equal(c.linkId, l.id);
    assert.equal(c.code, l.code);
    assert.equal(c.country, 'NL');
    assert.equal(c.referrer, 'https://news.example/item');
    assert.equal(c.ua, BROWSER_UA);
    assert.match(c.visitor, /^[A-Za-z0-9_-]{32}$/);
    assert.ok(Math.abs(c.ts - Date.now()) < 5000);
    assert.ok(!f.join(' ').includes('203.0.113.9'));
    redis.disconnect();
  });
});

/** Writes `payload` on one TCP connection and resolves with all the server sent until it closed. */
function rawExchange(url: URL, payload: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(Number(url.port), url.hostname);
    const got: Buffer[] = [];
    sock.on('data', (c: Buffer) => got.push(c));
    sock.on('error', reject);
    sock.on('close', () => resolve(Buffer.concat(got).toString('latin1')));
    sock.setTimeout(20_000, () => sock.destroy(new Error('no close within 20 s')));
    // write, not end: the payload's last request says `Connection: close`, so the server closes
    // after answering it. A half-close (FIN) here raced the answer: Node's server (httpAllowHalfOpen
    // false) aborts requests still being handled when the client's FIN arrives, and the 200 of the
    // pipelined GET was lost once in CI under load.
    sock.write(payload);
  });
}

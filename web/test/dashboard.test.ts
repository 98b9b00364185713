/**
 * The dashboard in a real browser (Debian's chromium via playwright-core) against the real stack
 * (`startStack`, as the e2e tests start `npm start`), through the gateway only:
 * sign up → empty state → create a link with rules → upload its image with a progress bar → visit
 * the short link in a second browser context → the live counter changes without a reload (GraphQL
 * subscription) → the charts and breakdowns show the click → reload keeps the session (refresh
 * cookie) → a read-only API key (shown once) reads but cannot write → log out, and the session is
 * gone after a reload. axe-core on every page (no serious or critical violation); a screenshot of
 * each page in web/test-artifacts/ (gitignored). Error states: a wrong password is a sentence, and
 * offline shows its banner.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Browser, Request } from 'playwright-core';
import { CreateLink, ListLinks } from '../app/src/ops.ts';
import { findChromium, launchChromium, seriousA11yViolations, startTestStack, type Stack } from './browser.ts';

const ARTIFACTS = path.resolve(import.meta.dirname, '..', 'test-artifacts');
// A real 1×1 PNG: media's complete step checks the leading bytes against the declared type.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

const BROWSER_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/150.0.0.0 Safari/537.36';

const found = findChromium();
const skip = !found.bin && process.env.LINKPORT_REQUIRE_CHROMIUM !== '1' ? found.missing : false;

void test('the dashboard journey in Chromium', { timeout: 300_000, skip }, async (t) => {
  assert.ok(found.bin, found.missing);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  let stack: Stack | undefined;
  let browser: Browser | undefined;
  let finished = false;
  let current: import('playwright-core').Page | undefined;
  t.after(async () => {
    // A failure says what the page showed, not only which wait timed out.
    if (!finished && current) {
      await current.screenshot({ path: path.join(ARTIFACTS, 'failed.png'), fullPage: true }).catch(() => undefined);
      const alerts = await current.getByRole('alert').allTextContents().catch(() => []);
      t.diagnostic(`failed at ${current.url()}; alerts: ${JSON.stringify(alerts)}; screenshot web/test-artifacts/failed.png`);
    }
    await browser?.close();
    await stack?.stop();
  });
  // With the allow-list on, as production runs: every operation the dashboard sends must be in the
  // first-party collection (hasura/metadata/query_collections.yaml, web_* entries).
  // Webhook retries shortened (two attempts, sub-second backoff) so a failing delivery is dead, and
  // so replayable, within the test; the schedule itself is the events service's own (events/README.md).
  stack = await startTestStack((line) => t.diagnostic(line), { allowlist: true, env: { EVENTS_RETRY_BASE_MS: '300', EVENTS_MAX_ATTEMPTS: '2' } });
  browser = await launchChromium(found.bin);
  const gw = stack.gateway;
  const ctx = await browser.newContext({ bypassCSP: true, viewport: { width: 1200, height: 900 } });
  const page = await ctx.newPage();
  // Playwright's fake clock in the page, installed before the app loads: time flows as usual until
  // the token-refresh step moves it forward (the only mock here: the clock).
  await page.clock.install();
  current = page;
  const isGql = (r: Request) => r.method() === 'POST' && new URL(r.url()).pathname === '/v1/links/graphql';
  const isRefresh = (r: Request) => r.method() === 'POST' && new URL(r.url()).pathname === '/v1/core/auth/refresh';
  let lastToken = '';
  page.on('request', (r) => {
    if (isGql(r)) lastToken = r.headers().authorization ?? lastToken;
  });
  const consoleErrors: string[] = [];
  page.on('pageerror', (e) => consoleErrors.push(String(e)));

  const checkPage = async (name: string) => {
    await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
    const violations = await seriousA11yViolations(page);
    assert.deepEqual(
      violations.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`),
      [],
      `${name}: accessibility violations`,
    );
  };

  // `/` leads to the app, which asks for a log-in (no session yet).
  await page.goto(`${gw}/`);
  await page.waitForURL(`${gw}/app/login`);
  await page.getByRole('heading', { name: 'Log in to Linkport' }).waitFor();
  await checkPage('01-login');

  // A wrong password is a sentence, not a code.
  await page.getByLabel('Email').fill('nobody@example.com');
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByText('That email and password do not match an account.').waitFor();

  // Sign up.
  await page.getByRole('link', { name: 'Create an account' }).click();
  await page.waitForURL(`${gw}/app/signup`);
  await checkPage('02-signup');
  const email = `ada-${Date.now()}@example.com`;
  await page.getByLabel('Your name (optional)').fill('Ada');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Sign up' }).click();
  await page.getByText('You have no links yet.').waitFor();
  await checkPage('03-links-empty');

  // Create a link with rules. The destination is on this machine (loopback only): the engine's
  // health answer through the gateway.
  const destination = `${gw}/v1/links/healthz`;
  await page.getByRole('link', { name: 'Create your first link' }).click();
  await page.getByRole('heading', { name: 'New link' }).waitFor();
  await page.getByLabel('Destination URL').fill(destination);
  await page.getByLabel('Title', { exact: true }).fill('Launch page');
  await page.getByText('Redirect rules').click();
  await page.getByLabel('Redirect type').selectOption('307');
  await page.getByLabel('Click limit', { exact: true }).fill('100');
  await page.getByLabel('Country destinations').fill(`FR=${gw}/v1/links/healthz?fr`);
  await page.getByText('UTM and query forwarding').click();
  await page.getByLabel('utm_source', { exact: true }).fill('newsletter');
  await checkPage('04-link-new');
  await page.getByRole('button', { name: 'Create link' }).click();
  await page.getByRole('heading', { name: 'Launch page' }).waitFor();
  const shortUrl = (await page.getByTestId('short-url').textContent()) ?? '';
  assert.match(shortUrl, new RegExp(`^${gw}/[23456789a-km-zA-HJ-NP-Z]{7}$`));
  await page.getByText('0 clicks').waitFor();
  await page.getByText('● live').waitFor({ timeout: 20_000 });
  // The QR image is the redirect's SVG for this code.
  const qr = await page.getByRole('img', { name: /QR code for/ }).evaluate((img: HTMLImageElement) => ({ ok: img.complete && img.naturalWidth > 0, src: img.src }));
  assert.ok(qr.ok, `QR image loads (${qr.src})`);
  await checkPage('05-link-detail');

  // Upload an image straight to storage, with progress.
  const file = { name: 'launch.png', mimeType: 'image/png', buffer: PNG };
  await page.getByLabel('Upload an image (PNG, JPEG, GIF, WebP)').setInputFiles(file);
  await page.getByRole('status').filter({ hasText: 'Uploaded' }).waitFor({ timeout: 20_000 });
  assert.equal(await page.getByTestId('upload-progress').getAttribute('value'), '1');
  await page.getByRole('img', { name: "The link's preview image" }).waitFor({ timeout: 20_000 });

  // A visitor in another browser context follows the short link; the owner's counter moves by
  // itself, over the subscription (the page is not reloaded: a marker on window survives).
  await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
  // Headless Chromium says "HeadlessChrome" in its user agent, which the redirect records as a bot
  // and does not count: the visitor presents the desktop browser's usual one.
  const visitor = await browser.newContext({ userAgent: BROWSER_UA });
  const vpage = await visitor.newPage();
  const visit = await vpage.goto(shortUrl);
  assert.equal(vpage.url(), `${destination}?utm_source=newsletter`, 'redirected to the destination, with the UTM rule applied');
  assert.equal(visit?.status(), 200);
  await visitor.close();
  await page.getByTestId('live-count').filter({ hasText: /^1 click$/ }).waitFor({ timeout: 20_000 });
  assert.equal(await page.evaluate(() => (window as unknown as { marker?: number }).marker), 42, 'no reload happened');

  // The charts: series and breakdowns from the analytics functions.
  await page.getByRole('button', { name: 'Refresh' }).click();
  await page.getByTestId('analytics-summary').waitFor({ timeout: 20_000 });
  assert.match((await page.getByTestId('analytics-summary').textContent()) ?? '', /1 click from 1 unique visitor/);
  await page.locator('[data-testid=chart] canvas').first().waitFor();
  const browsers = page.getByRole('region', { name: 'Browsers' });
  assert.match((await browsers.textContent()) ?? '', /Chrom\w*\s*1/);
  await checkPage('06-link-analytics');

  // Edit: the form comes back filled with the rules; a change is saved.
  await page.getByRole('link', { name: 'Edit' }).click();
  await page.getByRole('heading', { name: /^Edit \// }).waitFor();
  assert.equal(await page.getByLabel('Click limit', { exact: true }).inputValue(), '100');
  assert.equal(await page.getByLabel('Redirect type').inputValue(), '307');
  assert.equal(await page.getByLabel('Country destinations').inputValue(), `FR=${gw}/v1/links/healthz?fr`);
  await page.getByLabel('Title', { exact: true }).fill('Launch page');
  await page.getByLabel('Description').fill('The spring launch');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.getByRole('heading', { name: 'Launch page' }).waitFor();

  // A reload loses the in-memory token; the refresh cookie brings the session back.
  await page.reload();
  await page.getByRole('heading', { name: 'Launch page' }).waitFor();
  await page.getByTestId('analytics-summary').waitFor({ timeout: 20_000 });

  // Automatic refresh near expiry: 12.5 minutes later on the page's clock (past 80 % of the
  // 15-minute access token) the app has refreshed through the httpOnly cookie by itself, and its
  // next request carries the new token.
  const tokenBefore = lastToken;
  assert.match(tokenBefore, /^Bearer \S+\.\S+\.\S+$/);
  // Tokens carry iat in seconds and no nonce: one issued in the same second as the reload's would be
  // byte-identical, so let a second pass (real time) for the new one to be told apart.
  await new Promise((r) => setTimeout(r, 1100));
  const nearExpiry = page.waitForResponse((r) => isRefresh(r.request()));
  await page.clock.fastForward('12:30');
  const refreshed = await nearExpiry;
  assert.equal(refreshed.status(), 200, 'the app refreshed before expiry');
  const issued = ((await refreshed.json()) as { access_token: string }).access_token;
  const afterRefresh = page.waitForRequest(isGql);
  await page.getByRole('button', { name: 'Refresh' }).click();
  const tokenAfter = (await afterRefresh).headers().authorization ?? '';
  assert.equal(tokenAfter, `Bearer ${issued}`, 'requests use the refreshed token');
  assert.notEqual(tokenAfter, tokenBefore);
  await page.getByTestId('analytics-summary').waitFor();

  // An access token the API no longer accepts (here one expired since 1970, unsigned): the real API
  // answers 401/invalid-jwt, the app refreshes once through the cookie and retries the same request,
  // and the person sees nothing of it.
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const expired = `Bearer ${b64({ alg: 'RS256', typ: 'JWT' })}.${b64({ sub: 'x', exp: 1 })}.c2lnbmF0dXJl`;
  const sent: string[] = [];
  await page.route('**/v1/links/graphql', async (route) => {
    const headers = route.request().headers();
    const authorization = sent.length === 0 ? expired : (headers.authorization ?? '');
    sent.push(authorization);
    await route.continue({ headers: { ...headers, authorization } });
  });
  const onExpired = page.waitForResponse((r) => isRefresh(r.request()));
  await page.getByRole('button', { name: 'Refresh' }).click();
  const again = await onExpired;
  assert.equal(again.status(), 200, 'refused token → one refresh');
  const reissued = ((await again.json()) as { access_token: string }).access_token;
  await page.getByTestId('analytics-summary').waitFor();
  await page.waitForFunction(() => !document.querySelector('[role=alert]'));
  await page.unroute('**/v1/links/graphql');
  assert.equal(sent[0], expired);
  assert.equal(sent[1], `Bearer ${reissued}`, `the request was retried with the refreshed token (${sent.length} sent)`);

  // The list shows it, with its clicks; search narrows it.
  await page.getByRole('link', { name: 'Links', exact: true }).click();
  await page.getByRole('link', { name: 'Launch page' }).waitFor();
  // The account-wide overview counts the same click.
  assert.match((await page.getByTestId('overview').textContent()) ?? '', /^1 click from 1 unique visitor/);

  // The account-wide analytics page: the same one click, from every angle it offers.
  await page.getByRole('link', { name: 'Analytics', exact: true }).click();
  await page.getByRole('heading', { name: 'Analytics for all your links' }).waitFor();
  const summary = page.getByTestId('analytics-summary');
  await summary.waitFor({ timeout: 20_000 });
  assert.equal((await summary.textContent())?.trim(), '1 click from 1 unique visitor (bots excluded)');
  // The live total: every link's counter summed, pushed over the subscription.
  await page.getByTestId('live-count').filter({ hasText: /^1 click on all your links, all time$/ }).waitFor({ timeout: 20_000 });
  await page.getByText('● live').waitFor({ timeout: 20_000 });
  await page.locator('[data-testid=chart] canvas').first().waitFor();
  assert.match((await page.getByRole('region', { name: 'Browsers' }).textContent()) ?? '', /Chrom\w*\s*1$/);
  assert.match((await page.getByRole('region', { name: 'Referrers' }).textContent()) ?? '', /Direct or none\s*1$/);
  const topLinks = page.getByRole('region', { name: 'Top links' });
  assert.equal(await topLinks.getByRole('listitem').count(), 1);
  assert.match((await topLinks.getByRole('listitem').textContent()) ?? '', /^Launch page\s*1$/);
  const zone = await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone);
  assert.match((await page.getByTestId('time-zone').textContent()) ?? '', new RegExp(`Times in ${zone.replace('/', '\\/')}`));
  // Bots on request: counted apart, never added to the humans (the journey's visitor is a person).
  await page.getByLabel('Show bot clicks').check();
  await page.getByTestId('bot-summary').waitFor();
  assert.equal((await summary.textContent())?.trim(), '1 click from 1 unique visitor (bots excluded); 0 bot clicks apart');
  // Hourly buckets (bots still shown, in their own column): one hour had the click.
  await page.getByLabel('Per', { exact: true }).selectOption('hour');
  await page.getByText('Clicks per hour as a table').click();
  const hourRows = page.locator('figcaption table tbody tr'); // uPlot's legend is a table too
  await hourRows.first().waitFor();
  assert.equal(await hourRows.count(), 1);
  assert.deepEqual(await hourRows.first().locator('td.num').allTextContents(), ['1', '1', '0']);
  // Custom dates (the last 7 local days by default, today included) count it too; an end before the
  // start is said, and not sent. (Each change is a request: the journey stays under the gateway's rl-links limit, gateway/dynamic/middlewares.yml.)
  const customAnswer = page.waitForResponse((r) => isGql(r.request()) && r.request().postData()?.includes('AllAnalytics') === true);
  await page.getByLabel('Date range', { exact: true }).selectOption('custom');
  const custom = (await (await customAnswer).json()) as { data: { series: Array<{ clicks: string }> } };
  assert.equal(custom.data.series.reduce((n, r) => n + Number(r.clicks), 0), 1);
  await page.locator('[data-testid=analytics][aria-busy=false]').waitFor(); // that answer is the one shown
  assert.equal((await summary.textContent())?.trim(), '1 click from 1 unique visitor (bots excluded); 0 bot clicks apart');
  await checkPage('07a-analytics');
  await page.getByLabel('To', { exact: true }).fill('2020-01-01');
  await page.getByRole('alert').filter({ hasText: 'The end date must not be before the start date.' }).waitFor();
  await page.getByRole('link', { name: 'Links', exact: true }).click();
  await page.getByRole('link', { name: 'Launch page' }).waitFor();
  await page.getByLabel('Search').fill('no such link');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByText('No link matches these filters.').waitFor();
  await page.getByLabel('Search').fill('launch');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByRole('link', { name: 'Launch page' }).waitFor();
  await checkPage('07-links-list');

  // Bulk archive: gone from the active list, listed under Archived, restored.
  await page.getByRole('checkbox', { name: 'Select all links on this page' }).check();
  await page.getByRole('region', { name: 'Selected links' }).getByRole('button', { name: 'Archive' }).click();
  await page.getByText('No link matches these filters.').waitFor();
  await page.getByLabel('Status').selectOption('archived');
  await page.getByRole('link', { name: 'Launch page' }).waitFor();
  await page.getByRole('checkbox', { name: 'Select all links on this page' }).check();
  await page.getByRole('region', { name: 'Selected links' }).getByRole('button', { name: 'Restore' }).click();
  await page.getByRole('link', { name: 'Launch page' }).waitFor({ state: 'detached' });
  await page.getByLabel('Status').selectOption('active');
  await page.getByRole('link', { name: 'Launch page' }).waitFor();

  // Domains: what the schema allows (a hostname per account, chosen on a link, a filter).
  await page.getByRole('link', { name: 'Domains', exact: true }).click();
  await page.getByText('No domains yet.').waitFor();
  await page.getByLabel('Hostname').fill('not_a_host');
  await page.getByRole('button', { name: 'Add domain' }).click();
  await page.getByText('A domain is a lowercase hostname such as links.example.com.').waitFor();
  const host = `go-${Date.now()}.example.com`; // hostnames are unique across accounts
  await page.getByLabel('Hostname').fill(host);
  await page.getByRole('button', { name: 'Add domain' }).click();
  await page.getByRole('cell', { name: 'Not yet' }).waitFor();
  await checkPage('12-domains');

  // Tags: create, a duplicate said as a sentence, rename, delete.
  await page.getByRole('link', { name: 'Tags', exact: true }).click();
  await page.getByText('No tags yet.', { exact: false }).waitFor();
  for (const name of ['spring', 'promo']) {
    await page.getByLabel('New tag').fill(name);
    await page.getByRole('button', { name: 'Create tag' }).click();
    await page.getByText(`Tag "${name}" created.`).waitFor();
  }
  await page.getByLabel('New tag').fill('spring');
  await page.getByRole('button', { name: 'Create tag' }).click();
  await page.getByText('You already have a tag with that name.').waitFor();
  await page.getByRole('button', { name: 'Rename tag promo' }).click();
  await page.getByLabel('New name for promo').fill('campaign');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('link', { name: 'campaign' }).waitFor();
  await checkPage('13-tags');
  page.once('dialog', (d) => void d.accept());
  await page.getByRole('button', { name: 'Delete tag campaign' }).click();
  await page.getByRole('link', { name: 'campaign' }).waitFor({ state: 'detached' });

  // Assign the tag and the domain on the link's form; the list filters by each.
  await page.getByRole('link', { name: 'Links', exact: true }).click();
  await page.getByRole('link', { name: 'Launch page' }).click();
  await page.getByRole('link', { name: 'Edit' }).click();
  await page.getByRole('checkbox', { name: 'spring' }).check();
  await page.getByLabel('Domain', { exact: true }).selectOption({ label: host });
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.getByTestId('link-tags').filter({ hasText: 'spring' }).waitFor();
  await page.getByRole('link', { name: 'spring' }).click();
  await page.waitForURL(/\/app\/\?tag=/);
  await page.getByRole('link', { name: 'Launch page' }).waitFor();
  await page.getByLabel('Domain', { exact: true }).selectOption('none');
  await page.getByText('No link matches these filters.').waitFor();
  await page.getByLabel('Domain', { exact: true }).selectOption({ label: host });
  await page.getByRole('link', { name: 'Launch page' }).waitFor();

  // Webhooks: an endpoint on a loopback receiver (the launcher allows loopback locally), its secret
  // shown once; a link.created delivery that fails twice (500) is dead, then replayed once the
  // receiver is back; the signature verifies with the secret the page showed.
  const hits: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];
  let answer = 500;
  const receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      hits.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.statusCode = answer;
      res.end(answer === 200 ? 'ok' : 'down for maintenance');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  t.after(() => {
    receiver.closeAllConnections();
    receiver.close();
  });
  const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  await page.getByRole('link', { name: 'Webhooks', exact: true }).click();
  await page.getByText('No endpoints yet.', { exact: false }).waitFor();
  await page.getByLabel('Endpoint URL').fill(hookUrl);
  await page.getByLabel('Description (optional)').fill('CI receiver');
  await page.getByRole('checkbox', { name: /link\.created/ }).check();
  await page.getByRole('button', { name: 'Add endpoint' }).click();
  const secret = (await page.getByTestId('webhook-secret').textContent()) ?? '';
  assert.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
  await page.getByRole('link', { name: hookUrl }).waitFor();
  await checkPage('14-webhooks');
  await page.getByRole('link', { name: 'Links', exact: true }).click();
  await page.getByRole('link', { name: 'New link' }).click();
  await page.getByLabel('Destination URL').fill(destination);
  await page.getByLabel('Title', { exact: true }).fill('Hooked');
  await page.getByRole('button', { name: 'Create link' }).click();
  await page.getByRole('heading', { name: 'Hooked' }).waitFor();
  await page.getByRole('link', { name: 'Webhooks', exact: true }).click();
  await page.getByRole('link', { name: hookUrl }).click();
  const delivery = page.getByTestId('delivery').first();
  // The delivery row is written when the engine's event trigger reaches the events service, maybe
  // after the page loaded: Refresh as a person would (the log follows by itself only while a
  // delivery is pending).
  for (let i = 0; i < 20 && (await page.getByTestId('delivery').count()) === 0; i++) {
    await page.waitForTimeout(2000);
    await page.getByRole('button', { name: 'Refresh' }).click();
  }
  await delivery.locator('.status-dead').waitFor({ timeout: 60_000 });
  assert.match((await delivery.textContent()) ?? '', /link\.created.*dead.*2.*500/s);
  assert.equal(hits.length, 2, 'two attempts reached the receiver');
  const first = hits[0]!;
  const signed = `${String(first.headers['webhook-id'])}.${String(first.headers['webhook-timestamp'])}.${first.body}`;
  const expected = `v1,${createHmac('sha256', Buffer.from(secret.slice('whsec_'.length), 'base64')).update(signed).digest('base64')}`;
  assert.ok(String(first.headers['webhook-signature']).split(' ').includes(expected), 'signed with the secret shown once');
  answer = 200;
  await delivery.getByRole('button', { name: /^Replay link\.created/ }).click();
  await page.getByText('Replay queued.').waitFor();
  await delivery.locator('.status-succeeded').waitFor({ timeout: 60_000 });
  assert.match((await delivery.textContent()) ?? '', /succeeded.*200/s);
  assert.equal(hits.length, 3);
  assert.equal(hits[2]!.headers['webhook-id'], first.headers['webhook-id'], 'a replay sends the same message');
  await delivery.locator('summary').click();
  assert.equal(await delivery.locator('li').count(), 3, 'the attempt log lists each HTTP attempt');
  await checkPage('15-webhook-log');
  page.once('dialog', (d) => void d.accept());
  await page.getByRole('button', { name: 'Rotate secret' }).click();
  await page.getByText('The previous one keeps signing until', { exact: false }).waitFor();
  const rotated = (await page.getByTestId('webhook-secret').textContent()) ?? '';
  assert.ok(rotated.startsWith('whsec_') && rotated !== secret, 'a new secret, shown once');
  await page.getByRole('button', { name: 'Disable' }).click();
  await page.getByTestId('endpoint-state').filter({ hasText: /^Disabled/ }).waitFor();
  page.once('dialog', (d) => void d.accept());
  await page.getByRole('button', { name: 'Delete', exact: true }).click();
  await page.waitForURL(`${gw}/app/webhooks`);
  await page.getByText('No endpoints yet.', { exact: false }).waitFor();
  await page.getByRole('link', { name: 'Links', exact: true }).click();

  // A custom code, then delete (after confirming) from its page.
  await page.getByRole('link', { name: 'New link' }).click();
  await page.getByLabel('Destination URL').fill(destination);
  await page.getByLabel('Custom code (optional)').fill('app');
  await page.getByRole('button', { name: 'Create link' }).click();
  await page.getByText('That short code is a reserved word', { exact: false }).waitFor().catch(async (err: unknown) => {
    await page.screenshot({ path: path.join(ARTIFACTS, 'failed-reserved-code.png'), fullPage: true });
    const alerts = await page.getByRole('alert').allTextContents().catch(() => []);
    throw new Error(`the reserved code: no sentence at ${page.url()}; alerts: ${JSON.stringify(alerts)}`, { cause: err });
  });
  await page.getByLabel('Custom code (optional)').fill(`tmp-${Date.now()}`);
  await page.getByRole('button', { name: 'Create link' }).click();
  await page.getByRole('button', { name: 'Delete' }).waitFor();
  page.once('dialog', (d) => void d.accept());
  await page.getByRole('button', { name: 'Delete' }).click();
  await page.waitForURL(`${gw}/app/`);
  await page.getByRole('link', { name: 'Launch page' }).waitFor();
  assert.equal(await page.getByRole('link', { name: /^tmp-/ }).count(), 0, 'the deleted link is gone');

  // A read-only key: its secret is shown once; it reads links and cannot create one.
  await page.getByRole('link', { name: 'API keys' }).click();
  await page.getByText('No API keys yet.', { exact: false }).waitFor();
  await page.getByLabel('Name').fill('reader');
  await page.getByRole('button', { name: 'Create key' }).click();
  const key = (await page.getByTestId('new-key').textContent()) ?? '';
  assert.match(key, /^lp_/);
  await page.getByRole('cell', { name: 'links:read', exact: true }).waitFor();
  await checkPage('08-keys');
  const asKey = async (query: string, variables: Record<string, unknown> = {}) => {
    const send = () => fetch(`${gw}/v1/links/graphql`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
    let r = await send();
    // The gateway's rl-links (per address, gateway/dynamic/middlewares.yml) counts the page's requests and
    // these alike; a fast run can meet it. Waited out as the app does (Retry-After), once.
    if (r.status === 429) {
      await r.arrayBuffer();
      await new Promise((done) => setTimeout(done, Math.min(15, Number(r.headers.get('retry-after')) || 1) * 1000));
      r = await send();
    }
    return (await r.json()) as { data?: { links_links?: Array<{ title: string }> }; errors?: Array<{ extensions?: { code?: string } }> };
  };
  const listed = await asKey(ListLinks.query, { where: {}, order_by: [], limit: 10, offset: 0 });
  assert.deepEqual(listed.data?.links_links?.map((l) => l.title).sort(), ['Hooked', 'Launch page']);
  const write = await asKey(CreateLink.query, { object: { destination: 'https://example.org' } });
  assert.equal(write.errors?.[0]?.extensions?.code, 'validation-failed', 'a links:read key cannot create a link');
  // An operation outside the collection is refused whoever sends it.
  assert.equal((await asKey('{ links_links { title } }')).errors?.[0]?.extensions?.code, 'validation-failed');

  await page.getByRole('link', { name: 'Account' }).click();
  await page.getByRole('heading', { name: 'Change password' }).waitFor();
  await checkPage('09-account');

  // Delete account (another person, another browser): afterwards the session is gone and the
  // credentials no longer log in.
  const leaving = await browser.newContext({ bypassCSP: true });
  const lpage = await leaving.newPage();
  await lpage.goto(`${gw}/app/signup`);
  const leavingEmail = `leaving-${Date.now()}@example.com`;
  await lpage.getByLabel('Email').fill(leavingEmail);
  await lpage.getByLabel('Password').fill('so long and thanks');
  await lpage.getByRole('button', { name: 'Sign up' }).click();
  await lpage.getByText('You have no links yet.').waitFor();
  current = lpage;
  await lpage.getByRole('link', { name: 'Account' }).click();
  // The password is asked again; a wrong one is a sentence and deletes nothing.
  await lpage.getByLabel('Your password, to confirm').fill('not my password');
  lpage.once('dialog', (d) => void d.accept());
  await lpage.getByRole('button', { name: 'Delete my account' }).click();
  await lpage.getByRole('alert').waitFor();
  assert.doesNotMatch((await lpage.getByRole('alert').textContent()) ?? '', /[A-Z]{3,}_[A-Z]{3,}/, 'a sentence, not a code');
  await lpage.getByLabel('Your password, to confirm').fill('so long and thanks');
  lpage.once('dialog', (d) => void d.accept());
  await lpage.getByRole('button', { name: 'Delete my account' }).click();
  await lpage.waitForURL(`${gw}/app/login`);
  await lpage.getByText('Your account and everything in it have been deleted.').waitFor();
  assert.equal((await lpage.request.post(`${gw}/v1/core/auth/refresh`)).status(), 401, 'the refresh cookie no longer works');
  await lpage.goto(`${gw}/app/`);
  await lpage.waitForURL(`${gw}/app/login`);
  await lpage.getByLabel('Email').fill(leavingEmail);
  await lpage.getByLabel('Password').fill('so long and thanks');
  await lpage.getByRole('button', { name: 'Log in' }).click();
  await lpage.getByText('That email and password do not match an account.').waitFor();
  await leaving.close();
  current = page;

  // Expired session: the same person changes the password in another browser; this tab's session
  // is revoked (core refuses its tokens within 5 s), so its next call ends in the log-in page with
  // a sentence, not an error code.
  const other = await browser.newContext({ bypassCSP: true });
  const opage = await other.newPage();
  await opage.goto(`${gw}/app/login`);
  await opage.getByLabel('Email').fill(email);
  await opage.getByLabel('Password').fill('correct horse battery');
  await opage.getByRole('button', { name: 'Log in' }).click();
  await opage.getByRole('button', { name: 'Log out' }).waitFor({ timeout: 15_000 }).catch(async (err: unknown) => {
    await opage.screenshot({ path: path.join(ARTIFACTS, 'failed-second-login.png') });
    throw err;
  });
  await opage.getByRole('link', { name: 'Account' }).click();
  await opage.getByLabel('Current password').fill('correct horse battery');
  await opage.getByLabel('New password').fill('a brand new passphrase');
  await opage.getByRole('button', { name: 'Change password' }).click();
  await opage.getByText('Password changed.').waitFor();
  await other.close();
  await new Promise((r) => setTimeout(r, 5500));
  await page.getByRole('link', { name: 'Links', exact: true }).click();
  await page.waitForURL(`${gw}/app/login`, { timeout: 20_000 });
  await page.getByText('Your session has expired. Please log in again.').waitFor();
  await checkPage('10-session-expired');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('a brand new passphrase');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('link', { name: 'Launch page' }).waitFor().catch(async (err: unknown) => {
    // Seen once in a loaded CI run: say what the page showed instead of only the timeout.
    await page.screenshot({ path: path.join(ARTIFACTS, 'failed-relogin.png') });
    const alerts = await page.getByRole('alert').allTextContents().catch(() => []);
    throw new Error(`after logging in again at ${page.url()}, no link list; alerts: ${JSON.stringify(alerts)}`, { cause: err });
  });

  // Offline is said, not failed silently.
  await ctx.setOffline(true);
  await page.getByText('You are offline.', { exact: false }).first().waitFor();
  await ctx.setOffline(false);

  // Log out: back to the log-in page, and a reload does not bring the session back.
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.waitForURL(`${gw}/app/login`);
  await page.reload();
  await page.getByRole('heading', { name: 'Log in to Linkport' }).waitFor();

  // Rate limited: the gateway's log-in limit (rl-auth) answers 429 with Retry-After, shown as a
  // countdown.
  for (let i = 0; i < 20; i++) {
    await page.getByLabel('Email').fill(`nobody-${i}@example.com`);
    await page.getByLabel('Password').fill('wrong password');
    await page.getByRole('button', { name: 'Log in' }).click();
    const said = await page.getByRole('alert').first().textContent({ timeout: 10_000 });
    if (/Too many requests/.test(said ?? '')) break;
  }
  await page.getByText(/Too many requests\. You can try again in \d+ s\./).waitFor();
  await checkPage('11-rate-limited');
  assert.deepEqual(consoleErrors, [], 'no uncaught errors in the page');
  finished = true;
});

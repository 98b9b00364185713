import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'csv-parse/sync';
import { bearer, build, errorCode, newUser, sql, useFileDatabase } from '../helper.ts';
import { buildTransfer, runExport } from './helper.ts';

useFileDatabase();

type Db = Parameters<typeof sql>[0];

/** Links written behind the service's back, with text that needs CSV quoting. */
async function seedLinks(db: Db, owner: string, n: number, tag: string): Promise<void> {
  await sql(
    db,
    `INSERT INTO links.links (owner_id, code, destination, title, description, expires_at, created_at)
     SELECT $1, $2 || '-' || g, 'https://example.com/' || $2 || '/' || g || '?q=' || repeat('x', 60),
            CASE WHEN g % 3 = 0 THEN 'Title, "quoted"' || E'\\n' || 'second line ' || g ELSE 'plain ' || g END,
            CASE WHEN g % 2 = 0 THEN NULL ELSE 'déjà vu ✓ ' || g END,
            CASE WHEN g % 5 = 0 THEN timestamptz '2030-01-01 00:00:00+00' + g * interval '1 second' END,
            timestamptz '2024-01-01 00:00:00+00' + g * interval '1 minute'
       FROM generate_series(1, $3) g`,
    [owner, tag, n],
  );
  await sql(db, `INSERT INTO links.tags (owner_id, name) VALUES ($1, 'alpha'), ($1, 'beta')`, [owner]);
  await sql(
    db,
    `INSERT INTO links.link_tags (link_id, tag_id)
     SELECT l.id, t.id FROM links.links l JOIN links.tags t ON t.owner_id = l.owner_id
      WHERE l.owner_id = $1 AND (t.name = 'alpha' OR l.code LIKE '%0')`,
    [owner],
  );
}

/** The links export as the database holds it, as text (the file's own representation). */
async function dbLinks(db: Db, owner: string): Promise<Array<Record<string, string>>> {
  const rows = await sql<Record<string, unknown>>(
    db,
    `SELECT l.code, l.destination, l.title, l.description,
            coalesce((SELECT string_agg(t.name, '|' ORDER BY t.name) FROM links.link_tags lt JOIN links.tags t ON t.id = lt.tag_id WHERE lt.link_id = l.id), '') AS tags,
            l.status, l.redirect_type::text, l.expires_at, l.max_clicks::text, l.click_count::text,
            l.last_clicked_at, l.created_at, l.updated_at
       FROM links.links l WHERE l.owner_id = $1 ORDER BY l.created_at, l.code`,
    [owner],
  );
  return rows.map((r) => ({
    code: String(r.code),
    destination: String(r.destination),
    title: r.title === null ? '' : String(r.title),
    description: r.description === null ? '' : String(r.description),
    tags: String(r.tags),
    status: String(r.status),
    redirect_type: String(r.redirect_type),
    expires_at: r.expires_at === null ? '' : (r.expires_at as Date).toISOString(),
    max_clicks: r.max_clicks === null ? '' : String(r.max_clicks),
    click_count: String(r.click_count),
    last_clicked_at: r.last_clicked_at === null ? '' : (r.last_clicked_at as Date).toISOString(),
    created_at: (r.created_at as Date).toISOString(),
    updated_at: (r.updated_at as Date).toISOString(),
  }));
}

const isoOrEmpty = (v: string) => (v === '' ? '' : new Date(v).toISOString());

function normaliseFile(rows: Array<Record<string, string>>): Array<Record<string, string>> {
  return rows.map((r) => ({
    ...r,
    expires_at: isoOrEmpty(r.expires_at ?? ''),
    last_clicked_at: isoOrEmpty(r.last_clicked_at ?? ''),
    created_at: isoOrEmpty(r.created_at ?? ''),
    updated_at: isoOrEmpty(r.updated_at ?? ''),
  }));
}

void test('links export: CSV and JSON equal the database row by row, only the owner’s, through multipart uploads', async (t) => {
  const { app, db, advance } = await buildTransfer(t);
  const a = await newUser(app);
  const b = await newUser(app);
  // ~70k rows of ~230 bytes: about 15 MiB, so the upload takes two 8 MiB parts.
  await seedLinks(db, a.userId, 70_000, `a${a.userId.slice(0, 6)}`);
  await seedLinks(db, b.userId, 50, `b${b.userId.slice(0, 6)}`);
  const want = await dbLinks(db, a.userId);

  const csv = await runExport(app, a.access, { kind: 'links', format: 'csv' });
  assert.deepEqual(csv.job.progress, { rows_done: 70_000, rows_total: 70_000 });
  assert.ok(Number(csv.job.result?.bytes) > 12 * 1024 * 1024, `only ${String(csv.job.result?.bytes)} bytes`);
  const fromCsv = parse(csv.text, { columns: true }) as Array<Record<string, string>>;
  assert.equal(fromCsv.length, want.length);
  const got = normaliseFile(fromCsv);
  for (let i = 0; i < want.length; i++) assert.deepEqual(got[i], want[i], `row ${i + 2}`);
  assert.ok(want.some((r) => r.expires_at !== '') && want.some((r) => r.tags === 'alpha|beta'));

  const json = await runExport(app, a.access, { kind: 'links', format: 'json' });
  const fromJson = JSON.parse(json.text) as Array<Record<string, unknown>>;
  assert.equal(fromJson.length, want.length);
  assert.equal(fromJson[2]?.title, 'Title, "quoted"\nsecond line 3');
  assert.equal(fromJson[0]?.description, 'déjà vu ✓ 1');
  assert.equal(fromJson[0]?.max_clicks, null);
  assert.equal(typeof fromJson[0]?.click_count, 'number');
  const asText = fromJson.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === null ? '' : String(v)])));
  assert.deepEqual(normaliseFile(asText), got);

  // The presigned URL expires with the file: past retention the download is 410 (asked with an API
  // key, which outlives the moved clock; a session JWT would have expired).
  const key = await app.inject({ method: 'POST', url: '/v1/core/api-keys', headers: bearer(a.access), payload: { name: 'export', scopes: ['links:read'] } });
  const apiKey = key.json<{ key: string }>().key;
  const dl = await app.inject({ method: 'GET', url: `/v1/core/transfer/jobs/${csv.job.id}/download`, headers: bearer(apiKey) });
  const { expires_at } = dl.json<{ expires_at: string }>();
  assert.ok(Math.abs(Date.parse(expires_at) - Date.now() - 900_000) < 60_000, expires_at);
  advance(169 * 3600_000);
  assert.equal(errorCode(await app.inject({ method: 'GET', url: `/v1/core/transfer/jobs/${csv.job.id}/download`, headers: bearer(apiKey) }), 410), 'EXPORT_EXPIRED');
});

void test('clicks and analytics exports: the range, the owner, row by row', async (t) => {
  const { app, db } = await buildTransfer(t);
  const a = await newUser(app);
  const b = await newUser(app);
  const [la] = await sql<{ id: string; code: string }>(db, `INSERT INTO links.links (owner_id, code, destination) VALUES ($1, $2, 'https://example.com/a') RETURNING id, code`, [a.userId, `ca-${a.userId.slice(0, 8)}`]);
  const [lb] = await sql<{ id: string; code: string }>(db, `INSERT INTO links.links (owner_id, code, destination) VALUES ($1, $2, 'https://example.com/b') RETURNING id, code`, [b.userId, `cb-${b.userId.slice(0, 8)}`]);
  // Clicks every 7 minutes over three days, for both users' links.
  await sql(
    db,
    `INSERT INTO links.clicks (stream_id, clicked_at, link_id, code, country, device, browser, os, referrer_host, is_bot)
     SELECT l.code || '-' || g, timestamptz '2026-03-01 00:00:00+00' + g * interval '7 minutes', l.id, l.code,
            (ARRAY['DE', 'FR', NULL])[1 + g % 3], 'mobile', 'Firefox', 'Android', CASE WHEN g % 4 = 0 THEN 'news.example' END, g % 10 = 0
       FROM links.links l, generate_series(0, 617) g WHERE l.id = ANY($1)`,
    [[la!.id, lb!.id]],
  );
  await sql(
    db,
    `INSERT INTO links.daily_stats (link_id, day, dimension, value, clicks, visitors)
     SELECT l.id, date '2026-03-01' + d, dim, v, 10 + d, 5 + d
       FROM links.links l, generate_series(0, 4) d, (VALUES ('total', ''), ('country', 'DE'), ('country', 'FR')) x(dim, v)
      WHERE l.id = ANY($1)`,
    [[la!.id, lb!.id]],
  );

  const from = '2026-03-01T12:00:00+01:00';
  const to = '2026-03-03T00:00:00Z';
  const clicks = await runExport(app, a.access, { kind: 'clicks', from, to });
  const wantClicks = await sql<Record<string, unknown>>(
    db,
    `SELECT clicked_at, code, country, device, browser, os, referrer_host, is_bot FROM links.clicks
      WHERE link_id = $1 AND clicked_at >= $2 AND clicked_at < $3 ORDER BY clicked_at`,
    [la!.id, from, to],
  );
  const gotClicks = parse(clicks.text, { columns: true }) as Array<Record<string, string>>;
  assert.ok(wantClicks.length > 300);
  assert.equal(gotClicks.length, wantClicks.length);
  assert.equal(clicks.job.progress.rows_total, wantClicks.length);
  wantClicks.forEach((w, i) => {
    const g = gotClicks[i]!;
    assert.equal(new Date(g.clicked_at!).getTime(), (w.clicked_at as Date).getTime(), `clicks row ${i + 2}`);
    assert.deepEqual(
      { code: g.code, country: g.country, device: g.device, browser: g.browser, os: g.os, referrer_host: g.referrer_host, is_bot: g.is_bot },
      { code: w.code, country: w.country ?? '', device: w.device, browser: w.browser, os: w.os, referrer_host: w.referrer_host ?? '', is_bot: w.is_bot ? 't' : 'f' },
      `clicks row ${i + 2}`,
    );
  });

  const analytics = await runExport(app, a.access, { kind: 'analytics', from: '2026-03-02', to: '2026-03-05' });
  const wantStats = await sql<Record<string, unknown>>(
    db,
    `SELECT to_char(day, 'YYYY-MM-DD') AS day, $2::text AS code, dimension, value, clicks::text, visitors::text FROM links.daily_stats
      WHERE link_id = $1 AND day >= '2026-03-02' AND day < '2026-03-05' ORDER BY day, dimension, value`,
    [la!.id, la!.code],
  );
  assert.equal(wantStats.length, 9);
  assert.deepEqual(parse(analytics.text, { columns: true }), wantStats);

  for (const body of [
    { kind: 'clicks', from: to, to: from },
    { kind: 'clicks', from: '2025-01-01T00:00:00Z', to: '2026-03-01T00:00:00Z' },
  ]) {
    assert.equal(errorCode(await app.inject({ method: 'POST', url: '/v1/core/transfer/exports', headers: bearer(a.access), payload: body }), 400), 'INVALID_RANGE');
  }
  assert.equal(errorCode(await app.inject({ method: 'POST', url: '/v1/core/transfer/exports', headers: bearer(a.access), payload: { kind: 'clicks', format: 'json', from, to } }), 400), 'VALIDATION_FAILED');
});

void test('without object storage the routes answer 503 TRANSFER_UNAVAILABLE', async (t) => {
  const { app } = await build(t);
  const u = await newUser(app);
  assert.equal(errorCode(await app.inject({ method: 'POST', url: '/v1/core/transfer/exports', headers: bearer(u.access), payload: { kind: 'links' } }), 503), 'TRANSFER_UNAVAILABLE');
});

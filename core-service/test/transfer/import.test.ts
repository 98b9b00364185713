import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bearer, errorCode, newUser, sql, useFileDatabase } from '../helper.ts';
import { buildTransfer, fixture, importFile, runImport, waitJob } from './helper.ts';

useFileDatabase();

interface LinkRow {
  code: string;
  destination: string;
  title: string | null;
  description: string | null;
  expires_at: string | null;
  created_at: string;
  tags: string[];
}

async function linksOf(db: Parameters<typeof sql>[0], owner: string): Promise<LinkRow[]> {
  return sql<LinkRow>(
    db,
    `SELECT l.code, l.destination, l.title, l.description, to_json(l.expires_at) #>> '{}' AS expires_at, to_json(l.created_at) #>> '{}' AS created_at,
            coalesce(array_agg(t.name ORDER BY t.name) FILTER (WHERE t.name IS NOT NULL), '{}') AS tags
       FROM links.links l LEFT JOIN links.link_tags lt ON lt.link_id = l.id LEFT JOIN links.tags t ON t.id = lt.tag_id
      WHERE l.owner_id = $1 GROUP BY l.id ORDER BY l.code`,
    [owner],
  );
}

const iso = (s: string) => new Date(s).toISOString();
const norm = (rows: LinkRow[]) => rows.map((r) => ({ ...r, expires_at: r.expires_at && iso(r.expires_at), created_at: iso(r.created_at) }));

// Each peer's committed sample (fixtures/README.md) lands with code, destination, title, tags,
// expiry and creation date as the source had them.
const expected: Record<string, Array<Partial<LinkRow> & { code: string; destination: string }>> = {
  bitly: [
    { code: '3Bly7ab', destination: 'https://example.com/bitly/first', title: 'First Bitly link', tags: ['newsletter', 'q4'], created_at: '2023-11-02T14:05:09.000Z', expires_at: null },
    { code: 'bitly-launch', destination: 'https://example.com/launch?utm_source=bitly', title: 'Launch', tags: [], created_at: '2024-01-20T08:00:00.000Z', expires_at: null },
  ],
  kutt: [
    { code: 'kutt-blog', destination: 'https://blog.example.com/', description: 'Our blog', created_at: '2024-05-01T10:00:00.000Z', expires_at: null },
    { code: 'kutt-promo', destination: 'https://example.com/promo', created_at: '2024-06-10T12:30:00.000Z', expires_at: '2031-01-01T00:00:00.000Z' },
  ],
  shlink: [
    { code: 'shl-repo', destination: 'https://git.example.com/repo', title: null, tags: [], created_at: '2024-03-01T09:00:00.000Z' },
    { code: 'shl-talk', destination: 'https://example.com/talks/2024', title: 'Talk slides', tags: ['conference', 'talks'], created_at: '2024-02-29T17:00:00.000Z', expires_at: '2032-02-29T00:00:00.000Z' },
  ],
  yourls: [
    { code: 'yrl-home', destination: 'https://example.net/', title: 'Example home', created_at: '2019-07-04T12:00:00.000Z' },
    { code: 'yrl-wiki', destination: 'https://wiki.example.net/Main_Page', title: 'Wiki', created_at: '2020-01-01T00:00:01.000Z' },
  ],
  dub: [
    { code: 'dub-event', destination: 'https://events.example.com/2025', expires_at: '2025-12-31T23:59:59.000Z', created_at: '2024-08-01T00:00:00.000Z' },
    { code: 'dub-gh', destination: 'https://github.com/example/project', title: 'Project on GitHub', description: 'Source code', tags: ['code'], created_at: '2024-06-30T10:00:00.000Z' },
  ],
};
const files: Record<string, string> = { bitly: 'bitly.json', kutt: 'kutt.json', shlink: 'shlink.json', yourls: 'yourls.csv', dub: 'dub.json' };

void test('each peer format imports from its committed sample, and a re-run changes nothing', async (t) => {
  const { app, db } = await buildTransfer(t);
  for (const [format, rows] of Object.entries(expected)) {
    const u = await newUser(app);
    const job = await runImport(app, u.access, format, fixture(files[format]!));
    assert.equal(job.status, 'succeeded', `${format}: ${JSON.stringify(job.error)}`);
    assert.deepEqual(job.result, { rows: 2, created: 2, unchanged: 0, conflicts: 0, invalid: 0, problems: 0, dry_run: false }, format);
    const got = norm(await linksOf(db, u.userId));
    assert.equal(got.length, rows.length, format);
    rows.forEach((want, i) => {
      const have = got[i]!;
      for (const [k, v] of Object.entries(want)) assert.deepEqual(have[k as keyof LinkRow], v, `${format} ${want.code}.${k}`);
    });
    const again = await runImport(app, u.access, format, fixture(files[format]!));
    assert.deepEqual(again.result, { rows: 2, created: 0, unchanged: 2, conflicts: 0, invalid: 0, problems: 0, dry_run: false }, `${format} re-run`);
    assert.deepEqual(norm(await linksOf(db, u.userId)), got, `${format}: the re-run left the links as they were`);
  }
});

void test('generic CSV: quoted fields, tags, time zones; a row without a code gets one and is still recognised on a re-run', async (t) => {
  const { app, db } = await buildTransfer(t);
  const u = await newUser(app);
  const job = await runImport(app, u.access, 'csv', fixture('generic.csv'));
  assert.equal(job.status, 'succeeded', JSON.stringify(job.error));
  assert.deepEqual(job.result, { rows: 3, created: 3, unchanged: 0, conflicts: 0, invalid: 0, problems: 0, dry_run: false });
  const rows = norm(await linksOf(db, u.userId));
  const byDest = new Map(rows.map((r) => [r.destination, r]));
  assert.deepEqual(byDest.get('https://example.com/docs'), { code: 'gen-docs', destination: 'https://example.com/docs', title: 'Documentation', description: null, expires_at: null, created_at: '2024-02-01T09:30:00.000Z', tags: ['docs', 'help'] });
  const sale = byDest.get('https://shop.example.com/sale?ref=import');
  assert.equal(sale?.title, 'Sale, "spring" edition');
  assert.equal(sale?.expires_at, '2030-06-30T21:59:59.000Z');
  assert.equal(sale?.created_at, '2024-03-15T08:00:00.000Z');
  const generated = byDest.get('https://example.org/no-code');
  assert.match(generated?.code ?? '', /^[2-9a-zA-Z]{7}$/);
  const again = await runImport(app, u.access, 'csv', fixture('generic.csv'));
  assert.deepEqual(again.result, { rows: 3, created: 0, unchanged: 3, conflicts: 0, invalid: 0, problems: 0, dry_run: false });
  assert.equal((await linksOf(db, u.userId)).length, 3);
});

void test('a malformed file is answered line by line; the dry run writes nothing, the real run imports the good rows', async (t) => {
  const { app, db } = await buildTransfer(t);
  const u = await newUser(app);
  const want = [
    { line: 3, code: 'INVALID_DESTINATION', field: 'destination' },
    { line: 4, code: 'MISSING_DESTINATION', field: 'destination' },
    { line: 5, code: 'COLUMN_COUNT' },
    { line: 6, code: 'RESERVED_CODE', field: 'code' },
    { line: 7, code: 'MALFORMED_ROW' },
    { line: 8, code: 'DUPLICATE_IN_FILE', field: 'code' },
    { line: 9, code: 'INVALID_CODE', field: 'code' },
  ];
  for (const dryRun of [true, false]) {
    const job = await runImport(app, u.access, 'csv', fixture('malformed.csv'), dryRun);
    assert.equal(job.status, 'succeeded');
    assert.deepEqual(job.result, { rows: 9, created: 2, unchanged: 0, conflicts: 0, invalid: 7, problems: 7, dry_run: dryRun });
    const res = await app.inject({ method: 'GET', url: `/v1/core/transfer/jobs/${job.id}/problems`, headers: bearer(u.access) });
    assert.equal(res.statusCode, 200);
    const body = res.json<{ total: number; items: Array<{ line: number; code: string; field?: string; message: string }> }>();
    assert.equal(body.total, 7);
    assert.deepEqual(
      body.items.map(({ line, code, field }) => ({ line, code, ...(field ? { field } : {}) })),
      want,
    );
    for (const p of body.items) assert.ok(p.message.length > 0);
    const codes = (await linksOf(db, u.userId)).map((l) => l.code);
    assert.deepEqual(codes, dryRun ? [] : ['ok-four', 'ok-one']);
  }
  // Paging through the list.
  const list = await app.inject({ method: 'GET', url: '/v1/core/transfer/jobs', headers: bearer(u.access) });
  const last = list.json<{ items: Array<{ id: string }> }>().items[0]!;
  const page = await app.inject({ method: 'GET', url: `/v1/core/transfer/jobs/${last.id}/problems?offset=5&limit=10`, headers: bearer(u.access) });
  assert.deepEqual(page.json<{ items: Array<{ line: number }> }>().items.map((p) => p.line), [8, 9]);
});

void test('a code another user holds is reported as a conflict, never taken over', async (t) => {
  const { app, db } = await buildTransfer(t);
  const a = await newUser(app);
  const b = await newUser(app);
  const tag = a.userId.slice(0, 8);
  const doc = JSON.stringify({ data: [{ address: `c1-${tag}`, target: 'https://example.com/a' }, { address: `c2-${tag}`, target: 'https://example.com/b' }] });
  assert.equal((await runImport(app, a.access, 'kutt', doc)).status, 'succeeded');
  const job = await runImport(app, b.access, 'kutt', doc, true);
  assert.deepEqual(job.result, { rows: 2, created: 0, unchanged: 0, conflicts: 2, invalid: 0, problems: 2, dry_run: true });
  const res = await app.inject({ method: 'GET', url: `/v1/core/transfer/jobs/${job.id}/problems`, headers: bearer(b.access) });
  assert.deepEqual(
    res.json<{ items: Array<{ line: number; code: string }> }>().items.map((p) => [p.line, p.code]),
    [
      [1, 'CODE_CONFLICT'],
      [2, 'CODE_CONFLICT'],
    ],
  );
  const owners = await sql<{ owner_id: string }>(db, 'SELECT owner_id FROM links.links WHERE code = ANY($1)', [[`c1-${tag}`, `c2-${tag}`]]);
  assert.deepEqual(owners.map((o) => o.owner_id), [a.userId, a.userId]);
});

void test('whole-file failures, limits, scopes and ownership', async (t) => {
  const { app } = await buildTransfer(t, { TRANSFER_MAX_IMPORT_BYTES: '2000' });
  const a = await newUser(app);
  const b = await newUser(app);

  const notJson = await runImport(app, a.access, 'shlink', '{"shortUrls": ');
  assert.equal(notJson.status, 'failed');
  assert.equal(notJson.error?.code, 'MALFORMED_JSON');
  const wrongShape = await runImport(app, a.access, 'bitly', '{"data": []}');
  assert.equal(wrongShape.error?.code, 'UNEXPECTED_SHAPE');
  const noDestination = await runImport(app, a.access, 'csv', 'code,title\nabc,x\n');
  assert.equal(noDestination.error?.code, 'MISSING_COLUMNS');

  assert.equal(errorCode(await importFile(app, a.access, 'csv', 'x'.repeat(2001)), 413), 'FILE_TOO_LARGE');
  assert.equal(errorCode(await importFile(app, a.access, 'csv', ''), 400), 'EMPTY_FILE');
  assert.equal(errorCode(await importFile(app, a.access, 'nope', 'a'), 400), 'VALIDATION_FAILED');
  assert.equal(errorCode(await app.inject({ method: 'POST', url: '/v1/core/transfer/imports?format=csv', payload: 'a,b' }), 401), 'UNAUTHORIZED');

  // A read-only API key may export, not import.
  const key = await app.inject({ method: 'POST', url: '/v1/core/api-keys', headers: bearer(a.access), payload: { name: 'ro', scopes: ['links:read'] } });
  assert.equal(key.statusCode, 201, key.body);
  const ro = key.json<{ key: string }>().key;
  assert.equal(errorCode(await importFile(app, ro, 'csv', fixture('generic.csv')), 403), 'INSUFFICIENT_SCOPE');
  const exp = await app.inject({ method: 'POST', url: '/v1/core/transfer/exports', headers: bearer(ro), payload: { kind: 'links' } });
  assert.equal(exp.statusCode, 202, exp.body);

  // Another user's job is a 404 on every route.
  const id = exp.json<{ id: string }>().id;
  await waitJob(app, ro, id);
  for (const url of [`/v1/core/transfer/jobs/${id}`, `/v1/core/transfer/jobs/${id}/download`, `/v1/core/transfer/jobs/${notJson.id ?? id}/problems`]) {
    assert.equal(errorCode(await app.inject({ method: 'GET', url, headers: bearer(b.access) }), 404), 'TRANSFER_JOB_NOT_FOUND', url);
  }
  const listed = await app.inject({ method: 'GET', url: '/v1/core/transfer/jobs', headers: bearer(b.access) });
  assert.deepEqual(listed.json<{ items: unknown[] }>().items, []);
});

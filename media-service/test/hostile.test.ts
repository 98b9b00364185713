import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { build } from './helper.ts';

/**
 * Hostile inputs never answer 5xx and never leave state behind (issue 11 §7). JSON may carry a lone
 * UTF-16 surrogate (`"\ud800"` is valid JSON, RFC 8259 §8.2), which has no UTF-8 form: it once
 * reached encodeURIComponent while presigning, after the asset row was written — a 500 and an
 * orphan pending asset.
 */

const json = { 'content-type': 'application/json' };

void test('a filename with a lone surrogate is sanitised (U+FFFD), answered 201 with a working upload; other fields answer 4xx', async (t) => {
  const h = await build(t);
  const user = await h.newUser();
  const raw = '{"filename":"\\ud800.png","contentType":"image/png","size":10,"visibility":"private"}';
  const res = await h.app.inject({ method: 'POST', url: '/v1/media/uploads', headers: { ...user.auth, ...json }, payload: raw });
  assert.equal(res.statusCode, 201, res.body);
  assert.equal(res.json().asset.filename, '\uFFFD.png');
  assert.match(res.json().upload.url, /\/private\/[^/]+\/[^/]+\/%EF%BF%BD\.png\?/);
  for (const [field, value, status] of [
    ['contentType', '"image/png\\udc00"', 415],
    ['checksum', '"\\ud800"', 400],
    ['visibility', '"\\ud800"', 400],
  ] as const) {
    const body = `{"filename":"a.png","contentType":"image/png","size":10,"visibility":"private","${field}":${value}}`;
    const r = await h.app.inject({ method: 'POST', url: '/v1/media/uploads', headers: { ...user.auth, ...json }, payload: body });
    assert.equal(r.statusCode, status, `${field}: ${r.body}`);
  }
  // Exactly the one accepted upload exists: no orphan rows from the refused ones.
  const { rows } = await h.admin.query('SELECT filename, status FROM media.assets');
  assert.deepEqual(rows, [{ filename: '\uFFFD.png', status: 'pending' }]);
});

/** Strings a client can send in JSON: any code point, lone surrogates included. */
const anyString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('\ud800', '\udfff.png', 'a\ud83d', '../../etc/passwd', 'CON', '%00', ' ', '', 'image/png', 'IMAGE/PNG; x=\ud800'),
);
const anyNumber = fc.oneof(fc.integer(), fc.double(), fc.constantFrom(0, -1, 2 ** 53, 1e308, Number.MAX_SAFE_INTEGER));
const anyValue = fc.oneof(anyString, anyNumber, fc.boolean(), fc.constant(null), fc.jsonValue({ maxDepth: 3 }));

/** Mostly a value the schema accepts (so the request reaches the service), sometimes anything. */
const mostly = <T>(good: fc.Arbitrary<T>, bad: fc.Arbitrary<unknown> = anyValue) => fc.oneof({ arbitrary: good, weight: 5 }, { arbitrary: bad, weight: 1 });

/** Create bodies: hostile filenames and types within an otherwise valid request, and anything else. */
const createBody = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record(
      {
        filename: mostly(fc.string({ unit: 'binary', minLength: 1, maxLength: 300 }).filter((x) => x.length <= 1024), anyString),
        contentType: mostly(fc.constantFrom('image/png', 'IMAGE/PNG; q=1', 'application/pdf', 'video/mp4'), anyString),
        size: mostly(fc.integer({ min: 1, max: 12 * 1024 ** 2 }), anyNumber),
        visibility: mostly(fc.constantFrom('public', 'private'), anyString),
        checksum: mostly(fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('base64')), anyString),
        multipart: fc.boolean(),
      },
      { requiredKeys: ['filename', 'contentType', 'size', 'visibility'] },
    ),
  },
  { weight: 1, arbitrary: anyValue },
);

/** Percent-encoded bytes, valid UTF-8 or not. */
const rawComponent = fc.uint8Array({ maxLength: 24 }).map((b) => [...b].map((x) => `%${x.toString(16).padStart(2, '0')}`).join(''));

void test('fuzz: no JSON body, query or path parameter makes a media route answer 5xx', async (t) => {
  const h = await build(t, { MEDIA_USER_QUOTA_BYTES: '1TiB' });
  const user = await h.newUser();
  const seen = new Map<number, number>();
  const check = async (method: 'GET' | 'POST', url: string, payload?: unknown) => {
    const body = payload === undefined ? undefined : JSON.stringify(payload);
    const res = await h.app.inject({ method, url, headers: { ...user.auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { payload: body }) });
    seen.set(res.statusCode, (seen.get(res.statusCode) ?? 0) + 1);
    assert.ok(res.statusCode < 500, `${method} ${url} ${body ?? ''} → ${res.statusCode} ${res.body}`);
    return res;
  };

  await fc.assert(
    fc.asyncProperty(createBody, async (b) => {
      await check('POST', '/v1/media/uploads', b);
    }),
    { numRuns: 250 },
  );
  // One real upload, so parts/complete/abort reach their services with hostile bodies too.
  const single = (await check('POST', '/v1/media/uploads', { filename: 'x.png', contentType: 'image/png', size: 10, visibility: 'private' })).json().id as string;
  const multi = (
    await check('POST', '/v1/media/uploads', { filename: 'v.mp4', contentType: 'video/mp4', size: 40 * 1024 ** 2, visibility: 'private', multipart: true })
  ).json().id as string;
  const partsBody = fc.oneof(fc.record({ partNumbers: fc.oneof(fc.array(fc.oneof(fc.integer(), anyNumber), { maxLength: 20 }), anyValue) }, { requiredKeys: [] }), anyValue);
  const completeBody = fc.oneof(
    fc.record({ parts: fc.oneof(fc.array(fc.record({ partNumber: fc.oneof(fc.integer(), anyNumber), etag: anyString }), { maxLength: 5 }), anyValue) }, { requiredKeys: [] }),
    anyValue,
  );
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(single, multi), partsBody, completeBody, async (id, pb, cb) => {
      await check('POST', `/v1/media/uploads/${id}/parts`, pb);
      await check('POST', `/v1/media/uploads/${id}/complete`, cb);
    }),
    { numRuns: 120 },
  );
  await fc.assert(
    fc.asyncProperty(
      fc.record({ limit: fc.oneof(rawComponent, fc.integer().map(String)), cursor: rawComponent, status: rawComponent, type: rawComponent }, { requiredKeys: [] }),
      fc.oneof(rawComponent, fc.uuid(), fc.constantFrom(single, multi)),
      async (q, id) => {
        const qs = Object.entries(q)
          .map(([k, v]) => `${k}=${v}`)
          .join('&');
        await check('GET', `/v1/media/assets?${qs}`);
        await check('GET', `/v1/media/assets/${id}`);
        await check('GET', `/v1/media/assets/${id}/download`);
        await check('POST', `/v1/media/uploads/${id}/abort`);
      },
    ),
    { numRuns: 150 },
  );
  // Cursors that decode to well-shaped but impossible timestamps reach PostgreSQL's parser.
  for (const createdAt of ['2024-13-45 25:61:61+00', '0000-00-00 00:00:00Z', '99999-01-01 00:00:00+00']) {
    const cursor = Buffer.from(`${createdAt}|00000000-0000-4000-8000-000000000000`).toString('base64url');
    await check('GET', `/v1/media/assets?cursor=${cursor}`);
  }
  t.diagnostic(`statuses: ${JSON.stringify([...seen].sort((a, b) => a[0] - b[0]))}`);
  assert.ok((seen.get(201) ?? 0) > 0 && (seen.get(400) ?? 0) > 0, `the generators reach both the service and the validators: ${JSON.stringify([...seen])}`);
});

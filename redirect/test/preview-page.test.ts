/**
 * The /{code}+ preview page (issue 15 §4): title, description and the stored preview image, every
 * value HTML-escaped, the image from media's public base (never the page it came from); only a
 * ready public asset of the link's owner is shown (links.preview_image_key, migration 1764900001400).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { previewPage } from '../src/http/pages.ts';
import { get, setup, startApp } from './helper.ts';

const BASE = 'https://cdn.example.test/media';

void test('the preview page shows title, description and the stored image, escaped', async (t) => {
  const e = await setup(t);
  const app = await startApp(t, e, { MEDIA_PUBLIC_BASE_URL: BASE });
  const asset = async (fields: { status?: string; visibility?: string; owner?: string } = {}) => {
    const id = randomUUID();
    const owner = fields.owner ?? e.ownerId;
    const visibility = fields.visibility ?? 'public';
    await e.admin.query(
      `INSERT INTO media.assets (id, owner_id, bucket, object_key, filename, content_type, size, visibility, status, upload_expires_at)
       VALUES ($1, $2, 'linkport-media', $3, 'preview.png', 'image/png', 70, $4, $5, now() + interval '1 hour')`,
      [id, owner, `${visibility}/${owner}/${id}/preview "x".png`, visibility, fields.status ?? 'ready'],
    );
    return id;
  };
  const imageId = await asset();
  const link = await e.newLink({ title: 'Cats <script>alert(1)</script>', description: 'All about "cats" & <b>dogs</b>', image_asset_id: imageId });
  const res = await get(`${app.url}/${link.code}+`);
  assert.equal(res.status, 200);
  const html = await res.text();
  assert.ok(html.includes('<h1>Cats &lt;script&gt;alert(1)&lt;/script&gt;</h1>'), html);
  assert.ok(html.includes('<p>All about &quot;cats&quot; &amp; &lt;b&gt;dogs&lt;/b&gt;</p>'));
  assert.ok(html.includes(`<img src="${BASE}/public/${e.ownerId}/${imageId}/preview%20%22x%22.png"`), html);
  assert.ok(!html.includes('<script>') && !html.includes('<b>'));

  // A private asset (even the owner's own, ready) or one no longer ready is not shown.
  const priv = await asset({ visibility: 'private' });
  const privLink = await e.newLink({ title: 'Private image', image_asset_id: priv });
  assert.ok(!(await (await get(`${app.url}/${privLink.code}+`)).text()).includes('<img'));
  await e.admin.query(`UPDATE media.assets SET status = 'quarantined' WHERE id = $1`, [imageId]);
  const after = await (await get(`${app.url}/${link.code}+`)).text();
  assert.ok(!after.includes('<img'), 'a quarantined image disappears from the page');
  assert.ok(after.includes('All about'));

  // Without MEDIA_PUBLIC_BASE_URL no image URL can be made: none is shown.
  const bare = await startApp(t, e);
  await e.admin.query(`UPDATE media.assets SET status = 'ready' WHERE id = $1`, [imageId]);
  assert.ok(!(await (await get(`${bare.url}/${link.code}+`)).text()).includes('<img'));
  assert.ok((await (await get(`${app.url}/${link.code}+`)).text()).includes('<img'));
});

void test('previewPage: a link without description or image has neither element; attribute quotes are escaped', () => {
  const html = previewPage({ code: 'abc', shortUrl: 'https://s.test/abc', destination: null, title: null, createdAt: '2026-01-02T00:00:00Z' });
  assert.ok(!html.includes('<img') && html.includes('<h1>https://s.test/abc</h1>'));
  const withImage = previewPage({ code: 'abc', shortUrl: 'u', destination: null, title: 't', imageUrl: 'https://cdn.test/a" onerror="x', createdAt: '2026-01-02' });
  assert.ok(withImage.includes('src="https://cdn.test/a&quot; onerror=&quot;x"'));
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matchesSignature } from '../src/modules/assets/magic.ts';
import { contentDisposition, parseBytes, parseTypeLimits, partLength, planParts, publicUrl, sanitiseFilename } from '../src/modules/assets/policy.ts';
import { identityFrom } from '../src/plugins/auth.ts';
import { loadMediaConfig } from '../src/config.ts';
import { placeholderEnv } from '../scripts/openapi.ts';

const hex = (s: string) => Buffer.from(s.replace(/\s/g, ''), 'hex');

void test('magic numbers', () => {
  assert.ok(matchesSignature('image/png', hex('89504e470d0a1a0a')));
  assert.ok(matchesSignature('image/jpeg', hex('ffd8ffe000104a464946')));
  assert.ok(matchesSignature('image/gif', Buffer.from('GIF89a')));
  assert.ok(matchesSignature('image/webp', Buffer.from('RIFF\x00\x00\x00\x00WEBPVP8 ', 'latin1')));
  assert.ok(matchesSignature('image/avif', Buffer.concat([hex('00000020'), Buffer.from('ftypavif\x00\x00\x00\x00avifmif1miaf', 'latin1')])));
  assert.ok(matchesSignature('image/avif', Buffer.concat([hex('00000020'), Buffer.from('ftypmif1\x00\x00\x00\x00mif1avifmiaf', 'latin1')])));
  assert.ok(!matchesSignature('image/avif', Buffer.concat([hex('00000018'), Buffer.from('ftypisom\x00\x00\x00\x00isom', 'latin1')])));
  assert.ok(matchesSignature('application/pdf', Buffer.from('%PDF-1.7')));
  assert.ok(!matchesSignature('image/png', hex('ffd8ffe0')));
  assert.ok(!matchesSignature('image/jpeg', Buffer.from('<svg onload=alert(1)>')));
  assert.ok(!matchesSignature('image/webp', Buffer.from('RIFF\x00\x00\x00\x00WAVE', 'latin1')));
  assert.ok(!matchesSignature('image/png', new Uint8Array()));
  assert.ok(matchesSignature('text/plain', Buffer.from('anything')), 'types without a signature pass');
});

void test('filename sanitising', () => {
  assert.equal(sanitiseFilename('../../../etc/passwd'), 'passwd');
  assert.equal(sanitiseFilename('C:\\Users\\me\\cv.pdf'), 'cv.pdf');
  assert.equal(sanitiseFilename('Cafe\u0301.png'), 'Café.png');
  assert.equal(sanitiseFilename('Cafe\u0301.png').length, 8);
  assert.equal(sanitiseFilename('  .hidden  '), 'hidden');
  assert.equal(sanitiseFilename('a\u200Bb\uFEFF.txt'), 'ab.txt');
  assert.equal(sanitiseFilename('\u0000'), 'file');
  assert.equal(sanitiseFilename('photo  (1).png'), 'photo (1).png');
  assert.equal(sanitiseFilename('nul'), '_nul');
  const emoji = sanitiseFilename(`${'😀'.repeat(100)}.jpeg`);
  assert.ok(Buffer.byteLength(emoji) <= 200);
  assert.ok(emoji.endsWith('😀.jpeg'), 'no code point split, extension kept');
});

void test('content-disposition per RFC 6266 / RFC 8187', () => {
  assert.equal(contentDisposition('attachment', 'report.pdf'), 'attachment; filename="report.pdf"');
  assert.equal(contentDisposition('inline', 'naïve "q" (1).pdf'), `inline; filename="naive _q_ (1).pdf"; filename*=UTF-8''na%C3%AFve%20%22q%22%20%281%29.pdf`);
  assert.equal(contentDisposition('inline', '日本.png'), `inline; filename=".png"; filename*=UTF-8''%E6%97%A5%E6%9C%AC.png`);
  assert.equal(contentDisposition('inline', "it's (1).png", { emulator: true }), 'inline; filename="it_s _1_.png"');
});

void test('sizes, type limits, parts and public URLs', () => {
  assert.equal(parseBytes('10MiB'), 10 * 1024 * 1024);
  assert.equal(parseBytes('1.5GB'), 1.5e9);
  assert.equal(parseBytes('12'), 12);
  assert.equal(parseBytes('-1'), undefined);
  assert.equal(parseBytes('1 parsec'), undefined);
  assert.deepEqual(parseTypeLimits('Image/PNG=1KiB, application/pdf=2MB'), { 'image/png': 1024, 'application/pdf': 2e6 });
  assert.throws(() => parseTypeLimits('image/png'));
  assert.throws(() => parseTypeLimits('not a type=1'));
  const MiB = 1024 * 1024;
  assert.deepEqual(planParts(11 * MiB, 5 * MiB), { partSize: 5 * MiB, partCount: 3 });
  assert.deepEqual(planParts(100_000 * MiB, 5 * MiB), { partSize: 10 * MiB, partCount: 10_000 });
  assert.equal(partLength(11 * MiB, 5 * MiB, 3), MiB);
  assert.equal(publicUrl('https://cdn.example/m/', 'public/u/a/ä b.png'), 'https://cdn.example/m/public/u/a/%C3%A4%20b.png');
});

void test('identity from verified claims', () => {
  const sub = '5f0c6a0e-8f5e-4f57-9a3b-1c2d3e4f5a6b';
  const hasura = { 'https://hasura.io/jwt/claims': { 'x-hasura-default-role': 'user' } };
  assert.deepEqual(identityFrom({ sub, ...hasura }), { userId: sub, admin: false, scopes: undefined });
  assert.equal(identityFrom({ sub, role: 'admin' }).admin, true);
  assert.deepEqual([...(identityFrom({ sub, scope: 'media:read links:read' }).scopes ?? [])], ['media:read', 'links:read']);
  assert.equal(identityFrom({ sub, auth_method: 'api_key' }).scopes?.size, 0, 'an API-key token without scope gets none');
  assert.throws(() => identityFrom({ sub: 'not-a-uuid' }), /user id/);
});

void test('config: defaults, and every bad key reported at once', () => {
  const c = loadMediaConfig(placeholderEnv);
  assert.equal(c.PORT, 3002);
  assert.equal(c.S3_REGION, 'auto');
  assert.equal(c.MEDIA_UPLOAD_URL_TTL_SECONDS, 600);
  assert.equal(c.MEDIA_TYPE_LIMITS['image/png'], 10 * 1024 * 1024);
  assert.equal(c.MEDIA_TYPE_LIMITS['video/mp4'], 500 * 1024 * 1024);
  assert.throws(
    () => loadMediaConfig({ ...placeholderEnv, MEDIA_UPLOAD_URL_TTL_SECONDS: '3600', MEDIA_USER_QUOTA_BYTES: 'lots', JWKS_URL: '' }),
    (err: Error & { issues?: string[] }) => err.issues?.length === 3,
  );
});

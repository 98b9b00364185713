/**
 * Upload policy: which content types are accepted and how large, how filenames are cleaned, how
 * object keys are laid out. Pure functions, unit-tested without storage.
 */

const MiB = 1024 ** 2;

export type TypeLimits = Record<string, number>;

/** Defaults when MEDIA_TYPE_LIMITS is unset. SVG is left out on purpose: it can carry script. */
export const defaultTypeLimits: TypeLimits = {
  'image/png': 10 * MiB,
  'image/jpeg': 10 * MiB,
  'image/gif': 10 * MiB,
  'image/webp': 10 * MiB,
  'image/avif': 10 * MiB,
  'application/pdf': 25 * MiB,
  'audio/mpeg': 50 * MiB,
  'video/mp4': 500 * MiB,
  'video/webm': 500 * MiB,
  'video/quicktime': 500 * MiB,
};

const units: Record<string, number> = { '': 1, b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: MiB, gib: 1024 ** 3, tib: 1024 ** 4 };

/** `1048576`, `10MiB`, `1.5GB` → bytes; undefined when unparsable. */
export function parseBytes(s: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(s);
  if (!m) return undefined;
  const unit = units[(m[2] ?? '').toLowerCase()];
  if (unit === undefined) return undefined;
  const n = Math.floor(Number(m[1]) * unit);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

const mediaType = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/;

/** `image/png=10MiB,application/pdf=25MiB` (RFC 6838 type names) → limits; throws on a bad entry. */
export function parseTypeLimits(s: string): TypeLimits {
  const out: TypeLimits = {};
  for (const entry of s.split(',').map((x) => x.trim()).filter(Boolean)) {
    const [type, size] = entry.split('=').map((x) => x.trim());
    const n = size === undefined ? undefined : parseBytes(size);
    if (!type || !mediaType.test(type.toLowerCase()) || n === undefined) throw new Error(`bad MEDIA_TYPE_LIMITS entry: ${entry}`);
    out[type.toLowerCase()] = n;
  }
  if (Object.keys(out).length === 0) throw new Error('MEDIA_TYPE_LIMITS lists no type');
  return out;
}

/** `Image/PNG; charset=x` → `image/png`: parameters are not part of the policy key. */
export function normaliseContentType(ct: string): string {
  return (ct.split(';')[0] ?? '').trim().toLowerCase();
}

const MAX_FILENAME_BYTES = 200;
// C0/C1 controls, and the invisible format characters used for filename spoofing (bidi overrides such
// as U+202E turn "gpj.exe" into "exe.jpg" on screen; Unicode TR36 §2.1), zero-width chars and BOM.
const controls = /[\p{Cc}\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u206F\uFEFF]/gu;
// Characters Windows forbids in names, plus `%` so keys stay unambiguous after URL decoding.
const reserved = /[<>:"|?*%]/g;
const windowsDevice = /^(con|prn|aux|nul|com\d|lpt\d)(\.|$)/i;
// A UTF-16 surrogate without its pair (JSON may carry one as `\ud800`): no UTF-8 encoding exists, so
// it can be neither a key nor a header value (encodeURIComponent throws URIError).
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * A filename safe to store, show and put in an object key: well-formed Unicode (a lone surrogate
 * becomes U+FFFD), NFC (so visually equal names are equal
 * bytes), controls stripped, only the last path segment kept (no traversal: `../../x` → `x`), no
 * leading dots, capped at 200 UTF-8 bytes without splitting a code point and keeping the extension.
 */
export function sanitiseFilename(input: string): string {
  let name = input.replace(loneSurrogate, '\uFFFD').normalize('NFC').replace(controls, '');
  name = name.split(/[/\\]/).pop() ?? '';
  name = name.replace(reserved, '_').replace(/\s+/g, ' ').trim();
  name = name.replace(/^[.\s]+/, '').replace(/[.\s]+$/, '');
  if (windowsDevice.test(name)) name = `_${name}`;
  if (!name) name = 'file';
  return capUtf8(name, MAX_FILENAME_BYTES);
}

function capUtf8(name: string, max: number): string {
  if (Buffer.byteLength(name) <= max) return name;
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 && name.length - dot <= 16 ? name.slice(dot) : '';
  const budget = max - Buffer.byteLength(ext);
  let base = '';
  for (const ch of name.slice(0, name.length - ext.length)) {
    if (Buffer.byteLength(base + ch) > budget) break;
    base += ch;
  }
  return base + ext;
}

export type Visibility = 'public' | 'private';

/** Object key layout `visibility/userId/assetId/name` (issue spec): a public prefix a CDN can expose alone. */
export function objectKey(visibility: Visibility, userId: string, assetId: string, filename: string): string {
  return `${visibility}/${userId}/${assetId}/${filename}`;
}

/** Public URL of a key: each segment percent-encoded (RFC 3986 §3.3), slashes kept. */
export function publicUrl(baseUrl: string, key: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

/**
 * Content-Disposition for a stored filename (RFC 6266 §4.1, §4.3; RFC 8187 for `filename*`): an
 * ASCII `filename` for every agent, plus `filename*` with the exact UTF-8 name when it is not ASCII.
 *
 * `emulator`: @20minutes/s3rver canonicalises presigned query values with encodeURIComponent, which
 * leaves `!'()*` unescaped where SigV4 (RFC 3986) escapes them, so a presigned GET whose
 * response-content-disposition holds one of them fails with SignatureDoesNotMatch there (observed;
 * its lib/middleware/authentication.js). `filename*` needs `*` and `'`, so against the emulator the
 * header keeps the ASCII form only, with those characters replaced.
 */
export function contentDisposition(kind: 'inline' | 'attachment', filename: string, opts: { emulator?: boolean } = {}): string {
  let ascii = filename.normalize('NFKD').replace(/[^\x20-\x7e]/g, '').replace(/["\\]/g, '_').trim() || 'file';
  if (opts.emulator) ascii = ascii.replace(/[!'()*]/g, '_');
  const plain = `${kind}; filename="${ascii}"`;
  if (opts.emulator || ascii === filename) return plain;
  const encoded = encodeURIComponent(filename).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${plain}; filename*=UTF-8''${encoded}`;
}

/** Fixed part size for a multipart upload: the configured one, grown when 10 000 parts would not fit. */
export function planParts(size: number, configuredPartSize: number): { partSize: number; partCount: number } {
  const partSize = Math.max(configuredPartSize, Math.ceil(size / 10_000 / MiB) * MiB);
  return { partSize, partCount: Math.max(1, Math.ceil(size / partSize)) };
}

/** Byte size of part `n` (1-based): all equal but the last (R2's equal-part rule, docs/research/storage.md §3). */
export function partLength(size: number, partSize: number, n: number): number {
  return Math.min(partSize, size - (n - 1) * partSize);
}

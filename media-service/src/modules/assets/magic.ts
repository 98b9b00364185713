/**
 * Leading-byte signatures ("magic numbers") of the types we accept, so a file declared `image/png`
 * really starts like a PNG. Signatures: PNG spec §5.2, JFIF/JPEG SOI marker, GIF89a spec, RIFF/WebP
 * container spec, ISO BMFF `ftyp` box (ISO/IEC 14496-12 §4.3) with AVIF/HEIF/MP4/QuickTime brands,
 * EBML header for WebM, PDF 1.7 §7.5.2, MP3 ID3v2/frame sync.
 */

/** How many bytes the check reads with a ranged GET. */
export const SNIFF_BYTES = 64;

const ascii = (b: Uint8Array, at: number, s: string) => s.split('').every((c, i) => b[at + i] === c.charCodeAt(0));
const bytes = (b: Uint8Array, at: number, sig: number[]) => sig.every((v, i) => b[at + i] === v);

/** ISO BMFF: `size` `ftyp` major-brand minor-version compatible-brands…; returns every brand. */
function ftypBrands(b: Uint8Array): string[] {
  if (b.length < 12 || !ascii(b, 4, 'ftyp')) return [];
  const boxSize = ((b[0] ?? 0) << 24) | ((b[1] ?? 0) << 16) | ((b[2] ?? 0) << 8) | (b[3] ?? 0);
  const end = Math.min(b.length, boxSize >= 16 ? boxSize : b.length);
  const brands = [Buffer.from(b.subarray(8, 12)).toString('latin1')];
  for (let i = 16; i + 4 <= end; i += 4) brands.push(Buffer.from(b.subarray(i, i + 4)).toString('latin1'));
  return brands;
}

const hasBrand = (b: Uint8Array, wanted: string[]) => ftypBrands(b).some((x) => wanted.includes(x));

const checkers: Record<string, (b: Uint8Array) => boolean> = {
  'image/png': (b) => bytes(b, 0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  'image/jpeg': (b) => bytes(b, 0, [0xff, 0xd8, 0xff]),
  'image/gif': (b) => ascii(b, 0, 'GIF87a') || ascii(b, 0, 'GIF89a'),
  'image/webp': (b) => ascii(b, 0, 'RIFF') && ascii(b, 8, 'WEBP'),
  'image/avif': (b) => hasBrand(b, ['avif', 'avis']),
  'image/heic': (b) => hasBrand(b, ['heic', 'heix', 'heim', 'heis', 'mif1']),
  'image/bmp': (b) => ascii(b, 0, 'BM'),
  'image/tiff': (b) => bytes(b, 0, [0x49, 0x49, 0x2a, 0x00]) || bytes(b, 0, [0x4d, 0x4d, 0x00, 0x2a]),
  'image/x-icon': (b) => bytes(b, 0, [0x00, 0x00, 0x01, 0x00]),
  'image/vnd.microsoft.icon': (b) => bytes(b, 0, [0x00, 0x00, 0x01, 0x00]),
  'application/pdf': (b) => ascii(b, 0, '%PDF-'),
  'video/mp4': (b) => ftypBrands(b).length > 0,
  'video/quicktime': (b) => hasBrand(b, ['qt  ']) || ascii(b, 4, 'moov') || ascii(b, 4, 'wide') || ascii(b, 4, 'mdat'),
  'video/webm': (b) => bytes(b, 0, [0x1a, 0x45, 0xdf, 0xa3]),
  'audio/mpeg': (b) => ascii(b, 0, 'ID3') || ((b[0] ?? 0) === 0xff && ((b[1] ?? 0) & 0xe0) === 0xe0),
};

/** True when `type` has a known signature (so completing an upload of it costs one ranged GET). */
export function hasSignature(type: string): boolean {
  return type in checkers;
}

/** Whether the leading bytes fit the declared type; types without a known signature pass. */
export function matchesSignature(type: string, head: Uint8Array): boolean {
  const check = checkers[type];
  return check ? check(head) : true;
}

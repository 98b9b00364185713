import { Agent, request } from 'undici';
import type { PageFetcher } from './fetch.ts';

/**
 * Leading bytes of the raster types a preview image may be (PNG spec §5.2, JPEG SOI marker, GIF87a/89a,
 * RIFF/WebP container, ISO BMFF `ftyp` with an AVIF brand). Media checks the same again before it
 * stores anything (media-service/src/modules/assets/magic.ts); checking here first means an HTML
 * error page served as image/png is never sent across. SVG is never accepted: it can carry script.
 */
export function sniffImage(b: Uint8Array): string | undefined {
  const at = (i: number, s: string) => [...s].every((c, k) => b[i + k] === c.charCodeAt(0));
  if ([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a].every((v, i) => b[i] === v)) return 'image/png';
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
  if (at(0, 'GIF87a') || at(0, 'GIF89a')) return 'image/gif';
  if (at(0, 'RIFF') && at(8, 'WEBP')) return 'image/webp';
  if (at(4, 'ftyp') && (at(8, 'avif') || at(8, 'avis'))) return 'image/avif';
  return undefined;
}

export interface MediaClientOptions {
  /** media-service's private base URL (the launcher's MEDIA_URL), e.g. http://127.0.0.1:3002. */
  url: string;
  secret: string;
  timeoutMs: number;
}

export type StoredImage = { ok: true; assetId: string } | { ok: false; error: string; detail?: string };

/**
 * Stores preview images through media-service's internal route (POST /internal/preview-images):
 * media owns the bucket, the key layout and the `media.assets` row (public, owned by the link's
 * owner, in their quota), so this process holds no storage credentials and no media-schema rights.
 * The media URL is our own service, configured, never taken from a page: no SSRF guard on it.
 */
export class MediaClient {
  private readonly agent = new Agent({ connections: 4 });

  constructor(private readonly opts: MediaClientOptions) {}

  async store(ownerId: string, contentType: string, bytes: Buffer): Promise<StoredImage> {
    try {
      const res = await request(new URL(`/internal/preview-images?owner=${encodeURIComponent(ownerId)}`, this.opts.url), {
        method: 'POST',
        dispatcher: this.agent,
        headers: { 'content-type': contentType, 'x-linkport-internal-secret': this.opts.secret },
        body: bytes,
        signal: AbortSignal.timeout(this.opts.timeoutMs),
      });
      const text = await res.body.text();
      if (res.statusCode !== 201) {
        let code = `media_${res.statusCode}`;
        try {
          code = (JSON.parse(text) as { error?: { code?: string } }).error?.code ?? code;
        } catch {
          // Not our JSON error body: keep the status.
        }
        return { ok: false, error: 'media_refused', detail: code };
      }
      const id = (JSON.parse(text) as { id?: unknown }).id;
      return typeof id === 'string' ? { ok: true, assetId: id } : { ok: false, error: 'media_refused', detail: 'no id' };
    } catch (err) {
      return { ok: false, error: 'media_unavailable', detail: (err as Error).message.slice(0, 200) };
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

/**
 * og:image → a stored asset id: fetched through the page fetcher's SSRF guard (bounded), checked to
 * really be a raster image whose bytes match the declared type, then stored by media.
 */
export async function storePreviewImage(
  fetcher: PageFetcher,
  media: MediaClient,
  ownerId: string,
  imageUrl: string,
  maxBytes: number,
): Promise<StoredImage> {
  const got = await fetcher.fetchImage(imageUrl, maxBytes);
  if (!got.ok) return got;
  const sniffed = sniffImage(got.bytes.subarray(0, 32));
  // The bytes decide the type (servers often say image/jpeg for any image); a body that is no
  // accepted raster format — HTML, SVG, anything — is refused.
  if (!sniffed) return { ok: false, error: 'not_image', detail: `declared ${got.contentType}` };
  return media.store(ownerId, sniffed, got.bytes);
}

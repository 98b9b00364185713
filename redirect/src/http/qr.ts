import QRCode from 'qrcode';
import { LRUCache } from 'lru-cache';

/** QR codes of short URLs; rendering costs milliseconds, so each image is kept once rendered. */
export class QrRenderer {
  private readonly cache = new LRUCache<string, string | Buffer>({ max: 2_000 });

  async svg(url: string): Promise<string> {
    const key = `svg\0${url}`;
    const hit = this.cache.get(key);
    if (typeof hit === 'string') return hit;
    const out = await QRCode.toString(url, { type: 'svg', margin: 2, errorCorrectionLevel: 'M' });
    this.cache.set(key, out);
    return out;
  }

  async png(url: string): Promise<Buffer> {
    const key = `png\0${url}`;
    const hit = this.cache.get(key);
    if (Buffer.isBuffer(hit)) return hit;
    const out = await QRCode.toBuffer(url, { type: 'png', margin: 2, width: 512, errorCorrectionLevel: 'M' });
    this.cache.set(key, out);
    return out;
  }
}

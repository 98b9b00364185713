import { Agent, request, type Dispatcher } from 'undici';
import { checkLiteralHost, guardedLookup, type Resolver } from '../delivery/ssrf.ts';

export interface PageFetcherOptions {
  allowLoopback: boolean;
  /** The whole fetch, redirects included. */
  timeoutMs: number;
  /** Bytes of HTML read at most: the head is near the top, the rest is never downloaded. */
  maxBytes: number;
  maxRedirects?: number;
  resolve?: Resolver;
}

export type FetchedPage = { ok: true; url: string; html: string } | { ok: false; error: string; detail?: string };
export type FetchedImage = { ok: true; contentType: string; bytes: Buffer } | { ok: false; error: string; detail?: string };

/**
 * GET of a link's destination for its preview, with the webhooks' SSRF guard (delivery/ssrf.ts:
 * every connection's resolved address is checked in the connector's lookup, IP literals before the
 * request). Unlike a webhook delivery, redirects are followed — sites commonly send http → https or
 * to a canonical URL — but by hand, at most `maxRedirects`, each hop checked again the same way.
 */
export class PageFetcher {
  private readonly agent: Agent;

  constructor(private readonly opts: PageFetcherOptions) {
    this.agent = new Agent({
      connect: { timeout: Math.min(opts.timeoutMs, 5_000), lookup: guardedLookup({ allowLoopback: opts.allowLoopback, resolve: opts.resolve }) } as never,
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
      connections: 8,
    });
  }

  async fetch(url: string): Promise<FetchedPage> {
    const signal = AbortSignal.timeout(this.opts.timeoutMs);
    const opened = await this.open(url, 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.1', signal);
    if (!opened.ok) return opened;
    const { res, url: finalUrl } = opened;
    try {
      const type = String(res.headers['content-type'] ?? '');
      if (!/^\s*(text\/html|application\/xhtml\+xml)/i.test(type)) {
        await res.body.dump({ limit: 0 }).catch(() => undefined);
        return { ok: false, error: 'not_html', detail: type.slice(0, 100) };
      }
      return { ok: true, url: finalUrl, html: await readHead(res.body, this.opts.maxBytes) };
    } catch (err) {
      return classify(err, signal);
    }
  }

  /**
   * A page's preview image (og:image), through the same guard and redirect rules: only image/*
   * answers, at most `maxBytes` (a Content-Length above it is refused unread; a body growing past it
   * is cut off and refused — never truncated into a "valid" image). The bytes are checked by the
   * caller (image.ts sniffs the signature) and stored by media, never linked to.
   */
  async fetchImage(url: string, maxBytes: number): Promise<FetchedImage> {
    const signal = AbortSignal.timeout(this.opts.timeoutMs);
    const opened = await this.open(url, 'image/avif,image/webp,image/png,image/jpeg,image/gif;q=0.9', signal);
    if (!opened.ok) return opened;
    const { res } = opened;
    try {
      const type = String(res.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      if (!type.startsWith('image/')) {
        await res.body.dump({ limit: 0 }).catch(() => undefined);
        return { ok: false, error: 'not_image', detail: type.slice(0, 100) };
      }
      const declared = Number(res.headers['content-length'] ?? NaN);
      if (Number.isFinite(declared) && declared > maxBytes) {
        await res.body.dump({ limit: 0 }).catch(() => undefined);
        return { ok: false, error: 'image_too_large', detail: `${declared} bytes` };
      }
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > maxBytes) return { ok: false, error: 'image_too_large', detail: `over ${maxBytes} bytes` };
        chunks.push(chunk);
      }
      return { ok: true, contentType: type, bytes: Buffer.concat(chunks) };
    } catch (err) {
      return classify(err, signal);
    }
  }

  /** GET with redirects followed by hand, each hop checked; a 2xx response with its body unread. */
  private async open(url: string, accept: string, signal: AbortSignal): Promise<{ ok: true; url: string; res: Dispatcher.ResponseData } | { ok: false; error: string; detail?: string }> {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      return { ok: false, error: 'invalid_url' };
    }
    for (let hop = 0; ; hop++) {
      if (target.protocol !== 'http:' && target.protocol !== 'https:') return { ok: false, error: 'invalid_url' };
      const literal = checkLiteralHost(target, this.opts);
      if (literal) return { ok: false, error: 'ssrf_blocked', detail: literal.message };
      try {
        const res = await request(target, {
          method: 'GET',
          dispatcher: this.agent,
          headers: { accept, 'user-agent': 'Linkport-Preview/1 (+link previews)' },
          signal,
        });
        if (res.statusCode >= 300 && res.statusCode < 400 && res.headers.location) {
          await res.body.dump();
          if (hop >= (this.opts.maxRedirects ?? 3)) return { ok: false, error: 'too_many_redirects' };
          target = new URL(String(res.headers.location), target);
          continue;
        }
        if (res.statusCode < 200 || res.statusCode >= 300) {
          await res.body.dump();
          return { ok: false, error: `http_${res.statusCode}` };
        }
        return { ok: true, url: target.href, res };
      } catch (err) {
        return classify(err, signal);
      }
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

async function readHead(body: AsyncIterable<Buffer>, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      chunks.push(chunk);
      size += chunk.length;
      // Enough: leaving the loop destroys the stream, and the rest is never downloaded.
      if (size >= max) break;
    }
  } catch (err) {
    // An abort after the limit is ours; anything before it is the page's failure.
    if (size < max) throw err;
  }
  // Cut at the limit; a character split at the end is replaced, which no head metadata suffers from.
  return Buffer.concat(chunks).subarray(0, max).toString('utf8');
}

function classify(err: unknown, signal: AbortSignal): { ok: false; error: string; detail?: string } {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) {
    if ((e as { code?: string }).code === 'SSRF_BLOCKED') return { ok: false, error: 'ssrf_blocked', detail: (e as Error).message };
  }
  const e = err as { code?: string; name?: string; message?: string };
  if (signal.aborted || e.name === 'TimeoutError' || (e.code ?? '').endsWith('_TIMEOUT')) return { ok: false, error: 'timeout' };
  if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') return { ok: false, error: 'dns_error' };
  return { ok: false, error: 'connect_error', detail: `${e.code ?? e.name ?? 'error'}: ${e.message ?? ''}`.slice(0, 300) };
}

import { Agent, request } from 'undici';
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
          headers: { accept: 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.1', 'user-agent': 'Linkport-Preview/1 (+link previews)' },
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
        const type = String(res.headers['content-type'] ?? '');
        if (!/^\s*(text\/html|application\/xhtml\+xml)/i.test(type)) {
          await res.body.dump({ limit: 0 }).catch(() => undefined);
          return { ok: false, error: 'not_html', detail: type.slice(0, 100) };
        }
        return { ok: true, url: target.href, html: await readHead(res.body, this.opts.maxBytes) };
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

function classify(err: unknown, signal: AbortSignal): FetchedPage {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) {
    if ((e as { code?: string }).code === 'SSRF_BLOCKED') return { ok: false, error: 'ssrf_blocked', detail: (e as Error).message };
  }
  const e = err as { code?: string; name?: string; message?: string };
  if (signal.aborted || e.name === 'TimeoutError' || (e.code ?? '').endsWith('_TIMEOUT')) return { ok: false, error: 'timeout' };
  if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') return { ok: false, error: 'dns_error' };
  return { ok: false, error: 'connect_error', detail: `${e.code ?? e.name ?? 'error'}: ${e.message ?? ''}`.slice(0, 300) };
}

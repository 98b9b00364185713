import { Agent, request } from 'undici';
import { checkLiteralHost, guardedLookup, type Resolver } from './ssrf.ts';

export interface SenderOptions {
  allowLoopback: boolean;
  timeoutMs: number;
  /** Bytes of the response read at most; the rest is dropped and the connection closed. */
  maxResponseBytes: number;
  resolve?: Resolver;
}

export interface SendResult {
  ok: boolean;
  status?: number;
  /** Stable reason when not ok: http_<status>, redirect_not_followed, ssrf_blocked, timeout, connect_error… */
  error?: string;
  detail?: string;
  /** The first KiB of the response, for the delivery log. */
  body?: string;
  durationMs: number;
}

const LOG_BODY_BYTES = 1024;

/**
 * One POST to a user's endpoint, bounded in time (connect, headers, body, and the whole exchange)
 * and in response size, through an undici Agent whose connector resolves with the SSRF guard.
 * Redirects are not followed (undici's `request` never follows them): a 3xx is a failed attempt,
 * so a redirect can never lead a delivery into private space.
 */
export class WebhookSender {
  private readonly agent: Agent;

  constructor(private readonly opts: SenderOptions) {
    this.agent = new Agent({
      connect: { timeout: Math.min(opts.timeoutMs, 5_000), lookup: guardedLookup({ allowLoopback: opts.allowLoopback, resolve: opts.resolve }) } as never,
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
      keepAliveTimeout: 4_000,
      connections: 64,
    });
  }

  async send(url: string, headers: Record<string, string>, body: string): Promise<SendResult> {
    const started = performance.now();
    const done = (r: Omit<SendResult, 'durationMs'>): SendResult => ({ ...r, durationMs: Math.round(performance.now() - started) });
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      return done({ ok: false, error: 'invalid_url' });
    }
    if (target.protocol !== 'http:' && target.protocol !== 'https:') return done({ ok: false, error: 'invalid_url' });
    const literal = checkLiteralHost(target, this.opts);
    if (literal) return done({ ok: false, error: 'ssrf_blocked', detail: literal.message });
    const signal = AbortSignal.timeout(this.opts.timeoutMs);
    try {
      const res = await request(target, {
        method: 'POST',
        dispatcher: this.agent,
        headers: { 'content-type': 'application/json', 'user-agent': 'Linkport-Webhooks/1', ...headers },
        body,
        signal,
      });
      const text = await readBounded(res.body, this.opts.maxResponseBytes);
      const status = res.statusCode;
      if (status >= 200 && status < 300) return done({ ok: true, status, body: text });
      if (status >= 300 && status < 400) return done({ ok: false, status, error: 'redirect_not_followed', detail: `redirect to ${res.headers.location ? String(res.headers.location) : '(none)'} not followed`, body: text });
      return done({ ok: false, status, error: `http_${status}`, body: text });
    } catch (err) {
      return done(classify(err, signal));
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

async function readBounded(body: AsyncIterable<Buffer> & { destroy(): unknown }, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size <= LOG_BODY_BYTES) chunks.push(chunk);
    else if (chunks.length === 0 || Buffer.concat(chunks).length < LOG_BODY_BYTES) chunks.push(chunk);
    if (size >= max) {
      // Enough: the status is what matters; the rest of a huge answer is never read.
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, LOG_BODY_BYTES).toString('utf8');
}

function classify(err: unknown, signal: AbortSignal): Omit<SendResult, 'durationMs'> {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: string }).code;
    if (code === 'SSRF_BLOCKED') return { ok: false, error: 'ssrf_blocked', detail: (e as Error).message };
  }
  const e = err as { code?: string; name?: string; message?: string };
  if (signal.aborted || e.name === 'TimeoutError' || e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT' || e.code === 'UND_ERR_CONNECT_TIMEOUT') {
    return { ok: false, error: 'timeout', detail: e.message };
  }
  if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') return { ok: false, error: 'dns_error', detail: e.message };
  return { ok: false, error: 'connect_error', detail: `${e.code ?? e.name ?? 'error'}: ${e.message ?? ''}`.slice(0, 300) };
}

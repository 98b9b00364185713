import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AccessLogEntry } from '../accesslog.ts';

/** One request's state as it travels through a router's middleware chain to its service. */
export interface Ctx {
  req: IncomingMessage;
  /** For WebSocket upgrades this response is bound to the raw socket until the proxy takes over. */
  res: ServerResponse;
  upgrade?: { socket: Duplex; head: Buffer };
  /** Escaped path as the upstream will receive it ('' after stripping everything: sent as '/'). */
  rawPath: string;
  /** '' or '?…', untouched by path middlewares (src replacepath/replace_path.go). */
  rawQuery: string;
  clientIp: string;
  clientPort: number;
  scheme: 'http' | 'https';
  /** A request body already read (forwardAuth.forwardBody), replayed to the upstream. */
  body?: Buffer;
  /** customRequestHeaders `X-Forwarded-For: ""` suppresses the proxy's XFF append (src headers/header.go). */
  suppressXForwardedFor?: boolean;
  log: AccessLogEntry;
  /**
   * Set by the retry middleware: told about an upstream failure before anything was answered;
   * true means "I will send the request again", so the service writes no error.
   */
  upstreamFailed?: (err: NodeJS.ErrnoException) => boolean;
  /** Servers that already failed this request (retry): the balancer picks another while one is healthy. */
  avoid?: Set<string>;
  /** The hop-by-hop/X-Forwarded-For rewrite was done (a retried request must not get it twice). */
  forwardPrepared?: boolean;
  /** Response header modifiers; run innermost-first just before the status line is written. */
  onResponseHeaders: Array<(res: ServerResponse) => void>;
}

/**
 * A step of the chain. Synchronous steps return undefined and call `next` directly: a promise per
 * middleware per request is measurable at gateway rates, so only steps that really wait (forwardAuth,
 * a delayed rate limit) return one.
 */
export type Handler = (ctx: Ctx) => void | Promise<void>;
export type Middleware = (next: Handler) => Handler;

export function requestURI(ctx: Ctx): string {
  return (ctx.rawPath || '/') + ctx.rawQuery;
}

/** Go's `url.PathUnescape`, leniently: a malformed escape leaves the path as is. */
export function decodePath(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** Writes a complete plain-text answer the way Go's `http.Error` does. */
export function httpError(res: ServerResponse, status: number, body: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

/** Writes `body` with only what the caller set (Go `w.WriteHeader(code); w.Write(body)`, sniffed type). */
export function plainAnswer(res: ServerResponse, status: number, body: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.statusCode = status;
  if (body !== '' && !res.hasHeader('Content-Type')) res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

export const statusText: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  429: 'Too Many Requests',
  499: 'Client Closed Request',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

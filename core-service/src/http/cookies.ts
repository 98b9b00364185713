import type { FastifyReply, FastifyRequest } from 'fastify';

export const REFRESH_COOKIE = 'lp_refresh';
/** Sent only to the endpoints that consume it, never with ordinary API calls. */
export const REFRESH_COOKIE_PATH = '/v1/core/auth';

/**
 * httpOnly keeps it from scripts; SameSite=Lax keeps it off cross-site POSTs (the CSRF vector for a
 * cookie-authenticated refresh); Secure whenever the public origin is https (RFC 6265bis §4.1.2).
 */
export function setRefreshCookie(reply: FastifyReply, token: string, maxAgeSeconds: number, secure: boolean): void {
  void reply.setCookie(REFRESH_COOKIE, token, { httpOnly: true, secure, sameSite: 'lax', path: REFRESH_COOKIE_PATH, maxAge: maxAgeSeconds });
}

export function clearRefreshCookie(reply: FastifyReply, secure: boolean): void {
  void reply.clearCookie(REFRESH_COOKIE, { httpOnly: true, secure, sameSite: 'lax', path: REFRESH_COOKIE_PATH });
}

export function refreshCookie(req: FastifyRequest): string | undefined {
  const v = req.cookies[REFRESH_COOKIE];
  return v && v.length <= 200 ? v : undefined;
}

/** RFC 6749 §5.1: responses carrying tokens must not be cached. */
export function noStore(reply: FastifyReply): void {
  void reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
}

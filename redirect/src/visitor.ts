import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Visitor hashes: HMAC-SHA256 over IP and user agent, keyed by a salt derived from the secret and
 * the UTC date. Unique visitors count per day, the raw IP is never stored (DESIGN.md), and hashes of
 * different days cannot be joined — the approach Plausible documents for cookieless counting.
 */
export class VisitorHasher {
  private day = '';
  private salt: Buffer = Buffer.alloc(0);

  constructor(private readonly secret: string) {}

  hash(ip: string, userAgent: string, now = Date.now()): string {
    const day = new Date(now).toISOString().slice(0, 10);
    if (day !== this.day) {
      this.day = day;
      this.salt = createHmac('sha256', this.secret).update(`visitor-salt:${day}`).digest();
    }
    return createHmac('sha256', this.salt).update(ip).update('\n').update(userAgent).digest('base64url').slice(0, 32);
  }
}

/**
 * Password cookies: `<expiry seconds>.<mac>` where the MAC covers the code, the expiry and the
 * link's password tag, so a cookie works for one link, for a limited time, and until the password
 * changes.
 */
export class PasswordCookies {
  constructor(
    private readonly secret: string,
    private readonly ttlS: number,
  ) {}

  static cookieName(code: string): string {
    return `lp_pw_${code}`;
  }

  private mac(code: string, exp: number, tag: string): Buffer {
    return createHmac('sha256', this.secret).update(`pw\0${code}\0${exp}\0${tag}`).digest();
  }

  issue(code: string, tag: string, now = Date.now()): { value: string; maxAge: number } {
    const exp = Math.floor(now / 1000) + this.ttlS;
    return { value: `${exp}.${this.mac(code, exp, tag).toString('base64url')}`, maxAge: this.ttlS };
  }

  verify(code: string, tag: string, value: string | undefined, now = Date.now()): boolean {
    if (!value) return false;
    const dot = value.indexOf('.');
    if (dot <= 0) return false;
    const exp = Number(value.slice(0, dot));
    if (!Number.isSafeInteger(exp) || exp * 1000 <= now) return false;
    const given = Buffer.from(value.slice(dot + 1), 'base64url');
    const want = this.mac(code, exp, tag);
    return given.length === want.length && timingSafeEqual(given, want);
  }
}

export function newVisitorId(): string {
  return randomBytes(12).toString('base64url');
}

/** Minimal Cookie header lookup (RFC 6265 §5.4 syntax); the hot path needs one or two names. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

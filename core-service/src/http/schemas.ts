import { z } from 'zod';
import { hasForbiddenChars, normalizeEmail, normalizeName } from '../lib/text.ts';

/** common's error body (errors.ts `ErrorBody`), declared so every route documents and serialises it. */
export const ErrorResponse = z
  .object({
    error: z.object({
      code: z.string().describe('Stable machine-readable code, e.g. INVALID_CREDENTIALS'),
      message: z.string(),
      details: z.unknown().optional(),
      requestId: z.string().optional(),
    }),
  })
  .meta({ id: 'Error' });

export function errors<const C extends number>(...codes: C[]): Record<C, typeof ErrorResponse> {
  return Object.fromEntries(codes.map((c) => [c, ErrorResponse])) as Record<C, typeof ErrorResponse>;
}

/**
 * local@domain with a dotted domain of letter/digit/hyphen labels (RFC 5321 §4.1.2; Unicode letters
 * for RFC 6531 addresses), no whitespace, controls or invisible characters anywhere. Deliberately
 * stricter than RFC 5322 (no quoted local parts, no IP literals): these are login names.
 */
const emailShape = /^[^\s@"(),:;<>[\]\\]{1,64}@(?=.{1,253}$)(?:[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?\.)+[\p{L}]{2,63}$/u;

/** RFC 5321 §4.5.3.1.3 caps a path at 256 octets, so a usable address is at most 254 characters. */
export const Email = z
  .string()
  .max(320)
  .transform(normalizeEmail)
  .pipe(
    z
      .string()
      .max(254)
      .refine((e) => emailShape.test(e) && !hasForbiddenChars(e), 'Invalid email address'),
  )
  .describe('Trimmed, NFC-normalised and lower-cased before use');

/** NIST SP 800-63B §3.1.1.2: at least 8 characters, accept long passphrases and any character. */
export const Password = z.string().min(8, 'At least 8 characters').max(256);

export const DisplayName = z
  .string()
  .max(400)
  .transform(normalizeName)
  .pipe(
    z
      .string()
      .min(1, 'Must not be blank')
      .refine((s) => [...s].length <= 100, 'At most 100 characters')
      .refine((s) => !hasForbiddenChars(s), 'Contains control, bidi-override or invisible characters'),
  );

export const Timestamp = z.iso.datetime({ offset: true });

export const User = z
  .object({
    id: z.uuid(),
    email: z.string(),
    display_name: z.string().nullable(),
    role: z.enum(['user', 'admin']),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .meta({ id: 'User' });
export type UserOut = z.output<typeof User>;

export function toUserOut(u: { id: string; email: string; display_name: string | null; role: 'user' | 'admin'; created_at: Date; updated_at: Date }): UserOut {
  return {
    id: u.id,
    email: u.email,
    display_name: u.display_name,
    role: u.role,
    created_at: u.created_at.toISOString(),
    updated_at: u.updated_at.toISOString(),
  };
}

/** RFC 6749 §5.1 successful response field names. */
export const TokenResponse = z
  .object({
    access_token: z.string(),
    token_type: z.literal('Bearer'),
    expires_in: z.number().int().describe('Access token lifetime in seconds'),
    refresh_token: z.string().describe('Opaque; also set as an httpOnly cookie scoped to /v1/core/auth'),
    refresh_expires_in: z.number().int(),
  })
  .meta({ id: 'TokenResponse' });

export const bearerSecurity = [{ bearerAuth: [] }];

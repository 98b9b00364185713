import { createHash, randomBytes } from 'node:crypto';

/** 256 bits from the CSPRNG, base64url (RFC 4648 §5): opaque refresh tokens and API key bodies. */
export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/**
 * Refresh tokens and API keys are high-entropy random strings, so a plain SHA-256 at rest is enough:
 * a slow password hash only protects guessable secrets, and these are looked up on the hot path.
 */
export function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

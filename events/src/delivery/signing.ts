import { createHmac } from 'node:crypto';

/**
 * Standard Webhooks signatures (github.com/standard-webhooks/standard-webhooks, spec/standard-webhooks.md
 * "Signature scheme"): HMAC-SHA256 over `${webhook-id}.${webhook-timestamp}.${body}` with the
 * base64-decoded part of a `whsec_` secret, sent as `v1,<base64>`; several signatures are
 * space-separated, which is how a secret rotation keeps both the old and the new secret valid.
 */
export const SECRET_PREFIX = 'whsec_';

export function secretKey(secret: string): Buffer {
  return Buffer.from(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret, 'base64');
}

export function sign(secret: string, id: string, timestampSeconds: number, body: string): string {
  return `v1,${createHmac('sha256', secretKey(secret)).update(`${id}.${timestampSeconds}.${body}`).digest('base64')}`;
}

export interface SigningSecrets {
  secret: string;
  /** The secret a rotation replaced, while it is still valid. */
  previous?: string | null;
}

/** The three Standard Webhooks headers for one attempt (the timestamp is the attempt's, not the event's). */
export function webhookHeaders(secrets: SigningSecrets, id: string, timestampSeconds: number, body: string): Record<string, string> {
  const sigs = [sign(secrets.secret, id, timestampSeconds, body)];
  if (secrets.previous) sigs.push(sign(secrets.previous, id, timestampSeconds, body));
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': sigs.join(' '),
  };
}

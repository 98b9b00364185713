import { randomBytes } from 'node:crypto';

/**
 * An S3 error answer: status, S3 error code and message, extra elements. The codes and messages
 * are the ones S3 documents ("Error responses", List of error codes) so SDKs map them the same way
 * (e.g. `AccessDenied` 403, `SignatureDoesNotMatch` 403, `PreconditionFailed` 412).
 */
export class S3Error extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, string> = {},
  ) {
    super(message);
  }
}

const escapeXml = (s: string) =>
  s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] ?? c);

export function newRequestId(): string {
  return randomBytes(8).toString('hex').toUpperCase();
}

/** `<Error><Code>…</Code><Message>…</Message>…<RequestId>…</RequestId></Error>`, as S3 answers. */
export function errorXml(err: S3Error, requestId: string): string {
  const extra = Object.entries(err.extra)
    .map(([k, v]) => `<${k}>${escapeXml(v)}</${k}>`)
    .join('');
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${escapeXml(err.code)}</Code><Message>${escapeXml(err.message)}</Message>${extra}<RequestId>${requestId}</RequestId></Error>`
  );
}

export const accessDenied = (message = 'Access Denied', extra?: Record<string, string>) => new S3Error(403, 'AccessDenied', message, extra);

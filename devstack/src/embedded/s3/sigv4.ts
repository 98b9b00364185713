import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { getCanonicalQuery, getSigningKey } from '@smithy/signature-v4';
import { S3Error, accessDenied } from './errors.ts';

/**
 * Server-side AWS Signature Version 4 check for S3 requests (AWS docs "Authenticating Requests:
 * Using the Authorization Header" and "…: Using Query Parameters", the S3 API reference). The
 * encoding-sensitive parts are the AWS SDK's own: the canonical query string is
 * @smithy/signature-v4's getCanonicalQuery (RFC 3986 escaping, sorted, X-Amz-Signature left out)
 * and the signing key its getSigningKey (the HMAC chain over date/region/service/aws4_request).
 */

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export type Query = Record<string, string | string[]>;

export interface SignedRequest {
  method: string;
  /** The path exactly as sent: S3 signs it URI-encoded once (the SDK's `uriEscapePath: false`). */
  rawPath: string;
  /** Decoded query parameters (repeated names as arrays). */
  query: Query;
  /** Node's `headersDistinct`: lower-case names, every value of repeated headers. */
  headers: Record<string, string[] | undefined>;
}

export interface VerifyOptions {
  credentials: Credentials;
  /** Regions the credential scope may name: R2 signs `auto` and aliases `us-east-1` to it. */
  regions: string[];
  now: number;
}

export type AuthResult =
  | { kind: 'anonymous' }
  | {
      kind: 'signed';
      via: 'header' | 'query';
      /** The payload hash the signature covers: a hex SHA-256, or one of the S3 sentinels. */
      payloadHash: string;
    };

export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
export const STREAMING_PAYLOAD = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
/** Query parameters that carry the signature itself: removed before the request goes on. */
export const AUTH_QUERY_PARAMS = new Set([
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-Expires',
  'X-Amz-SignedHeaders',
  'X-Amz-Signature',
  'X-Amz-Security-Token',
]);
const FIFTEEN_MINUTES = 15 * 60 * 1000;
/** S3: "X-Amz-Expires must be less than a week (in seconds)". */
const MAX_EXPIRES = 604_800;

/** node:crypto behind the constructor shape @smithy/signature-v4 expects. */
type SourceData = string | ArrayBuffer | ArrayBufferView;
const bytes = (d: SourceData): string | Uint8Array =>
  typeof d === 'string' ? d : d instanceof ArrayBuffer ? new Uint8Array(d) : new Uint8Array(d.buffer, d.byteOffset, d.byteLength);

export class NodeSha256 {
  private readonly h;
  constructor(secret?: SourceData) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: SourceData): void {
    this.h.update(bytes(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.h.digest()));
  }
}

const one = (q: Query, k: string): string | undefined => {
  const v = q[k];
  return Array.isArray(v) ? v[0] : v;
};
const header = (r: SignedRequest, name: string): string | undefined => r.headers[name]?.join(',');

/** `yyyyMMdd'T'HHmmss'Z'` → epoch ms, or NaN. */
function parseAmzDate(s: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return NaN;
  const [, y, mo, d, h, mi, se] = m.map(Number) as [number, number, number, number, number, number, number];
  return Date.UTC(y, mo - 1, d, h, mi, se);
}
const toAmzDate = (ms: number) => new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');

/** Spec "canonical headers": lower-case name, value trimmed with inner runs of spaces collapsed. */
function canonicalHeaders(r: SignedRequest, signed: string[]): string {
  return signed.map((name) => `${name}:${(r.headers[name] ?? []).map((v) => v.trim().replace(/\s+/g, ' ')).join(',')}\n`).join('');
}

interface Parsed {
  via: 'header' | 'query';
  accessKeyId: string;
  scope: { date: string; region: string; service: string; terminator: string };
  scopeText: string;
  amzDate: string;
  signedHeaders: string[];
  signature: string;
  payloadHash: string;
}

function parseScope(credential: string, malformed: (m: string) => S3Error) {
  const parts = credential.split('/');
  if (parts.length !== 5) throw malformed(`the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`);
  const [accessKeyId, date, region, service, terminator] = parts as [string, string, string, string, string];
  return { accessKeyId, scope: { date, region, service, terminator }, scopeText: parts.slice(1).join('/') };
}

function parseHeaderAuth(r: SignedRequest, authorization: string, now: number): Parsed {
  const malformed = (m: string) => new S3Error(400, 'AuthorizationHeaderMalformed', `The authorization header is malformed; ${m}`);
  const space = authorization.indexOf(' ');
  const algorithm = space < 0 ? authorization : authorization.slice(0, space);
  if (algorithm !== 'AWS4-HMAC-SHA256') {
    // R2 implements SigV4 only; S3 refuses V2 in every region opened since 2014.
    throw new S3Error(400, 'InvalidRequest', 'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.');
  }
  const fields = new Map<string, string>();
  for (const part of authorization.slice(space + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) throw malformed('each component must be name=value.');
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (fields.size !== 3 || !credential || !signedHeaders || !signature) {
    throw malformed('the authorization header requires three components: Credential, SignedHeaders, and Signature.');
  }
  const payloadHash = header(r, 'x-amz-content-sha256');
  if (payloadHash === undefined) throw new S3Error(400, 'InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
  if (!/^(UNSIGNED-PAYLOAD|STREAMING-AWS4-HMAC-SHA256-PAYLOAD|[0-9a-fA-F]{64})$/.test(payloadHash)) {
    throw new S3Error(400, 'InvalidArgument', 'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, or a valid sha256 value.', {
      ArgumentName: 'x-amz-content-sha256',
      ArgumentValue: payloadHash,
    });
  }
  // SigV4 takes the time from x-amz-date, else from the Date header (RFC 7231 IMF-fixdate).
  const xAmzDate = header(r, 'x-amz-date');
  const dateHeader = header(r, 'date');
  const time = xAmzDate !== undefined ? parseAmzDate(xAmzDate) : dateHeader !== undefined ? Date.parse(dateHeader) : NaN;
  if (Number.isNaN(time)) throw accessDenied('AWS authentication requires a valid Date or x-amz-date header');
  if (Math.abs(now - time) > FIFTEEN_MINUTES) {
    throw new S3Error(403, 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.', {
      RequestTime: xAmzDate ?? dateHeader ?? '',
      ServerTime: new Date(now).toISOString(),
      MaxAllowedSkewMilliseconds: String(FIFTEEN_MINUTES),
    });
  }
  const { accessKeyId, scope, scopeText } = parseScope(credential, malformed);
  return {
    via: 'header',
    accessKeyId,
    scope,
    scopeText,
    amzDate: xAmzDate ?? toAmzDate(time),
    signedHeaders: signedHeaders.split(';'),
    signature,
    payloadHash,
  };
}

function parseQueryAuth(r: SignedRequest, now: number): Parsed {
  const bad = (m: string) => new S3Error(400, 'AuthorizationQueryParametersError', m);
  if (one(r.query, 'X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256') throw bad('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"');
  const credential = one(r.query, 'X-Amz-Credential');
  const amzDate = one(r.query, 'X-Amz-Date');
  const expires = one(r.query, 'X-Amz-Expires');
  const signedHeaders = one(r.query, 'X-Amz-SignedHeaders');
  const signature = one(r.query, 'X-Amz-Signature');
  if (!credential || !amzDate || !expires || !signedHeaders || !signature) {
    throw bad(
      'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
    );
  }
  const time = parseAmzDate(amzDate);
  if (Number.isNaN(time)) throw bad("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"");
  if (!/^\d{1,7}$/.test(expires)) throw bad('X-Amz-Expires should be a number');
  const ttl = Number(expires);
  if (ttl < 1) throw bad('X-Amz-Expires must be non-negative');
  if (ttl > MAX_EXPIRES) throw bad('X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds');
  // S3 refuses a URL dated in the future beyond the skew allowance, and one past its expiry.
  if (time - now > FIFTEEN_MINUTES) throw accessDenied('Request is not valid yet');
  if (now > time + ttl * 1000) {
    throw accessDenied('Request has expired', {
      'X-Amz-Expires': expires,
      Expires: new Date(time + ttl * 1000).toISOString(),
      ServerTime: new Date(now).toISOString(),
    });
  }
  const { accessKeyId, scope, scopeText } = parseScope(credential, bad);
  return {
    via: 'query',
    accessKeyId,
    scope,
    scopeText,
    amzDate,
    signedHeaders: signedHeaders.split(';'),
    signature,
    // A presigned URL cannot know its body: S3 signs UNSIGNED-PAYLOAD unless the URL says otherwise.
    payloadHash: one(r.query, 'X-Amz-Content-Sha256') ?? UNSIGNED_PAYLOAD,
  };
}

/**
 * Which authentication a request attempts, checked. Throws S3Error for a malformed, expired,
 * unknown-key or mismatching signature; returns `anonymous` when it carries none at all.
 */
export async function verifySigV4(r: SignedRequest, o: VerifyOptions): Promise<AuthResult> {
  const authorization = header(r, 'authorization');
  const viaQuery = ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature'].some((k) => k in r.query);
  const v2Query = 'Signature' in r.query || 'AWSAccessKeyId' in r.query;
  if (authorization === undefined && !viaQuery && !v2Query) return { kind: 'anonymous' };
  if ([authorization !== undefined, viaQuery, v2Query].filter(Boolean).length > 1) {
    throw new S3Error(
      400,
      'InvalidArgument',
      'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified',
      { ArgumentName: 'Authorization' },
    );
  }
  if (v2Query) throw new S3Error(400, 'InvalidRequest', 'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.');
  const p = authorization !== undefined ? parseHeaderAuth(r, authorization, o.now) : parseQueryAuth(r, o.now);

  if (p.accessKeyId !== o.credentials.accessKeyId) {
    throw new S3Error(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.', { AWSAccessKeyId: p.accessKeyId });
  }
  const malformed = (m: string) =>
    p.via === 'header'
      ? new S3Error(400, 'AuthorizationHeaderMalformed', `The authorization header is malformed; ${m}`)
      : new S3Error(400, 'AuthorizationQueryParametersError', `Error parsing the X-Amz-Credential parameter; ${m}`);
  if (p.scope.date !== p.amzDate.slice(0, 8)) throw malformed('Invalid credential date. Date is not the same as X-Amz-Date.');
  if (!o.regions.includes(p.scope.region)) throw malformed(`the region '${p.scope.region}' is wrong; expecting '${o.regions[0] ?? 'auto'}'`);
  if (p.scope.service !== 's3') throw malformed(`incorrect service '${p.scope.service}'. This endpoint belongs to 's3'.`);
  if (p.scope.terminator !== 'aws4_request') throw malformed(`incorrect terminal '${p.scope.terminator}'. This endpoint uses 'aws4_request'.`);

  // The spec wants SignedHeaders lower-case, sorted, and including host; a list that is not cannot
  // have been produced by a conforming signer.
  const signed = p.signedHeaders;
  const sorted = [...signed].sort();
  if (signed.some((h, i) => h !== h.toLowerCase() || h !== sorted[i] || h === '') || new Set(signed).size !== signed.length) {
    throw malformed('SignedHeaders must be lower-case, sorted and unique.');
  }
  if (!signed.includes('host')) throw accessDenied('There were headers present in the request which were not signed', { HeadersNotSigned: 'host' });
  // S3: every x-amz-* header sent must be signed, or it could be added to a captured request —
  // e.g. x-amz-copy-source turns a presigned PUT into a copy of another object.
  const unsigned = Object.keys(r.headers).filter((h) => h.startsWith('x-amz-') && !signed.includes(h));
  if (unsigned.length) throw accessDenied('There were headers present in the request which were not signed', { HeadersNotSigned: unsigned.join(', ') });

  const canonicalRequest = [
    r.method,
    r.rawPath,
    getCanonicalQuery({ query: r.query } as Parameters<typeof getCanonicalQuery>[0]),
    canonicalHeaders(r, signed),
    signed.join(';'),
    p.payloadHash,
  ].join('\n');
  const stringToSign = ['AWS4-HMAC-SHA256', p.amzDate, p.scopeText, createHash('sha256').update(canonicalRequest).digest('hex')].join('\n');
  const key = await getSigningKey(NodeSha256, o.credentials, p.scope.date, p.scope.region, p.scope.service);
  const expected = createHmac('sha256', key).update(stringToSign).digest();
  const given = /^[0-9a-f]{64}$/.test(p.signature) ? Buffer.from(p.signature, 'hex') : Buffer.alloc(0);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new S3Error(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.', {
      AWSAccessKeyId: p.accessKeyId,
      StringToSign: stringToSign,
      CanonicalRequest: canonicalRequest,
    });
  }
  return { kind: 'signed', via: p.via, payloadHash: p.payloadHash };
}

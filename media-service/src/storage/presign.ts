import type { S3Client } from '@aws-sdk/client-s3';
import { S3RequestPresigner } from '@aws-sdk/s3-request-presigner';

/** RFC 3986 unreserved-only encoding, as SigV4 requires (encodeURIComponent leaves `!'()*`). */
export function strictEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * Presigns path-style object requests without the client's middleware stack. `getSignedUrl` runs
 * the whole command pipeline (endpoint rule-set evaluation, serialisers) for a purely local HMAC:
 * measured on the 2-CPU build machine, ~1.3 ms per URL against ~0.35 ms for the signer alone. The
 * request is built the way the SDK builds it for `forcePathStyle` (`/bucket/key`, each key segment
 * strictly encoded; S3 signs the path without double-encoding: `uriEscapePath: false`), and signed
 * by the SDK's own S3RequestPresigner. test/presign-equivalence.test.ts checks the URLs are
 * byte-identical to getSignedUrl's for the same signing date.
 */
export class PathStylePresigner {
  private readonly presigner: S3RequestPresigner;
  private readonly endpoint: URL;

  constructor(
    client: S3Client,
    endpoint: string,
    private readonly bucket: string,
  ) {
    this.presigner = new S3RequestPresigner({ ...client.config });
    this.endpoint = new URL(endpoint);
  }

  async presign(o: {
    method: 'GET' | 'PUT';
    /** The S3 operation, which the SDK records as `x-id`. */
    operation: 'GetObject' | 'PutObject' | 'UploadPart';
    key: string;
    query?: Record<string, string>;
    headers?: Record<string, string>;
    expiresIn: number;
    signingDate?: Date;
    unhoistableHeaders?: Set<string>;
  }): Promise<string> {
    const e = this.endpoint;
    const port = e.port ? Number(e.port) : undefined;
    const basePath = e.pathname.replace(/\/+$/, '');
    const request = {
      method: o.method,
      protocol: e.protocol,
      hostname: e.hostname,
      ...(port === undefined ? {} : { port }),
      path: `${basePath}/${this.bucket}/${o.key.split('/').map(strictEncode).join('/')}`,
      // `x-id` is what the SDK's serialiser adds for the operation; kept so URLs stay identical.
      query: { ...(o.query ?? {}), 'x-id': o.operation } as Record<string, string>,
      headers: { host: e.host, ...(o.headers ?? {}) } as Record<string, string>,
    };
    const signed = await this.presigner.presign(request as never, {
      expiresIn: o.expiresIn,
      signableHeaders: new Set(Object.keys(o.headers ?? {})),
      ...(o.signingDate ? { signingDate: o.signingDate } : {}),
      ...(o.unhoistableHeaders ? { unhoistableHeaders: o.unhoistableHeaders } : {}),
    });
    const query = Object.entries(signed.query ?? {})
      .flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, x]) : [[k, v]]))
      .sort(([a], [b]) => (String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0))
      .map(([k, v]) => (v === null || v === undefined ? strictEncode(String(k)) : `${strictEncode(String(k))}=${strictEncode(String(v))}`))
      .join('&');
    return `${e.protocol}//${e.host}${signed.path}${query ? `?${query}` : ''}`;
  }
}

import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { ServiceUnavailableError } from '@linkport/common';
import type { PathStylePresigner } from './presign.ts';

export interface PresignedRequest {
  method: 'PUT' | 'GET';
  url: string;
  /** Headers the client must send exactly as given: they are part of the signature. */
  headers: Record<string, string>;
  expiresAt: Date;
}

export interface ObjectHead {
  size: number;
  contentType: string | undefined;
  etag: string | undefined;
}

/** Errors storage answers that are about the request, not an outage. */
export class StorageRequestError extends Error {
  constructor(
    override readonly name: string,
    readonly status: number | undefined,
    message: string,
  ) {
    super(message);
  }
}

const statusOf = (err: unknown) => (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
const nameOf = (err: unknown) => (err as { name?: string }).name ?? 'Error';

/**
 * The storage operations media-service needs, on one bucket. Presigning is local (no request): it
 * signs `content-type` and `content-length` explicitly, because @aws-sdk/s3-request-presigner marks
 * content-type unsignable by default and so would let a client upload anything (docs/research/storage.md §3
 * "Enforcing size and content type"; aws-sdk-js-v3#3497). A PUT signature cannot express a range,
 * so it pins the exact size the policy accepted.
 */
export class Storage {
  constructor(
    readonly client: S3Client,
    readonly bucket: string,
    /** See policy.contentDisposition's `emulator` option. */
    readonly emulatorCompat = false,
    /** The fast path for PUT/GET URLs when the endpoint is path-style (presign.ts). */
    private readonly fast?: PathStylePresigner,
  ) {}

  async presignPut(o: { key: string; contentType: string; size: number; checksumSha256?: string; expiresIn: number }): Promise<PresignedRequest> {
    // `if-none-match: *` makes the URL create-only (R2 docs `r2/api/s3/conditional-operations`; S3
    // "conditional writes"): once the object exists — in particular after complete verified it —
    // replaying the still-valid URL gets 412 instead of swapping unverified bytes under a ready asset.
    // The local S3 (devstack's access front before s3rver) enforces the precondition too.
    const headers: Record<string, string> = { 'content-type': o.contentType, 'content-length': String(o.size), 'if-none-match': '*' };
    // A signed x-amz-checksum-sha256 pins the content itself; it must stay a header (not hoisted to
    // the query) so storage verifies the body against it (docs/research/storage.md §3 "Checksums").
    if (o.checksumSha256) headers['x-amz-checksum-sha256'] = o.checksumSha256;
    const unhoistable = o.checksumSha256 ? { unhoistableHeaders: new Set(['x-amz-checksum-sha256']) } : {};
    const expiresAt = new Date(Date.now() + o.expiresIn * 1000);
    if (this.fast) {
      const url = await this.fast.presign({ method: 'PUT', operation: 'PutObject', key: o.key, headers, expiresIn: o.expiresIn, ...unhoistable });
      return { method: 'PUT', url, headers, expiresAt };
    }
    const command = new PutObjectCommand({
      Bucket: this.bucket,
      Key: o.key,
      ContentType: o.contentType,
      ContentLength: o.size,
      IfNoneMatch: '*',
      ...(o.checksumSha256 ? { ChecksumSHA256: o.checksumSha256 } : {}),
    });
    const url = await getSignedUrl(this.client, command, { expiresIn: o.expiresIn, signableHeaders: new Set(Object.keys(headers)), ...unhoistable });
    return { method: 'PUT', url, headers, expiresAt };
  }

  async presignPart(o: { key: string; uploadId: string; partNumber: number; size: number; expiresIn: number }): Promise<PresignedRequest> {
    const headers = { 'content-length': String(o.size) };
    const expiresAt = new Date(Date.now() + o.expiresIn * 1000);
    if (this.fast) {
      const query = { partNumber: String(o.partNumber), uploadId: o.uploadId };
      return { method: 'PUT', url: await this.fast.presign({ method: 'PUT', operation: 'UploadPart', key: o.key, query, headers, expiresIn: o.expiresIn }), headers, expiresAt };
    }
    const command = new UploadPartCommand({
      Bucket: this.bucket,
      Key: o.key,
      UploadId: o.uploadId,
      PartNumber: o.partNumber,
      ContentLength: o.size,
    });
    // Signing each part's exact length enforces R2's equal-part-size rule at upload time instead of
    // failing at CompleteMultipartUpload ("All non-trailing parts must have the same length").
    const url = await getSignedUrl(this.client, command, { expiresIn: o.expiresIn, signableHeaders: new Set(['content-length']) });
    return { method: 'PUT', url, headers, expiresAt };
  }

  async presignGet(o: { key: string; contentDisposition: string; contentType: string; expiresIn: number }): Promise<PresignedRequest> {
    const expiresAt = new Date(Date.now() + o.expiresIn * 1000);
    if (this.fast) {
      const query = { 'response-content-disposition': o.contentDisposition, 'response-content-type': o.contentType };
      return { method: 'GET', url: await this.fast.presign({ method: 'GET', operation: 'GetObject', key: o.key, query, expiresIn: o.expiresIn }), headers: {}, expiresAt };
    }
    const command = new GetObjectCommand({
      Bucket: this.bucket,
      Key: o.key,
      ResponseContentDisposition: o.contentDisposition,
      ResponseContentType: o.contentType,
    });
    const url = await getSignedUrl(this.client, command, { expiresIn: o.expiresIn });
    return { method: 'GET', url, headers: {}, expiresAt };
  }

  /** undefined when the object does not exist. */
  async head(key: string): Promise<ObjectHead | undefined> {
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { size: r.ContentLength ?? -1, contentType: r.ContentType, etag: r.ETag };
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw unavailable(err);
    }
  }

  /** The first `n` bytes (HTTP range request, RFC 9110 §14). */
  async readHead(key: string, n: number): Promise<Uint8Array> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: `bytes=0-${n - 1}` }));
      const body = r.Body ? await r.Body.transformToByteArray() : new Uint8Array();
      return body.subarray(0, n);
    } catch (err) {
      throw unavailable(err);
    }
  }

  /** Idempotent: deleting a missing object succeeds. */
  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (err) {
      if (statusOf(err) === 404) return;
      throw unavailable(err);
    }
  }

  async createMultipart(key: string, contentType: string): Promise<string> {
    try {
      const r = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key, ContentType: contentType }));
      if (!r.UploadId) throw new Error('CreateMultipartUpload returned no UploadId');
      return r.UploadId;
    } catch (err) {
      throw unavailable(err);
    }
  }

  /** Throws StorageRequestError when storage refuses the part list (bad ETag, missing part…). */
  async completeMultipart(key: string, uploadId: string, parts: Array<{ partNumber: number; etag: string }>): Promise<void> {
    try {
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: p.etag })) },
        }),
      );
    } catch (err) {
      const status = statusOf(err);
      if (status !== undefined && status >= 400 && status < 500) throw new StorageRequestError(nameOf(err), status, (err as Error).message);
      throw unavailable(err);
    }
  }

  /** Idempotent: an unknown (already completed or aborted) upload is fine. */
  async abortMultipart(key: string, uploadId: string): Promise<void> {
    try {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }));
    } catch (err) {
      if (statusOf(err) === 404 || nameOf(err) === 'NoSuchUpload') return;
      // @20minutes/s3rver 4.0.4 does not implement AbortMultipartUpload (405 MethodNotAllowed;
      // ListMultipartUploads is 501): its stray parts are local temp files. Real stores must abort.
      if (this.emulatorCompat && (statusOf(err) === 405 || statusOf(err) === 501)) return;
      throw unavailable(err);
    }
  }

  async ping(): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
  }
}

function unavailable(err: unknown): Error {
  if (err instanceof StorageRequestError || err instanceof ServiceUnavailableError) return err;
  const e = new ServiceUnavailableError('Object storage is unavailable', 'STORAGE_UNAVAILABLE');
  (e as { cause?: unknown }).cause = err;
  return e;
}

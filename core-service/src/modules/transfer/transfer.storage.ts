import type { Readable } from 'node:stream';
import { DeleteObjectCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { Config } from '../../config.ts';

/**
 * Multipart part size. R2 wants every non-trailing part the same size and S3 at least 5 MiB
 * (docs/research/storage.md §3); lib-storage cuts fixed-size parts, so both hold. Memory per running
 * export is about partSize × (queueSize + 1), whatever the row count.
 */
export const PART_SIZE = 8 * 1024 * 1024;
const QUEUE_SIZE = 2;

/** The bucket the transfer jobs read their uploads from and write their exports to. */
export class TransferStorage {
  readonly client: S3Client;

  constructor(
    private readonly bucket: string,
    settings: { endpoint?: string; region: string; accessKeyId: string; secretAccessKey: string; forcePathStyle: boolean },
  ) {
    // Settings as media-service/src/storage/client.ts explains them: region `auto` for R2,
    // path-style for any endpoint, and WHEN_REQUIRED checksums (the SDK's default flexible
    // checksums break presigned URLs on R2, S3 and MinIO: docs/research/storage.md §3 "SDK gotcha").
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    this.client = new S3Client({
      ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
      region: settings.region,
      forcePathStyle: settings.forcePathStyle,
      credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  static fromConfig(config: Config): TransferStorage | undefined {
    if (!config.S3_BUCKET || !config.S3_ACCESS_KEY_ID || !config.S3_SECRET_ACCESS_KEY) return undefined;
    return new TransferStorage(config.S3_BUCKET, {
      ...(config.S3_ENDPOINT ? { endpoint: config.S3_ENDPOINT } : {}),
      region: config.S3_REGION,
      accessKeyId: config.S3_ACCESS_KEY_ID,
      secretAccessKey: config.S3_SECRET_ACCESS_KEY,
      forcePathStyle: config.S3_FORCE_PATH_STYLE,
    });
  }

  /** Streams `body` into `key` (multipart past one part); an aborted signal aborts the upload. */
  async upload(key: string, body: Readable, contentType: string, signal?: AbortSignal): Promise<void> {
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: key, Body: body, ContentType: contentType },
      partSize: PART_SIZE,
      queueSize: QUEUE_SIZE,
      // A failed upload is aborted, so no orphan parts stay billed (a crashed process leaves its
      // parts to the bucket's AbortIncompleteMultipartUpload lifecycle rule: README).
      leavePartsOnError: false,
    });
    const onAbort = () => void upload.abort().catch(() => undefined);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await upload.done();
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  async read(key: string): Promise<Readable> {
    const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    return out.Body as Readable;
  }

  /** A GET URL valid `ttlSeconds`, downloading as `filename` (RFC 6266 Content-Disposition). */
  presignGet(key: string, filename: string, ttlSeconds: number): Promise<string> {
    return getSignedUrl(
      this.client,
      new GetObjectCommand({ Bucket: this.bucket, Key: key, ResponseContentDisposition: `attachment; filename="${filename}"` }),
      { expiresIn: ttlSeconds },
    );
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  close(): void {
    this.client.destroy();
  }
}

import {
  CreateBucketCommand,
  DeleteBucketCorsCommand,
  HeadBucketCommand,
  PutBucketCorsCommand,
  type CORSRule,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createS3Client, type S3Settings } from './client.ts';

/**
 * Bucket CORS for browser uploads straight to storage (R2 docs `r2/buckets/cors.mdx`; docs/research/storage.md §3):
 * PUT for the presigned upload, GET/HEAD for downloads; request headers listed explicitly (reports
 * say `AllowedHeaders: ["*"]` did not work on R2); `ETag` exposed, since a browser must read each
 * part's ETag to complete a multipart upload. Origins are exact `scheme://host[:port]`.
 */
export function corsRules(origins: string[]): CORSRule[] {
  return [
    {
      AllowedOrigins: origins,
      AllowedMethods: ['PUT', 'GET', 'HEAD'],
      AllowedHeaders: ['content-type', 'content-length', 'if-none-match', 'x-amz-checksum-sha256'],
      ExposeHeaders: ['ETag'],
      MaxAgeSeconds: 3600,
    },
  ];
}

/** Applies (or, with no origins, removes) the bucket's CORS policy. R2 may take ~30 s to propagate. */
export async function applyBucketCors(client: S3Client, bucket: string, origins: string[]): Promise<void> {
  if (origins.length === 0) {
    await client.send(new DeleteBucketCorsCommand({ Bucket: bucket }));
    return;
  }
  await client.send(new PutBucketCorsCommand({ Bucket: bucket, CORSConfiguration: { CORSRules: corsRules(origins) } }));
}

/** Creates the bucket when missing. For local/compose setups; R2 buckets are made in the dashboard. */
export async function ensureBucket(client: S3Client, bucket: string): Promise<void> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch (err) {
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status !== 404) throw err;
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  }
}

/**
 * What the launcher and compose call: bucket (created when missing) + CORS, from the same settings
 * the service uses. Also runnable as `npm run setup-bucket -w @linkport/media-service`.
 */
export async function setupBucket(
  settings: S3Settings & { bucket: string; corsOrigins: string[]; create?: boolean },
): Promise<{ cors: 'applied' | 'unsupported' }> {
  const client = createS3Client(settings);
  try {
    if (settings.create ?? true) await ensureBucket(client, settings.bucket);
    try {
      await applyBucketCors(client, settings.bucket, settings.corsOrigins);
      return { cors: 'applied' };
    } catch (err) {
      // MinIO implements no bucket CORS API (501 NotImplemented): its CORS is server-wide
      // (MINIO_API_CORS_ALLOW_ORIGIN), which compose sets from CORS_ORIGINS.
      if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 501) return { cors: 'unsupported' };
      throw err;
    }
  } finally {
    client.destroy();
  }
}

import { S3Client } from '@aws-sdk/client-s3';

export interface S3Settings {
  endpoint?: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  forcePathStyle: boolean;
  /** Workarounds for the local emulator: `auto` (loopback endpoints only), `true` or `false`. */
  emulatorCompat: 'auto' | 'true' | 'false';
}

/**
 * One client for R2, S3 and MinIO (docs/research/storage.md §3, §4.2):
 * - region `auto`: R2's only region; `us-east-1`/empty alias to it, so the same value suits MinIO.
 * - forcePathStyle: `host/bucket/key` works on every target, including an IP endpoint and a
 *   `localhost` one (virtual-host style would resolve `bucket.localhost`).
 * - WHEN_REQUIRED checksums: since client-s3 v3.729 the default flexible checksums put
 *   `x-amz-checksum-crc32=AAAAAA==` (CRC of an empty body) into presigned PUT URLs, which R2, S3 and
 *   MinIO then reject for any non-empty upload (aws-sdk-js-v3 flexible-checksums change; docs/research/storage.md §3
 *   "SDK gotcha").
 */
export function createS3Client(s: S3Settings): S3Client {
  quietSdkNodeWarning();
  const client = new S3Client({
    ...(s.endpoint ? { endpoint: s.endpoint } : {}),
    region: s.region,
    forcePathStyle: s.forcePathStyle,
    credentials: { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  if (emulatorCompat(s)) stripBucketTrailingSlash(client);
  return client;
}

/**
 * The SDK prints a multi-line `NodeVersionSupportWarning` to stderr on Node < 22 (from
 * @aws-sdk/core `emitWarningIfUnsupportedVersion`: releases after January 2027 need Node 22). The
 * versions package-lock pins run on Node 20, so the raw print is turned off (the SDK's own switch)
 * and the media service says it once, as a structured log line: see `sdkNodeWarning`.
 */
function quietSdkNodeWarning(): void {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
}

/** The operator-facing form of the SDK's Node-version notice, or null on Node 22+. */
export function sdkNodeWarning(version = process.version): string | null {
  const major = Number(/^v(\d+)/.exec(version)?.[1] ?? 0);
  return major < 22
    ? `Node ${version}: AWS SDK releases after January 2027 need Node 22+; the pinned version works, upgrade Node before updating it`
    : null;
}

/**
 * Whether to work around @20minutes/s3rver's SigV4 deviations (docs/research/storage.md §4.2): the local `npm start`
 * and test emulator listens on a loopback address; R2, S3 and MinIO (compose) need no workaround.
 */
export function emulatorCompat(s: S3Settings): boolean {
  if (s.emulatorCompat !== 'auto') return s.emulatorCompat === 'true';
  if (!s.endpoint) return false;
  const host = new URL(s.endpoint).hostname;
  return host === '127.0.0.1' || host === 'localhost' || host === '[::1]' || host === '::1';
}

/**
 * Works around a bug of the local emulator @20minutes/s3rver 4.0.4 (docs/research/storage.md §4.2 "Bug"): for
 * header-signed bucket-level calls (CreateBucket, HeadBucket, PutBucketCors, ListObjectsV2) the SDK
 * signs the path-style path `/bucket/` while the server canonicalises it to `/bucket`, so every such
 * call fails with 403 SignatureDoesNotMatch. Rewriting the path at the `build` step — before the
 * `finalizeRequest` signer runs — makes both sides sign `/bucket`. Only the exact `/<bucket>/` shape is
 * touched, so object keys are never altered; and it is enabled only for the emulator (loopback
 * endpoints by default, S3_EMULATOR_COMPAT to force), because R2/S3/MinIO need no help.
 */
export function stripBucketTrailingSlash(client: S3Client): void {
  client.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { path?: unknown };
      if (typeof request.path === 'string') request.path = request.path.replace(/^\/([^/]+)\/$/, '/$1');
      return next(args);
    },
    { step: 'build', name: 'stripBucketTrailingSlash' },
  );
}

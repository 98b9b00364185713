import fs from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { freePort } from './ports.ts';
import { createFront } from './s3/front.ts';

const require = createRequire(import.meta.url);

export interface S3ServerOptions {
  dir: string;
  port?: number;
  buckets: string[];
  /** Origins allowed to PUT/GET from a browser (bucket CORS). */
  corsOrigins?: string[];
  /** The only credentials accepted (default s3rver's `S3RVER`/`S3RVER`). */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Key prefixes anyone may GET/HEAD without a signature (default `public/`, media's public keys). */
  publicReadPrefixes?: string[];
  /** Regions a signature's scope may name (default R2's `auto` and its alias `us-east-1`). */
  regions?: string[];
  /** The clock signatures are checked against (tests move it); default Date.now. */
  now?: () => number;
  /** Bodies whose digest is checked are held in memory up to this size (default 256 MiB). */
  maxVerifiedBodyBytes?: number;
}

export interface RunningS3 {
  endpoint: string;
  port: number;
  accessKeyId: string;
  secretAccessKey: string;
  stop(): Promise<void>;
}

/**
 * Bucket CORS for browser uploads: PUT/GET/HEAD, the headers media's presigned PUTs sign allowed,
 * ETag exposed (docs/research/storage.md §3). Keep in step with media-service/src/storage/cors.ts, which applies
 * the same rule at boot (workspaces do not import each other).
 */
export function corsXml(origins: string[]): string {
  const rules = origins
    .map(
      (o) => `<CORSRule><AllowedOrigin>${o}</AllowedOrigin><AllowedMethod>PUT</AllowedMethod><AllowedMethod>GET</AllowedMethod><AllowedMethod>HEAD</AllowedMethod><AllowedHeader>content-type</AllowedHeader><AllowedHeader>content-length</AllowedHeader><AllowedHeader>if-none-match</AllowedHeader><AllowedHeader>x-amz-checksum-sha256</AllowedHeader><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>3600</MaxAgeSeconds></CORSRule>`,
    )
    .join('');
  return `<CORSConfiguration>${rules}</CORSConfiguration>`;
}

/**
 * In-process S3-compatible server: `@20minutes/s3rver` 4.0.4 (the objects, buckets, multipart, CORS)
 * on a private loopback port, behind an access front on the public port (s3/front.ts) that enforces
 * what R2/S3 enforce for a private bucket with a public-read prefix: a valid SigV4 signature with
 * the configured credentials on every request but CORS preflights and anonymous reads under
 * `publicReadPrefixes`; conditional writes (`If-None-Match: *` → 412); payload digests. Left alone,
 * s3rver serves any unsigned request (issue 11 §6).
 */
export async function startS3Server(opts: S3ServerOptions): Promise<RunningS3> {
  const S3rver = require('@20minutes/s3rver') as new (o: Record<string, unknown>) => {
    run(): Promise<{ port: number }>;
    close(): Promise<void>;
  };
  const internalPort = await freePort();
  fs.mkdirSync(opts.dir, { recursive: true });
  const configs = opts.corsOrigins?.length ? [corsXml(opts.corsOrigins)] : [];
  const server = new S3rver({
    address: '127.0.0.1',
    port: internalPort,
    silent: true,
    directory: opts.dir,
    vhostBuckets: false,
    configureBuckets: opts.buckets.map((name) => ({ name, configs })),
  });
  await server.run();
  const credentials = { accessKeyId: opts.accessKeyId ?? 'S3RVER', secretAccessKey: opts.secretAccessKey ?? 'S3RVER' };
  const front = createFront({
    upstreamPort: internalPort,
    credentials,
    regions: opts.regions ?? ['auto', 'us-east-1'],
    publicReadPrefixes: opts.publicReadPrefixes ?? ['public/'],
    now: opts.now ?? Date.now,
    maxVerifiedBodyBytes: opts.maxVerifiedBodyBytes ?? 256 * 1024 ** 2,
  });
  try {
    await new Promise<void>((resolve, reject) => {
      front.once('error', reject);
      front.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
    });
  } catch (err) {
    await server.close();
    throw err;
  }
  const port = (front.address() as AddressInfo).port;
  let stopping: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    ...credentials,
    // Idempotent: a test may stop storage to simulate an outage, and its teardown stops it again.
    stop: () =>
      (stopping ??= (async () => {
        front.closeAllConnections();
        await new Promise<void>((resolve) => front.close(() => resolve()));
        await server.close();
      })()),
  };
}

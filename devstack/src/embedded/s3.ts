import fs from 'node:fs';
import { createRequire } from 'node:module';
import { freePort } from './ports.ts';

const require = createRequire(import.meta.url);

export interface S3ServerOptions {
  dir: string;
  port?: number;
  buckets: string[];
  /** Origins allowed to PUT/GET from a browser (bucket CORS). */
  corsOrigins?: string[];
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
 * ETag exposed (research §3). Keep in step with media-service/src/storage/cors.ts, which applies
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
 * In-process S3-compatible server: `@20minutes/s3rver` 4.0.4, which validates SigV4, signed
 * Content-Type and Content-Length (plain s3rver 3.x accepts any V4 signature; research §4).
 * Credentials are s3rver's fixed `S3RVER`/`S3RVER`.
 */
export async function startS3Server(opts: S3ServerOptions): Promise<RunningS3> {
  const S3rver = require('@20minutes/s3rver') as new (o: Record<string, unknown>) => {
    run(): Promise<{ port: number }>;
    close(): Promise<void>;
  };
  const port = opts.port ?? (await freePort());
  fs.mkdirSync(opts.dir, { recursive: true });
  const configs = opts.corsOrigins?.length ? [corsXml(opts.corsOrigins)] : [];
  const server = new S3rver({
    address: '127.0.0.1',
    port,
    silent: true,
    directory: opts.dir,
    vhostBuckets: false,
    configureBuckets: opts.buckets.map((name) => ({ name, configs })),
  });
  await server.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    stop: () => server.close(),
  };
}

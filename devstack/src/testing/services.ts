import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import { startRedisServer, type RunningRedis } from '../embedded/redis.ts';
import { startS3Server, type RunningS3 } from '../embedded/s3.ts';

function tmp(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A real redis-server on a free port for this test; stop it in `t.after`. */
export async function startTestRedis(opts: { appendonly?: boolean; port?: number; dir?: string } = {}): Promise<RunningRedis & { dir: string }> {
  const dir = opts.dir ?? tmp('linkport-redis-');
  const r = await startRedisServer({ dir, appendonly: opts.appendonly ?? false, port: opts.port });
  return Object.assign(r, { dir });
}

/** A real SigV4-checking S3 server on a free port with the given buckets. */
export async function startTestS3(buckets: string[], corsOrigins: string[] = []): Promise<RunningS3 & { dir: string }> {
  const dir = tmp('linkport-s3-');
  const s = await startS3Server({ dir, buckets, corsOrigins });
  const stopServer = s.stop;
  return Object.assign(s, {
    dir,
    stop: async () => {
      await stopServer();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  });
}

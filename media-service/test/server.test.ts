import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createTestDatabase } from '@linkport/devstack/testing';
import { startIssuer, startS3 } from './helper.ts';

// server.ts as the launcher runs it: env only, bucket created and CORS applied at boot
// (S3_SETUP_BUCKET=auto: on for the loopback emulator), ready when the database and bucket answer, exit 0 on SIGTERM after draining.
void test('server.ts boots from env, sets up the bucket, and shuts down gracefully on SIGTERM', async (t) => {
  const db = await createTestDatabase();
  const s3 = await startS3([], []);
  const issuer = await startIssuer();
  t.after(async () => {
    await issuer.close();
    await s3.stop();
    await db.drop();
  });
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, '../src/server.ts')], {
    env: {
      ...process.env,
      PORT: '0',
      LOG_LEVEL: 'info',
      DATABASE_URL: db.roleUrl('media_service'),
      S3_ENDPOINT: s3.endpoint,
      S3_ACCESS_KEY_ID: s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      S3_BUCKET: 'booted-bucket',
      CORS_ORIGINS: 'http://localhost:5173',
      MEDIA_PUBLIC_BASE_URL: 'http://127.0.0.1/media',
      JWKS_URL: issuer.jwksUrl,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const port = await new Promise<number>((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /listening at http:\/\/127\.0\.0\.1:(\d+)/i.exec(out);
      if (m) resolve(Number(m[1]));
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`server exited ${code}: ${out}`)));
  });
  const ready = await fetch(`http://127.0.0.1:${port}/health/ready`);
  assert.equal(ready.status, 200, out);
  assert.match(out, /bucket and CORS applied/);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  assert.equal(await exited, 0, out);
  assert.match(out, /shutting down/);
});

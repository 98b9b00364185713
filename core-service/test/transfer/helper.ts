import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { TestContext } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { startTestS3 } from '@linkport/devstack/testing';
import type { AppOptions } from '../../src/app.ts';
import { bearer, build, type Built } from '../helper.ts';

export const FIXTURES = path.join(import.meta.dirname, 'fixtures');
export const BUCKET = 'transfer-test';

export function fixture(name: string): Buffer {
  return fs.readFileSync(path.join(FIXTURES, name));
}

export interface TransferBuilt extends Built {
  s3Env: Record<string, string>;
}

/** core with a real S3 front (devstack's SigV4-checking server) and a fast-polling worker. */
export async function buildTransfer(t: TestContext, env: Record<string, string> = {}, app: AppOptions = {}): Promise<TransferBuilt> {
  const s3 = await startTestS3([BUCKET]);
  const s3Env = {
    S3_ENDPOINT: s3.endpoint,
    S3_ACCESS_KEY_ID: s3.accessKeyId,
    S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
    S3_BUCKET: BUCKET,
    TRANSFER_POLL_MS: '50',
  };
  const built = await build(t, { env: { ...s3Env, ...env }, app });
  // After the app closes (hooks run last-in first-out).
  t.after(() => s3.stop());
  return Object.assign(built, { s3Env });
}

export interface JobOut {
  id: string;
  kind: string;
  status: string;
  dry_run: boolean;
  progress: { rows_done: number; rows_total: number | null };
  result: Record<string, unknown> | null;
  error: { code: string; message: string } | null;
  expires_at: string | null;
}

export async function importFile(app: FastifyInstance, token: string, format: string, body: Buffer | string, dryRun = false) {
  return app.inject({
    method: 'POST',
    url: `/v1/core/transfer/imports?format=${format}&dry_run=${dryRun}`,
    headers: { ...bearer(token), 'content-type': format === 'csv' || format === 'yourls' ? 'text/csv' : 'application/json' },
    payload: body,
  });
}

/** Polls the job until it finished (the worker runs in the app). */
export async function waitJob(app: FastifyInstance, token: string, id: string, timeoutMs = 30_000): Promise<JobOut> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const res = await app.inject({ method: 'GET', url: `/v1/core/transfer/jobs/${id}`, headers: bearer(token) });
    assert.equal(res.statusCode, 200, res.body);
    const job = res.json<JobOut>();
    if (job.status === 'succeeded' || job.status === 'failed') return job;
    assert.ok(Date.now() < until, `job ${id} still ${job.status}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function runImport(app: FastifyInstance, token: string, format: string, body: Buffer | string, dryRun = false): Promise<JobOut> {
  const res = await importFile(app, token, format, body, dryRun);
  assert.equal(res.statusCode, 202, res.body);
  return waitJob(app, token, res.json<JobOut>().id);
}

export async function runExport(app: FastifyInstance, token: string, body: Record<string, unknown>): Promise<{ job: JobOut; text: string }> {
  const res = await app.inject({ method: 'POST', url: '/v1/core/transfer/exports', headers: bearer(token), payload: body });
  assert.equal(res.statusCode, 202, res.body);
  const job = await waitJob(app, token, res.json<JobOut>().id);
  assert.equal(job.status, 'succeeded', JSON.stringify(job.error));
  const dl = await app.inject({ method: 'GET', url: `/v1/core/transfer/jobs/${job.id}/download`, headers: bearer(token) });
  assert.equal(dl.statusCode, 200, dl.body);
  const { url } = dl.json<{ url: string }>();
  const file = await fetch(url);
  assert.equal(file.status, 200);
  return { job, text: await file.text() };
}

/**
 * `npm run bench:import`: 100,000 links imported from a CSV file through the transfer job (parse,
 * batches of 1,000 rows through transfer.import_links, one transaction), against a naive per-row
 * import measured in the same run on a sample and extrapolated (a plain INSERT per row,
 * autocommit: less work per row than the job, which also checks conflicts and writes tags). Then
 * the 100k links are exported back as CSV (COPY → S3 multipart), with the process's peak RSS. Real PostgreSQL 16 (embedded, throwaway) and the devstack S3 server.
 *   BENCH_ROWS (100000), BENCH_BASELINE_ROWS (3000)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import pg from 'pg';
import Fastify from 'fastify';
import { startEmbeddedPostgres } from '@linkport/devstack/testing';
import * as repo from '../src/modules/transfer/transfer.repository.ts';
import { TransferStorage } from '../src/modules/transfer/transfer.storage.ts';
import { TransferWorker } from '../src/modules/transfer/transfer.worker.ts';

const ROWS = Number(process.env.BENCH_ROWS ?? 100_000);
const BASELINE_ROWS = Number(process.env.BENCH_BASELINE_ROWS ?? 3_000);
const BUCKET = 'bench-transfer';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'linkport-bench-'));
fs.chmodSync(dir, 0o755);
const cluster = await startEmbeddedPostgres({ dataDir: path.join(dir, 'data'), persistent: false });
process.env.LINKPORT_TEST_PG_URL = cluster.url;
const { createTestDatabase, startTestS3 } = await import('@linkport/devstack/testing');
const db = await createTestDatabase();
const s3 = await startTestS3([BUCKET]);
const admin = new pg.Pool({ connectionString: db.adminUrl, max: 2 });
const pool = new pg.Pool({ connectionString: db.roleUrl('core_service'), max: 4 });
const storage = new TransferStorage(BUCKET, { endpoint: s3.endpoint, region: 'auto', accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, forcePathStyle: true });
const log = Fastify({ logger: { level: 'warn' } }).log;

let peakRss = 0;
const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);

async function newOwner(tag: string): Promise<string> {
  const { rows } = await admin.query<{ id: string }>("INSERT INTO core.users (email, password_hash) VALUES ($1, 'x') RETURNING id", [`${tag}-${Date.now()}@bench.example`]);
  return rows[0]!.id;
}

function csvFile(rows: number, tag: string): string {
  const lines = ['code,destination,title,tags,created_at'];
  for (let i = 0; i < rows; i++) lines.push(`${tag}-${i},https://example.com/${tag}/${i}?utm_source=bench,Link ${i},${i % 2 ? 'a|b' : 'c'},2024-01-01T00:00:00Z`);
  return `${lines.join('\n')}\n`;
}

async function runJob(worker: TransferWorker, id: string): Promise<repo.JobRow> {
  worker.start();
  for (;;) {
    const { rows } = await pool.query<repo.JobRow>('SELECT * FROM core.transfer_jobs WHERE id = $1', [id]);
    const job = rows[0]!;
    if (job.status === 'succeeded' || job.status === 'failed') return job;
    await new Promise((r) => setTimeout(r, 20));
  }
}

const worker = new TransferWorker({ pool, storage, log, pollMs: 20, leaseSeconds: 30, maxAttempts: 3, maxImportRows: Math.max(ROWS, 200_000), retentionHours: 1 });
try {
  // (a) the transfer job
  const owner = await newOwner('job');
  const file = csvFile(ROWS, 'j');
  const key = `transfer/${owner}/bench/source`;
  const t0 = performance.now();
  await storage.upload(key, Readable.from(Buffer.from(file)), 'text/csv');
  const t1 = performance.now();
  const job = await repo.createJob(pool, { ownerId: owner, kind: 'import_links', format: 'csv', params: {}, sourceKey: key, sourceBytes: file.length });
  const done = await runJob(worker, job.id);
  const t2 = performance.now();
  if (done.status !== 'succeeded') throw new Error(`import failed: ${JSON.stringify(done.error)}`);
  const { rows: cnt } = await admin.query<{ n: string }>('SELECT count(*) AS n FROM links.links WHERE owner_id = $1', [owner]);
  const jobSeconds = (t2 - t1) / 1000;

  // (b) baseline: a naive importer — one plain INSERT (autocommit) per row, no tags, no
  // conflict or idempotency checks (so it does less work per row than the job)
  const owner2 = await newOwner('naive');
  const t3 = performance.now();
  for (let i = 0; i < BASELINE_ROWS; i++) {
    await admin.query('INSERT INTO links.links (owner_id, code, destination, title, created_at) VALUES ($1, $2, $3, $4, $5)', [owner2, `n-${i}`, `https://example.com/n/${i}?utm_source=bench`, `Link ${i}`, '2024-01-01T00:00:00Z']);
  }
  const naiveSeconds = (performance.now() - t3) / 1000;
  const naiveRate = BASELINE_ROWS / naiveSeconds;

  // (c) export the imported links back
  const exp = await repo.createJob(pool, { ownerId: owner, kind: 'export_links', format: 'csv', params: {} });
  const rssBefore = process.memoryUsage().rss;
  peakRss = rssBefore;
  const t4 = performance.now();
  const exported = await runJob(worker, exp.id);
  const exportSeconds = (performance.now() - t4) / 1000;

  const mb = (b: number) => (b / 1024 / 1024).toFixed(1);
  console.log(`\nbench:import — ${ROWS} rows, ${mb(file.length)} MiB CSV (node ${process.version}, ${os.cpus().length} CPUs)\n`);
  console.log('| phase | rows | seconds | rows/s | vs baseline |');
  console.log('|---|---:|---:|---:|---:|');
  console.log(`| baseline: naive per-row INSERT (autocommit, sample) | ${BASELINE_ROWS} | ${naiveSeconds.toFixed(2)} | ${naiveRate.toFixed(0)} | 1.0x |`);
  console.log(`| baseline extrapolated to ${ROWS} rows | ${ROWS} | ${(ROWS / naiveRate).toFixed(1)} | ${naiveRate.toFixed(0)} | 1.0x |`);
  console.log(`| import job (parse + 1000-row batches, one transaction) | ${cnt[0]!.n} | ${jobSeconds.toFixed(2)} | ${(ROWS / jobSeconds).toFixed(0)} | ${(ROWS / jobSeconds / naiveRate).toFixed(1)}x |`);
  console.log(`| (upload of the file to S3, before the job) | | ${((t1 - t0) / 1000).toFixed(2)} | | |`);
  console.log(`| export of the same links (COPY → CSV → S3 multipart) | ${exported.rows_done} | ${exportSeconds.toFixed(2)} | ${(Number(exported.rows_done) / exportSeconds).toFixed(0)} | |`);
  console.log(`\nexport file ${mb(Number(exported.object_bytes))} MiB; process RSS before export ${mb(rssBefore)} MiB, peak during export ${mb(peakRss)} MiB`);
  console.log(`target: ${ROWS} rows imported in < 60 s — ${jobSeconds < 60 ? 'met' : 'NOT met'} (${jobSeconds.toFixed(1)} s)`);
} finally {
  clearInterval(rssTimer);
  await worker.stop();
  storage.close();
  await pool.end();
  await admin.end();
  await db.drop();
  await s3.stop();
  await cluster.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}

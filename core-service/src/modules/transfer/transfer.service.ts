import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Pool } from 'pg';
import { AppError, ConflictError, GoneError, NotFoundError, PayloadTooLargeError, ServiceUnavailableError, ValidationError } from '@linkport/common';
import type { ImportFormat } from './transfer.formats.ts';
import * as repo from './transfer.repository.ts';
import { ByteLimit } from './transfer.streams.ts';
import type { TransferStorage } from './transfer.storage.ts';
import { exportFileName, type TransferWorker } from './transfer.worker.ts';

export interface TransferServiceOptions {
  pool: Pool;
  storage: TransferStorage | undefined;
  worker: TransferWorker | undefined;
  maxImportBytes: number;
  downloadTtlSeconds: number;
  /** Jobs one user may have queued or running at once. */
  maxActiveJobs?: number;
  now?: () => number;
}

export type ExportRequest =
  | { kind: 'links'; format: 'csv' | 'json' }
  | { kind: 'clicks'; format: 'csv'; from: string; to: string }
  | { kind: 'analytics'; format: 'csv'; from: string; to: string };

/** The longest range one clicks or analytics export may cover. */
export const MAX_RANGE_DAYS = 366;

export class TransferService {
  constructor(private readonly o: TransferServiceOptions) {}

  private storage(): TransferStorage {
    if (!this.o.storage) throw new ServiceUnavailableError('Import and export need object storage, which this server has not configured (S3_BUCKET)', 'TRANSFER_UNAVAILABLE');
    return this.o.storage;
  }

  private async checkActive(ownerId: string): Promise<void> {
    const max = this.o.maxActiveJobs ?? 5;
    const { rows } = await this.o.pool.query<{ n: string }>("SELECT count(*) AS n FROM core.transfer_jobs WHERE owner_id = $1 AND status IN ('queued', 'running')", [ownerId]);
    if (Number(rows[0]?.n ?? 0) >= max) throw new AppError(429, 'TOO_MANY_JOBS', `At most ${max} import or export jobs may be queued or running at once; wait for one to finish`);
  }

  async createExport(ownerId: string, req: ExportRequest): Promise<repo.JobRow> {
    this.storage();
    const params: Record<string, string> = {};
    if (req.kind !== 'links') {
      const from = Date.parse(req.from);
      const to = Date.parse(req.to);
      if (!(to > from)) throw new ValidationError('`to` must be after `from`', [{ path: ['to'], message: 'must be after from' }], 'INVALID_RANGE');
      if (to - from > MAX_RANGE_DAYS * 86_400_000) throw new ValidationError(`A range covers at most ${MAX_RANGE_DAYS} days; export longer periods in parts`, [{ path: ['to'], message: 'range too long' }], 'INVALID_RANGE');
      params.from = req.from;
      params.to = req.to;
    }
    await this.checkActive(ownerId);
    const job = await repo.createJob(this.o.pool, { ownerId, kind: `export_${req.kind}`, format: req.format, params });
    this.o.worker?.poke();
    return job;
  }

  /**
   * Streams the uploaded file to object storage (never held in memory) and queues the job. The
   * job reads it from there, so a crashed worker's successor reads the same bytes.
   */
  async createImport(ownerId: string, format: ImportFormat, dryRun: boolean, body: Readable | undefined, declaredBytes: number | undefined): Promise<repo.JobRow> {
    const storage = this.storage();
    const limit = this.o.maxImportBytes;
    const tooLarge = () => new PayloadTooLargeError(`An import file is at most ${limit} bytes`, 'FILE_TOO_LARGE');
    if (declaredBytes !== undefined && declaredBytes > limit) throw tooLarge();
    if (!body || declaredBytes === 0) throw new ValidationError('Send the file as the request body', undefined, 'EMPTY_FILE');
    await this.checkActive(ownerId);
    const id = randomUUID();
    const key = `transfer/${ownerId}/${id}/source`;
    const counter = new ByteLimit(limit, tooLarge);
    body.on('error', (err) => counter.destroy(err));
    body.pipe(counter);
    try {
      await storage.upload(key, counter, 'application/octet-stream');
    } catch (err) {
      if (err instanceof AppError) throw err;
      const cause = (err as { cause?: unknown }).cause;
      if (cause instanceof AppError) throw cause;
      throw err;
    }
    if (counter.bytes === 0) {
      await storage.delete(key).catch(() => undefined);
      throw new ValidationError('Send the file as the request body', undefined, 'EMPTY_FILE');
    }
    const job = await repo.createJob(this.o.pool, { id, ownerId, kind: 'import_links', format, params: {}, dryRun, sourceKey: key, sourceBytes: counter.bytes });
    this.o.worker?.poke();
    return job;
  }

  async get(ownerId: string, id: string): Promise<repo.JobRow> {
    const job = await repo.findJob(this.o.pool, ownerId, id);
    if (!job) throw new NotFoundError('No such job', 'TRANSFER_JOB_NOT_FOUND');
    return job;
  }

  list(ownerId: string): Promise<repo.JobRow[]> {
    return repo.listJobs(this.o.pool, ownerId, 50);
  }

  async problems(ownerId: string, id: string, offset: number, limit: number) {
    const job = await this.get(ownerId, id);
    if (job.kind !== 'import_links') throw new ValidationError('Only imports have problems to list', undefined, 'NOT_AN_IMPORT');
    return repo.listProblems(this.o.pool, job.id, offset, limit);
  }

  async download(ownerId: string, id: string): Promise<{ url: string; expires_at: string; filename: string; bytes: number }> {
    const job = await this.get(ownerId, id);
    if (job.kind === 'import_links') throw new ValidationError('Imports have no file to download', undefined, 'NOT_AN_EXPORT');
    if (job.status !== 'succeeded') throw new ConflictError(`The export is ${job.status}; download it once it succeeded`, 'EXPORT_NOT_READY');
    const now = (this.o.now ?? Date.now)();
    if (!job.object_key || (job.expires_at && job.expires_at.getTime() <= now)) throw new GoneError('This export has expired; run it again', 'EXPORT_EXPIRED');
    const filename = exportFileName(job);
    // The URL never outlives the file.
    const ttl = Math.max(1, Math.min(this.o.downloadTtlSeconds, job.expires_at ? Math.floor((job.expires_at.getTime() - now) / 1000) : this.o.downloadTtlSeconds));
    const url = await this.storage().presignGet(job.object_key, filename, ttl);
    return { url, expires_at: new Date(now + ttl * 1000).toISOString(), filename, bytes: Number(job.object_bytes ?? 0) };
  }
}

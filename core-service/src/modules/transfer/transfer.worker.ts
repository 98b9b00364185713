import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { Pool, PoolClient } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import type { FastifyBaseLogger } from 'fastify';
import { isConnectionError } from '@linkport/common';
import { FileError, parseImport, type ImportFormat, type Problem } from './transfer.formats.ts';
import * as repo from './transfer.repository.ts';
import { CsvRecordCounter, JsonLinesToArray } from './transfer.streams.ts';
import type { TransferStorage } from './transfer.storage.ts';

export interface WorkerOptions {
  pool: Pool;
  storage: TransferStorage;
  log: FastifyBaseLogger;
  pollMs: number;
  leaseSeconds: number;
  maxAttempts: number;
  maxImportRows: number;
  retentionHours: number;
  /** Rows per import_links call: one round trip per batch (bench:import measures the choice). */
  batchSize?: number;
}

/** A connection-level failure of PostgreSQL or the object store: worth another attempt. */
function transient(err: unknown): boolean {
  if (err instanceof JobError || err instanceof FileError) return false;
  if (isConnectionError(err)) return true;
  const status = (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
  if (status !== undefined && status >= 500) return true;
  const name = (err as { name?: unknown } | null)?.name;
  return name === 'TimeoutError' || name === 'NetworkingError';
}

/** A job failure worth telling the user (its code and message are shown as they are). */
export class JobError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

class Stopped extends Error {}

interface Progress {
  done: number;
  total: number | null;
}

export const IMPORT_BATCH = 1000;

/**
 * Runs transfer jobs: claims one at a time (FOR UPDATE SKIP LOCKED, so any number of core
 * instances share the queue), renews its lease while it works, and on a crash the lease runs out
 * and another worker starts the job again from the beginning. Imports are one transaction, so a
 * crash leaves nothing behind (roll back, then resume from the start); exports rewrite their file.
 */
export class TransferWorker {
  readonly id = `${os.hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private current: AbortController | undefined;
  private lastSweep = 0;

  constructor(private readonly o: WorkerOptions) {}

  start(): void {
    this.loop ??= this.run();
  }

  /** Stops claiming, aborts the running job and hands it back to the queue. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    this.current?.abort();
    await this.loop;
  }

  /** Wakes an idle worker now (a job was just queued on this instance). */
  poke(): void {
    this.wake?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      let job: repo.JobRow | undefined;
      try {
        job = await repo.claimJob(this.o.pool, this.id, this.o.leaseSeconds, this.o.maxAttempts);
        if (!job) await this.sweep();
      } catch (err) {
        // PostgreSQL away: keep polling, the queue is still there when it is back.
        this.o.log.warn({ err }, 'transfer: cannot claim a job');
      }
      if (job) await this.execute(job);
      else if (!this.stopping) await this.sleep(this.o.pollMs);
    }
  }

  /** Deletes export files past their retention (once a minute at most). */
  private async sweep(): Promise<void> {
    if (Date.now() - this.lastSweep < 60_000) return;
    this.lastSweep = Date.now();
    for (const e of await repo.expiredExports(this.o.pool, 100)) {
      try {
        await this.o.storage.delete(e.object_key);
        await repo.forgetObject(this.o.pool, e.id);
      } catch (err) {
        this.o.log.warn({ err, job: e.id }, 'transfer: cannot delete an expired export');
      }
    }
  }

  private async execute(job: repo.JobRow): Promise<void> {
    const abort = new AbortController();
    this.current = abort;
    const progress: Progress = { done: 0, total: job.rows_total === null ? null : Number(job.rows_total) };
    const beat = async () => {
      try {
        if (!(await repo.heartbeat(this.o.pool, job.id, this.id, this.o.leaseSeconds, progress.done, progress.total))) abort.abort();
      } catch (err) {
        this.o.log.warn({ err, job: job.id }, 'transfer: heartbeat failed');
      }
    };
    // Progress is published once a second; the lease is renewed with it, well inside its length.
    const timer = setInterval(() => void beat(), Math.min(1000, (this.o.leaseSeconds * 1000) / 3));
    const log = this.o.log.child({ job: job.id, kind: job.kind });
    try {
      if (job.kind === 'import_links') await this.runImport(job, abort.signal, progress);
      else await this.runExport(job, abort.signal, progress);
      log.info({ rows: progress.done }, 'transfer: job done');
    } catch (err) {
      clearInterval(timer);
      if (this.stopping || abort.signal.aborted) {
        await repo.releaseJob(this.o.pool, job.id, this.id).catch(() => undefined);
        log.info('transfer: job handed back');
      } else if (transient(err) && job.attempts < this.o.maxAttempts) {
        // PostgreSQL or the object store blinked (a reset, a 5xx, a dropped connection): the file is
        // not at fault, so the job goes back to the queue for another attempt (the import rolled
        // back whole) instead of failing with INTERNAL. maxAttempts bounds it.
        log.warn({ err, attempt: job.attempts }, 'transfer: transient failure, job handed back');
        await repo.releaseJob(this.o.pool, job.id, this.id).catch(() => undefined);
      } else {
        const known = err instanceof JobError || err instanceof FileError;
        if (!known) log.error({ err }, 'transfer: job failed');
        const error = known ? { code: err.code, message: err.message } : { code: 'INTERNAL', message: 'the job failed; it can be submitted again' };
        await repo.finishJob(this.o.pool, job.id, this.id, { status: 'failed', error }).catch((e: unknown) => log.warn({ err: e }, 'transfer: cannot record the failure'));
        await this.dropSource(job);
      }
    } finally {
      clearInterval(timer);
      this.current = undefined;
    }
  }

  private async dropSource(job: repo.JobRow): Promise<void> {
    if (!job.source_key) return;
    try {
      await this.o.storage.delete(job.source_key);
      await repo.forgetSource(this.o.pool, job.id);
    } catch (err) {
      this.o.log.warn({ err, job: job.id }, 'transfer: cannot delete an import file');
    }
  }

  // ---- export -------------------------------------------------------------------------------

  private async runExport(job: repo.JobRow, signal: AbortSignal, progress: Progress): Promise<void> {
    const kind = job.kind as repo.ExportKind;
    const format = job.format === 'json' ? 'json' : 'csv';
    const params = job.params as { from?: string; to?: string };
    const client = await this.o.pool.connect();
    let broken: Error | undefined;
    try {
      await repo.beginExport(client, job.owner_id, params.from ?? null, params.to ?? null);
      progress.total = await repo.countExport(client, kind);
      const copy: Readable = client.query(copyTo(repo.exportCopySql(kind, format)));
      const shape = format === 'csv' ? new CsvRecordCounter() : new JsonLinesToArray();
      const onAbort = () => copy.destroy(new Stopped('stopped'));
      signal.addEventListener('abort', onAbort, { once: true });
      const tick = setInterval(() => {
        // The CSV header is a record too.
        progress.done = Math.max(0, shape.records - (format === 'csv' ? 1 : 0));
      }, 200);
      const key = `transfer/${job.owner_id}/${job.id}/${exportFileName(job)}`;
      try {
        await Promise.all([
          pipeline(copy, shape),
          this.o.storage.upload(key, shape, format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json', signal).catch((err: unknown) => {
            copy.destroy(err as Error);
            throw err;
          }),
        ]);
      } catch (err) {
        broken = err as Error;
        throw err;
      } finally {
        clearInterval(tick);
        signal.removeEventListener('abort', onAbort);
      }
      await client.query('COMMIT');
      const rows = Math.max(0, shape.records - (format === 'csv' ? 1 : 0));
      progress.done = rows;
      const ok = await repo.finishJob(this.o.pool, job.id, this.id, {
        status: 'succeeded',
        rowsDone: rows,
        result: { rows, bytes: shape.bytes },
        objectKey: key,
        objectBytes: shape.bytes,
        retentionHours: this.o.retentionHours,
      });
      if (!ok) throw new Stopped('lease lost');
    } finally {
      // A connection interrupted mid-COPY is not reusable: destroy it rather than pool it.
      if (broken) client.release(broken);
      else {
        await client.query('ROLLBACK').catch(() => undefined);
        client.release();
      }
    }
  }

  // ---- import -------------------------------------------------------------------------------

  private async runImport(job: repo.JobRow, signal: AbortSignal, progress: Progress): Promise<void> {
    if (!job.source_key) throw new JobError('SOURCE_MISSING', 'the uploaded file is gone; upload it again');
    const input = await this.o.storage.read(job.source_key);
    const batchSize = this.o.batchSize ?? IMPORT_BATCH;
    const counts = { rows: 0, created: 0, unchanged: 0, conflicts: 0, invalid: 0 };
    const problems: Problem[] = [];
    const seenCodes = new Set<string>();
    const seenDestinations = new Set<string>();
    let batch: Array<Record<string, unknown>> = [];
    const client = await this.o.pool.connect();
    let failed: Error | undefined;
    try {
      await client.query('BEGIN');
      const flush = async () => {
        if (!batch.length) return;
        for (const o of await repo.importBatch(client, job.owner_id, batch)) {
          if (o.outcome === 'created') counts.created++;
          else if (o.outcome === 'unchanged') counts.unchanged++;
          else problems.push(dbProblem(o));
          if (o.outcome === 'conflict') counts.conflicts++;
          if (o.outcome === 'invalid') counts.invalid++;
        }
        progress.done += batch.length;
        batch = [];
      };
      for await (const p of parseImport(job.format as ImportFormat, input)) {
        if (signal.aborted) throw new Stopped('stopped');
        if (++counts.rows > this.o.maxImportRows) throw new JobError('TOO_MANY_ROWS', `the file has more than ${this.o.maxImportRows} rows; split it`);
        if (p.problem) {
          problems.push(p.problem);
          counts.invalid++;
          progress.done++;
          continue;
        }
        const r = p.row;
        // The same link twice in one file: the first one counts (a re-run recognises it after).
        const seen = r.code ? seenCodes : seenDestinations;
        const k = r.code ?? r.destination;
        if (seen.has(k)) {
          problems.push({ line: r.line, code: 'DUPLICATE_IN_FILE', field: r.code ? 'code' : 'destination', message: r.code ? `code ${r.code} appears earlier in the file` : 'this destination appears earlier in the file without a code' });
          counts.invalid++;
          progress.done++;
          continue;
        }
        seen.add(k);
        batch.push({ i: r.line, code: r.code, destination: r.destination, title: r.title, description: r.description, tags: r.tags, expires_at: r.expires_at, created_at: r.created_at });
        if (batch.length >= batchSize) await flush();
      }
      await flush();
      progress.total = counts.rows;
      const result = { ...counts, problems: problems.length, dry_run: job.dry_run };
      if (job.dry_run) {
        // A dry run takes the same path, then throws it away: the outcomes are exactly what the
        // real import would give (conflicts included), and nothing is written.
        await client.query('ROLLBACK');
        await repo.deleteProblems(this.o.pool, job.id);
        await repo.insertProblems(this.o.pool, job.id, problems);
        if (!(await repo.finishJob(this.o.pool, job.id, this.id, { status: 'succeeded', rowsDone: counts.rows, result }))) throw new Stopped('lease lost');
      } else {
        // The links, the problem report and the job's success commit together, or not at all.
        await repo.deleteProblems(client, job.id);
        await repo.insertProblems(client, job.id, problems);
        if (!(await repo.finishJob(client, job.id, this.id, { status: 'succeeded', rowsDone: counts.rows, result }))) throw new Stopped('lease lost');
        await client.query('COMMIT');
      }
    } catch (err) {
      failed = err as Error;
      await client.query('ROLLBACK').catch(() => undefined);
      input.destroy();
      throw err;
    } finally {
      client.release(failed instanceof Stopped ? undefined : failed && !(failed instanceof JobError || failed instanceof FileError) ? failed : undefined);
    }
    await this.dropSource(job);
  }
}

function dbProblem(o: repo.ImportOutcome): Problem {
  const detail = o.detail ?? o.outcome;
  if (o.outcome === 'conflict') return { line: o.i, code: 'CODE_CONFLICT', field: 'code', message: detail };
  const field = /^([a-z_]+):/.exec(detail)?.[1];
  const code = detail.includes('reserved') ? 'RESERVED_CODE' : `INVALID_${(field ?? 'row').toUpperCase()}`;
  return { line: o.i, code, ...(field ? { field } : {}), message: detail };
}

export function exportFileName(job: Pick<repo.JobRow, 'id' | 'kind' | 'format'>): string {
  return `${job.kind.replace('export_', '')}-${job.id.slice(0, 8)}.${job.format === 'json' ? 'json' : 'csv'}`;
}

export type { PoolClient };

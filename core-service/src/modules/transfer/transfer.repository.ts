import type { Pool, PoolClient } from 'pg';
import type { Problem } from './transfer.formats.ts';

/** Every SQL statement of the transfer module (docs/style.md §4). */

export type JobKind = 'export_links' | 'export_clicks' | 'export_analytics' | 'import_links';
export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed';

export interface JobRow {
  id: string;
  owner_id: string;
  kind: JobKind;
  format: string;
  params: Record<string, unknown>;
  dry_run: boolean;
  status: JobStatus;
  rows_done: string;
  rows_total: string | null;
  source_key: string | null;
  source_bytes: string | null;
  object_key: string | null;
  object_bytes: string | null;
  result: Record<string, unknown> | null;
  error: { code: string; message: string; line?: number } | null;
  attempts: number;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  expires_at: Date | null;
}

type Db = Pool | PoolClient;

export async function createJob(
  db: Db,
  j: { ownerId: string; kind: JobKind; format: string; params: Record<string, unknown>; dryRun?: boolean; sourceKey?: string; sourceBytes?: number; id?: string },
): Promise<JobRow> {
  const { rows } = await db.query<JobRow>(
    `INSERT INTO core.transfer_jobs (id, owner_id, kind, format, params, dry_run, source_key, source_bytes)
     VALUES (coalesce($1::uuid, gen_random_uuid()), $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
    [j.id ?? null, j.ownerId, j.kind, j.format, JSON.stringify(j.params), j.dryRun ?? false, j.sourceKey ?? null, j.sourceBytes ?? null],
  );
  return rows[0]!;
}

/** The owner's job, or undefined: another user's job is indistinguishable from a missing one. */
export async function findJob(db: Db, ownerId: string, id: string): Promise<JobRow | undefined> {
  const { rows } = await db.query<JobRow>('SELECT * FROM core.transfer_jobs WHERE id = $1 AND owner_id = $2', [id, ownerId]);
  return rows[0];
}

export async function listJobs(db: Db, ownerId: string, limit: number): Promise<JobRow[]> {
  const { rows } = await db.query<JobRow>('SELECT * FROM core.transfer_jobs WHERE owner_id = $1 ORDER BY created_at DESC, id LIMIT $2', [ownerId, limit]);
  return rows;
}

export async function listProblems(db: Db, jobId: string, offset: number, limit: number): Promise<{ total: number; items: Problem[] }> {
  const [count, page] = await Promise.all([
    db.query<{ n: string }>('SELECT count(*) AS n FROM core.transfer_problems WHERE job_id = $1', [jobId]),
    db.query<Problem & { field: string | null }>(
      'SELECT line, code, field, message FROM core.transfer_problems WHERE job_id = $1 ORDER BY line, code OFFSET $2 LIMIT $3',
      [jobId, offset, limit],
    ),
  ]);
  return { total: Number(count.rows[0]?.n ?? 0), items: page.rows.map((p) => ({ line: p.line, code: p.code, message: p.message, ...(p.field ? { field: p.field } : {}) })) };
}

/**
 * Jobs whose worker died too often are failed; then the oldest runnable job — queued, or running
 * under an expired lease (its worker crashed: the job is resumed from the start) — is taken,
 * FOR UPDATE SKIP LOCKED so concurrent workers never take the same one.
 */
export async function claimJob(db: Pool, workerId: string, leaseSeconds: number, maxAttempts: number): Promise<JobRow | undefined> {
  await db.query(
    `UPDATE core.transfer_jobs
        SET status = 'failed', finished_at = now(), locked_by = NULL, lease_until = NULL,
            error = jsonb_build_object('code', 'WORKER_LOST', 'message', 'the job stopped ' || attempts || ' times without finishing')
      WHERE status = 'running' AND lease_until < now() AND attempts >= $1`,
    [maxAttempts],
  );
  const { rows } = await db.query<JobRow>(
    `UPDATE core.transfer_jobs j
        SET status = 'running', locked_by = $1, lease_until = now() + make_interval(secs => $2),
            attempts = j.attempts + 1, started_at = coalesce(j.started_at, now()), rows_done = 0
      WHERE j.id = (SELECT id FROM core.transfer_jobs
                     WHERE status = 'queued' OR (status = 'running' AND lease_until < now())
                     ORDER BY created_at FOR UPDATE SKIP LOCKED LIMIT 1)
      RETURNING j.*`,
    [workerId, leaseSeconds],
  );
  return rows[0];
}

/** Renews the lease and publishes progress; false when the job is no longer this worker's. */
export async function heartbeat(db: Pool, id: string, workerId: string, leaseSeconds: number, rowsDone: number, rowsTotal: number | null): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE core.transfer_jobs SET lease_until = now() + make_interval(secs => $3), rows_done = $4, rows_total = coalesce($5, rows_total)
      WHERE id = $1 AND locked_by = $2 AND status = 'running'`,
    [id, workerId, leaseSeconds, rowsDone, rowsTotal],
  );
  return rowCount === 1;
}

export async function finishJob(
  db: Db,
  id: string,
  workerId: string,
  f: { status: 'succeeded' | 'failed'; rowsDone?: number; result?: Record<string, unknown>; error?: { code: string; message: string; line?: number }; objectKey?: string; objectBytes?: number; retentionHours?: number },
): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE core.transfer_jobs
        SET status = $3, rows_done = coalesce($4, rows_done), rows_total = CASE WHEN $3 = 'succeeded' THEN coalesce($4, rows_total) ELSE rows_total END,
            result = $5, error = $6, object_key = $7, object_bytes = $8, finished_at = now(),
            expires_at = CASE WHEN $7::text IS NOT NULL THEN now() + make_interval(hours => $9) END,
            locked_by = NULL, lease_until = NULL
      WHERE id = $1 AND locked_by = $2 AND status = 'running'`,
    [id, workerId, f.status, f.rowsDone ?? null, f.result ? JSON.stringify(f.result) : null, f.error ? JSON.stringify(f.error) : null, f.objectKey ?? null, f.objectBytes ?? null, f.retentionHours ?? 0],
  );
  return rowCount === 1;
}

/** Hands a job back (graceful stop): another worker, or this one after a restart, resumes it. */
export async function releaseJob(db: Pool, id: string, workerId: string): Promise<void> {
  await db.query(`UPDATE core.transfer_jobs SET status = 'queued', locked_by = NULL, lease_until = NULL WHERE id = $1 AND locked_by = $2 AND status = 'running'`, [id, workerId]);
}

export async function insertProblems(db: Db, jobId: string, problems: readonly Problem[]): Promise<void> {
  for (let i = 0; i < problems.length; i += 5000) {
    const chunk = problems.slice(i, i + 5000);
    await db.query(
      `INSERT INTO core.transfer_problems (job_id, line, code, field, message)
       SELECT $1, * FROM unnest($2::int[], $3::text[], $4::text[], $5::text[]) ON CONFLICT DO NOTHING`,
      [jobId, chunk.map((p) => p.line), chunk.map((p) => p.code), chunk.map((p) => p.field ?? null), chunk.map((p) => p.message)],
    );
  }
}

export async function deleteProblems(db: Db, jobId: string): Promise<void> {
  await db.query('DELETE FROM core.transfer_problems WHERE job_id = $1', [jobId]);
}

export interface ImportOutcome {
  i: number;
  outcome: 'created' | 'unchanged' | 'conflict' | 'invalid';
  detail: string | null;
  code: string | null;
}

/** One batch through the database's import function (migration 1764900000600), inside the caller's transaction. */
export async function importBatch(db: PoolClient | Pool, ownerId: string, rows: readonly unknown[]): Promise<ImportOutcome[]> {
  const { rows: out } = await db.query<ImportOutcome>('SELECT i, outcome, detail, code FROM transfer.import_links($1, $2::jsonb)', [ownerId, JSON.stringify(rows)]);
  return out;
}

/** Export jobs whose files passed their retention: the sweeper deletes the objects, then forgets the keys. */
export async function expiredExports(db: Pool, limit: number): Promise<Array<{ id: string; object_key: string }>> {
  const { rows } = await db.query<{ id: string; object_key: string }>(
    'SELECT id, object_key FROM core.transfer_jobs WHERE object_key IS NOT NULL AND expires_at < now() ORDER BY expires_at LIMIT $1',
    [limit],
  );
  return rows;
}

export async function forgetObject(db: Pool, id: string): Promise<void> {
  await db.query('UPDATE core.transfer_jobs SET object_key = NULL WHERE id = $1', [id]);
}

/** Import sources are deleted once their job finished (they hold the user's data, not ours to keep). */
export async function forgetSource(db: Pool, id: string): Promise<void> {
  await db.query('UPDATE core.transfer_jobs SET source_key = NULL WHERE id = $1', [id]);
}

// ---- exports: one snapshot, the owner and the range as transaction-local settings --------------

/**
 * Starts the export's transaction: a REPEATABLE READ snapshot (the count and the COPY see the same
 * rows), the owner the transfer views filter on, the range, UTC timestamps.
 */
export async function beginExport(client: PoolClient, ownerId: string, from: string | null, to: string | null): Promise<void> {
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  await client.query(
    `SELECT set_config('linkport.transfer_owner', $1, true), set_config('linkport.transfer_from', $2, true),
            set_config('linkport.transfer_to', $3, true), set_config('TimeZone', 'UTC', true)`,
    [ownerId, from ?? '', to ?? ''],
  );
}

const ts = (col: string) => `to_json(x.${col}) #>> '{}' AS ${col}`;

/**
 * The exports' queries. COPY takes no bind parameters, so these are constant texts: the owner and
 * range come from the settings beginExport made with parameters. Columns are qualified so ORDER BY
 * sorts the timestamps, not their text.
 */
const EXPORTS = {
  export_links: {
    cols: `x.code, x.destination, x.title, x.description, x.tags, x.status, x.redirect_type, ${ts('expires_at')}, x.max_clicks,
           x.click_count, ${ts('last_clicked_at')}, ${ts('created_at')}, ${ts('updated_at')}`,
    from: 'transfer.links x',
    order: 'x.created_at, x.code',
  },
  export_clicks: {
    cols: `${ts('clicked_at')}, x.code, x.country, x.device, x.browser, x.os, x.referrer_host, x.is_bot`,
    from: `transfer.clicks x
            WHERE x.clicked_at >= current_setting('linkport.transfer_from')::timestamptz
              AND x.clicked_at < current_setting('linkport.transfer_to')::timestamptz`,
    order: 'x.clicked_at, x.code',
  },
  export_analytics: {
    cols: 'x.day, x.code, x.dimension, x.value, x.clicks, x.visitors',
    from: `transfer.daily_stats x
            WHERE x.day >= current_setting('linkport.transfer_from')::date
              AND x.day < current_setting('linkport.transfer_to')::date`,
    order: 'x.day, x.code, x.dimension, x.value',
  },
} as const;

export type ExportKind = keyof typeof EXPORTS;

export async function countExport(client: PoolClient, kind: ExportKind): Promise<number> {
  const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${EXPORTS[kind].from}`);
  return Number(rows[0]?.n ?? 0);
}

/**
 * COPY … TO STDOUT text for an export. CSV: PostgreSQL's own CSV writer (RFC 4180 quoting), with a
 * header. JSON: one `row_to_json` per line through CSV mode with a quote and delimiter byte JSON
 * never contains raw (it escapes every control character as \\u00XX), so lines come out verbatim.
 */
export function exportCopySql(kind: ExportKind, format: 'csv' | 'json'): string {
  const e = EXPORTS[kind];
  const select = `SELECT ${e.cols} FROM ${e.from} ORDER BY ${e.order}`;
  return format === 'csv'
    ? `COPY (${select}) TO STDOUT WITH (FORMAT csv, HEADER true)`
    : `COPY (SELECT row_to_json(r)::text FROM (${select}) r) TO STDOUT WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')`;
}

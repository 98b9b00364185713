import { z } from 'zod';
import { IMPORT_FORMATS } from './transfer.formats.ts';
import type { JobRow } from './transfer.repository.ts';

const Instant = z.iso.datetime({ offset: true });
const Day = z.iso.date();

export const ExportBody = z
  .discriminatedUnion('kind', [
    z.object({ kind: z.literal('links'), format: z.enum(['csv', 'json']).default('csv') }).strict(),
    z
      .object({
        kind: z.literal('clicks'),
        format: z.literal('csv').default('csv'),
        from: Instant.describe('Start of the range (inclusive), ISO 8601 with an offset'),
        to: Instant.describe('End of the range (exclusive)'),
      })
      .strict(),
    z
      .object({
        kind: z.literal('analytics'),
        format: z.literal('csv').default('csv'),
        from: Day.describe('First day (inclusive, UTC), YYYY-MM-DD'),
        to: Day.describe('Last day (exclusive)'),
      })
      .strict(),
  ])
  .describe('links: every link of yours (CSV or a JSON array); clicks: raw clicks in [from, to); analytics: daily rollups in [from, to)');

export const ImportQuery = z
  .object({
    format: z.enum(IMPORT_FORMATS).describe('csv (a header row), bitly, kutt, shlink, dub (their API JSON), yourls (CSV of the yourls_url table)'),
    dry_run: z
      .enum(['true', 'false'])
      .default('false')
      .transform((v) => v === 'true')
      .describe('true: report every row problem and conflict, write nothing'),
  })
  .strict();

export const JobParams = z.object({ id: z.uuid() });
export const ProblemsQuery = z.object({
  offset: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export const Job = z
  .object({
    id: z.uuid(),
    kind: z.enum(['export_links', 'export_clicks', 'export_analytics', 'import_links']),
    format: z.string(),
    dry_run: z.boolean(),
    status: z.enum(['queued', 'running', 'succeeded', 'failed']),
    progress: z.object({ rows_done: z.number().int(), rows_total: z.number().int().nullable() }),
    params: z.record(z.string(), z.unknown()),
    result: z.record(z.string(), z.unknown()).nullable().describe('exports: rows, bytes; imports: rows, created, unchanged, conflicts, invalid, problems'),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
    attempts: z.number().int(),
    created_at: z.string(),
    started_at: z.string().nullable(),
    finished_at: z.string().nullable(),
    expires_at: z.string().nullable().describe('exports: when the file is deleted'),
  })
  .meta({ id: 'TransferJob' });

export const JobList = z.object({ items: z.array(Job) });

export const ProblemList = z.object({
  total: z.number().int(),
  items: z.array(z.object({ line: z.number().int(), code: z.string(), field: z.string().optional(), message: z.string() })),
});

export const Download = z.object({
  url: z.string().describe('Presigned GET URL of the file'),
  expires_at: z.string(),
  filename: z.string(),
  bytes: z.number().int(),
});

export function toJobOut(j: JobRow): z.infer<typeof Job> {
  return {
    id: j.id,
    kind: j.kind,
    format: j.format,
    dry_run: j.dry_run,
    status: j.status,
    progress: { rows_done: Number(j.rows_done), rows_total: j.rows_total === null ? null : Number(j.rows_total) },
    params: j.params,
    result: j.result,
    error: j.error ? { code: j.error.code, message: j.error.message } : null,
    attempts: j.attempts,
    created_at: j.created_at.toISOString(),
    started_at: j.started_at?.toISOString() ?? null,
    finished_at: j.finished_at?.toISOString() ?? null,
    expires_at: j.expires_at?.toISOString() ?? null,
  };
}

import { NotFoundError, ValidationError, pgErrorCode } from '@linkport/common';
import type { Identity } from '../../plugins/auth.ts';
import type { Log, MediaDeps } from '../deps.ts';
import { assetsRepository as repo, type AssetRow, type AssetStatus } from './assets.repository.ts';
import { verifyStored } from './integrity.ts';
import { contentDisposition, publicUrl } from './policy.ts';

export interface AssetView {
  id: string;
  filename: string;
  contentType: string;
  size: number;
  visibility: 'public' | 'private';
  status: 'pending' | 'ready' | 'failed' | 'quarantined';
  checksum: string | null;
  createdAt: string;
  completedAt: string | null;
}

export function toView(row: AssetRow): AssetView {
  return {
    id: row.id,
    filename: row.filename,
    contentType: row.content_type,
    size: row.size,
    visibility: row.visibility,
    status: row.status === 'ready' || row.status === 'failed' || row.status === 'quarantined' ? row.status : 'pending',
    checksum: row.checksum,
    createdAt: row.created_at.toISOString(),
    completedAt: row.completed_at?.toISOString() ?? null,
  };
}

const gone: AssetStatus[] = ['deleted', 'deleting', 'expiring'];

/**
 * The caller's asset (or any, for an admin). Someone else's asset answers 404 exactly like a missing
 * one, so ids cannot be probed for existence.
 */
export async function findOwned(deps: MediaDeps, identity: Identity, id: string, opts: { includeDeleted?: boolean } = {}): Promise<AssetRow> {
  const row = await repo.find(deps.db, id);
  if (!row || (row.owner_id !== identity.userId && !identity.admin)) throw new NotFoundError('Asset not found', 'ASSET_NOT_FOUND');
  if (!opts.includeDeleted && gone.includes(row.status)) throw new NotFoundError('Asset not found', 'ASSET_NOT_FOUND');
  return row;
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** timestamptz as Postgres prints it, e.g. `2026-11-21 06:20:00.123456+00`. */
const pgTimestamp = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([+-]\d{2}(:?\d{2}){0,2}|Z)$/;
const encodeCursor = (row: AssetRow) => Buffer.from(`${row.created_at_text}|${row.id}`).toString('base64url');

function decodeCursor(cursor: string): { createdAt: string; id: string } {
  const [createdAt, id] = Buffer.from(cursor, 'base64url').toString().split('|');
  if (!createdAt || !id || !uuid.test(id) || !pgTimestamp.test(createdAt)) {
    throw new ValidationError('Invalid cursor', undefined, 'INVALID_CURSOR');
  }
  return { createdAt, id };
}

/** Keyset pagination on (created_at, id): stable under inserts, unlike offsets. */
export async function listAssets(
  deps: MediaDeps,
  identity: Identity,
  q: { limit: number; cursor?: string; status?: 'pending' | 'ready' | 'failed' | 'quarantined'; type?: string },
): Promise<{ items: AssetView[]; nextCursor: string | null }> {
  let rows: AssetRow[];
  try {
    rows = await repo.list(deps.db, {
      ownerId: identity.userId,
      limit: q.limit + 1,
      ...(q.status ? { status: q.status } : {}),
      ...(q.type ? { type: q.type.toLowerCase() } : {}),
      ...(q.cursor ? { after: decodeCursor(q.cursor) } : {}),
    });
  } catch (err) {
    // A cursor shaped like a timestamp but naming no real instant (month 13, year 0…) is refused by
    // PostgreSQL's datetime input (SQLSTATE 22007 invalid_datetime_format, 22008
    // datetime_field_overflow; PostgreSQL docs Appendix A): the client's cursor, not a server fault.
    const code = pgErrorCode(err);
    if (q.cursor && (code === '22007' || code === '22008')) throw new ValidationError('Invalid cursor', undefined, 'INVALID_CURSOR');
    throw err;
  }
  const page = rows.slice(0, q.limit);
  const last = page.at(-1);
  return { items: page.map(toView), nextCursor: rows.length > q.limit && last ? encodeCursor(last) : null };
}

/**
 * Where a ready asset can be fetched: public ones at MEDIA_PUBLIC_BASE_URL (a CDN / R2 custom domain,
 * where presigned URLs do not work anyway — R2 docs `presigned-urls.mdx`), private ones through a
 * short presigned GET that pins Content-Disposition (RFC 6266) and Content-Type.
 */
export async function accessUrl(
  deps: MediaDeps,
  row: AssetRow,
  disposition: 'inline' | 'attachment',
): Promise<{ url: string; expiresAt: Date | null }> {
  if (row.visibility === 'public' && disposition === 'inline') return { url: publicUrl(deps.config.MEDIA_PUBLIC_BASE_URL, row.object_key), expiresAt: null };
  const signed = await deps.storage.presignGet({
    key: row.object_key,
    contentDisposition: contentDisposition(disposition, row.filename, { emulator: deps.storage.emulatorCompat }),
    contentType: row.content_type,
    expiresIn: deps.config.MEDIA_DOWNLOAD_URL_TTL_SECONDS,
  });
  return { url: signed.url, expiresAt: signed.expiresAt };
}

/** The asset with a URL when ready — after checking storage still holds what complete verified. */
export async function assetWithUrl(deps: MediaDeps, found: AssetRow, log: Log) {
  const row = await verifyStored(deps, found, log);
  const access = row.status === 'ready' ? await accessUrl(deps, row, 'inline') : { url: null, expiresAt: null };
  return { ...toView(row), url: access.url, urlExpiresAt: access.expiresAt?.toISOString() ?? null };
}

/**
 * Removes an asset's bytes: aborts an open multipart upload, deletes the object. Both calls are
 * idempotent, so a retry after a partial failure is safe.
 */
export async function removeStoredBytes(deps: MediaDeps, row: AssetRow): Promise<void> {
  if (row.upload_id && row.status !== 'ready') await deps.storage.abortMultipart(row.object_key, row.upload_id);
  await deps.storage.delete(row.object_key);
}

/**
 * DELETE (and upload abort): claim the row (→ deleting) so it stops counting as ready, delete the
 * bytes, then leave a tombstone. A storage failure leaves the row `deleting` — never `ready` without
 * its object — and the expiry job finishes it. Repeating the call answers 204 (idempotent).
 */
export async function deleteAsset(deps: MediaDeps, identity: Identity, id: string, log: Log): Promise<void> {
  const row = await findOwned(deps, identity, id, { includeDeleted: true });
  if (row.status === 'deleted') return;
  if (row.status !== 'deleting' && row.status !== 'expiring') {
    if (!(await repo.transition(deps.db, id, [row.status], 'deleting'))) return deleteAsset(deps, identity, id, log);
    log.info({ assetId: id, from: row.status, status: 'deleting' }, 'asset deleting');
  }
  await removeStoredBytes(deps, row);
  await repo.deleteSession(deps.db, id);
  await repo.transition(deps.db, id, ['deleting', 'expiring'], 'deleted');
  log.info({ assetId: id, status: 'deleted' }, 'asset deleted');
}

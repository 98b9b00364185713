import { randomUUID } from 'node:crypto';
import {
  AppError,
  ConflictError,
  GoneError,
  PayloadTooLargeError,
  PgCode,
  UnauthorizedError,
  UnprocessableError,
  ValidationError,
  pgErrorCode,
} from '@linkport/common';
import type { Identity } from '../../plugins/auth.ts';
import type { PresignedRequest } from '../../storage/storage.ts';
import { StorageRequestError } from '../../storage/storage.ts';
import { assetsRepository as repo, type AssetRow } from '../assets/assets.repository.ts';
import { deleteAsset, findOwned, removeStoredBytes, toView, type AssetView } from '../assets/assets.service.ts';
import { SNIFF_BYTES, hasSignature, matchesSignature } from '../assets/magic.ts';
import { normaliseContentType, objectKey, partLength, planParts, sanitiseFilename, type Visibility } from '../assets/policy.ts';
import type { Log, MediaDeps } from '../deps.ts';

/** S3/R2 single PUT limit (5 GiB; R2 docs `platform/limits.mdx` "5 GiB − 5 MiB"): larger must be multipart. */
const MAX_SINGLE_PUT = 5 * 1024 ** 3 - 5 * 1024 ** 2;

export interface CreateUploadInput {
  filename: string;
  contentType: string;
  size: number;
  visibility: Visibility;
  checksum?: string;
  multipart?: boolean;
}

export interface UploadView {
  id: string;
  asset: AssetView;
  mode: 'single' | 'multipart';
  upload: (Omit<PresignedRequest, 'expiresAt' | 'method'> & { method: 'PUT'; expiresAt: string }) | null;
  multipart: { partSize: number; partCount: number } | null;
  expiresAt: string;
}

const iso = (p: PresignedRequest) => ({ method: 'PUT' as const, url: p.url, headers: p.headers, expiresAt: p.expiresAt.toISOString() });

/** Type and size policy from config (MEDIA_TYPE_LIMITS), then the per-user quota. */
function checkPolicy(deps: MediaDeps, contentType: string, size: number): void {
  const limit = deps.config.MEDIA_TYPE_LIMITS[contentType];
  if (limit === undefined) {
    throw new AppError(415, 'CONTENT_TYPE_NOT_ALLOWED', `Content type ${contentType} is not accepted`, {
      allowed: Object.keys(deps.config.MEDIA_TYPE_LIMITS),
    });
  }
  if (size > limit) throw new PayloadTooLargeError(`Files of type ${contentType} are limited to ${limit} bytes`, 'FILE_TOO_LARGE', { maxSize: limit });
}

export async function createUpload(deps: MediaDeps, identity: Identity, input: CreateUploadInput, log: Log): Promise<UploadView> {
  const contentType = normaliseContentType(input.contentType);
  checkPolicy(deps, contentType, input.size);
  const multipart = input.multipart ?? input.size >= deps.config.MEDIA_MULTIPART_THRESHOLD_BYTES;
  if (!multipart && input.size > MAX_SINGLE_PUT) throw new ValidationError('Files over 5 GiB must use multipart', undefined, 'MULTIPART_REQUIRED');
  if (multipart && input.checksum) {
    // R2 answers 501 for SHA-256 on part uploads (docs/research/storage.md §3 "Checksums"); a whole-object checksum
    // cannot be signed into part URLs.
    throw new ValidationError('checksum is supported for single uploads only', undefined, 'CHECKSUM_UNSUPPORTED');
  }
  const id = randomUUID();
  const filename = sanitiseFilename(input.filename);
  const key = objectKey(input.visibility, identity.userId, id, filename);
  const ttl = deps.config.MEDIA_PENDING_TTL_SECONDS;
  const plan = multipart ? planParts(input.size, deps.config.MEDIA_MULTIPART_PART_SIZE_BYTES) : undefined;
  // Presigning is local and cannot fail for a valid key: done before anything is stored, so a
  // failure (a bug) leaves no pending row or multipart upload behind.
  const upload = multipart
    ? null
    : iso(
        await deps.storage.presignPut({
          key,
          contentType,
          size: input.size,
          expiresIn: deps.config.MEDIA_UPLOAD_URL_TTL_SECONDS,
          ...(input.checksum ? { checksumSha256: input.checksum } : {}),
        }),
      );

  // The multipart upload is created before the row exists: if the insert then fails (quota), the
  // upload is aborted here; if the process dies in between, storage's own incomplete-upload
  // lifecycle rule is the backstop (R2 aborts them after 7 days by default).
  const quota = deps.config.MEDIA_USER_QUOTA_BYTES;
  const overQuota = async () => {
    const used = await repo.usedBytes(deps.db, identity.userId);
    return new PayloadTooLargeError('Storage quota exceeded', 'QUOTA_EXCEEDED', { quota, used, requested: input.size });
  };
  // A cheap early answer so an over-quota user costs no storage call; the authoritative check is
  // the locked one in createWithinQuota.
  if (multipart && (await repo.usedBytes(deps.db, identity.userId)) + input.size > quota) throw await overQuota();
  const uploadId = multipart ? await deps.storage.createMultipart(key, contentType) : undefined;
  let row: AssetRow | undefined;
  try {
    row = await repo.createWithinQuota(deps.db, {
      id,
      ownerId: identity.userId,
      bucket: deps.storage.bucket,
      key,
      filename,
      contentType,
      size: input.size,
      visibility: input.visibility,
      checksum: input.checksum ?? null,
      pendingSeconds: ttl,
      quota,
      ...(plan && uploadId ? { session: { uploadId, ...plan } } : {}),
    });
  } catch (err) {
    if (uploadId) await deps.storage.abortMultipart(key, uploadId).catch(() => {});
    // The token is valid but core no longer knows the user (deleted within the token's lifetime).
    if (pgErrorCode(err) === PgCode.foreignKeyViolation) throw new UnauthorizedError('Unknown user', 'UNKNOWN_USER');
    throw err;
  }
  if (!row) {
    if (uploadId) await deps.storage.abortMultipart(key, uploadId).catch(() => {});
    throw await overQuota();
  }
  log.info({ assetId: id, status: 'pending', mode: multipart ? 'multipart' : 'single', size: input.size, contentType }, 'asset upload created');
  return { id, asset: toView(row), mode: multipart ? 'multipart' : 'single', upload, multipart: plan ?? null, expiresAt: row.upload_expires_at.toISOString() };
}

function pendingUpload(row: AssetRow): AssetRow {
  if (row.status !== 'pending') throw new ConflictError(`Upload is ${row.status}`, 'UPLOAD_NOT_PENDING', { status: row.status });
  if (row.upload_expires_at.getTime() <= Date.now()) throw new GoneError('Upload expired', 'UPLOAD_EXPIRED');
  return row;
}

/** Presigned part URLs; requestable again while the upload is pending (each lives ≤ 10 minutes). */
export async function partUrls(deps: MediaDeps, identity: Identity, id: string, partNumbers: number[] | undefined) {
  const row = pendingUpload(await findOwned(deps, identity, id));
  if (!row.upload_id || !row.part_size || !row.part_count) throw new ConflictError('Not a multipart upload', 'NOT_MULTIPART');
  const { part_size: partSize, part_count: partCount, upload_id: uploadId } = row;
  const numbers = partNumbers ?? Array.from({ length: Math.min(partCount, 1000) }, (_, i) => i + 1);
  const bad = numbers.filter((n) => n > partCount);
  if (bad.length) throw new ValidationError(`This upload has ${partCount} parts`, { invalidPartNumbers: bad }, 'INVALID_PART_NUMBER');
  const parts = await Promise.all(
    [...new Set(numbers)].map(async (partNumber) => {
      const size = partLength(row.size, partSize, partNumber);
      const p = await deps.storage.presignPart({ key: row.object_key, uploadId, partNumber, size, expiresIn: deps.config.MEDIA_UPLOAD_URL_TTL_SECONDS });
      return { ...iso(p), partNumber, size };
    }),
  );
  return { parts };
}

/** Deletes the rejected bytes, marks the asset failed, answers 422 with `code`. */
async function reject(deps: MediaDeps, row: AssetRow, code: string, message: string, details: unknown, log: Log): Promise<never> {
  await removeStoredBytes(deps, row);
  await repo.transition(deps.db, row.id, ['pending'], 'failed');
  log.warn({ assetId: row.id, status: 'failed', code, details }, 'asset upload rejected');
  throw new UnprocessableError(message, code, details);
}

/**
 * Completes an upload: (multipart) assembles the parts, then checks what storage really holds —
 * HeadObject for size and type, a ranged GET of the first bytes for the type's signature — and only
 * then marks the asset ready. A mismatch deletes the object (422). Repeating complete on a ready
 * asset returns it unchanged.
 */
export async function completeUpload(
  deps: MediaDeps,
  identity: Identity,
  id: string,
  parts: Array<{ partNumber: number; etag: string }> | undefined,
  log: Log,
): Promise<AssetView> {
  const found = await findOwned(deps, identity, id);
  if (found.status === 'ready') return toView(found);
  const row = pendingUpload(found);

  if (row.upload_id && row.part_count) {
    if (!parts || parts.length !== row.part_count) {
      throw new ValidationError(`All ${row.part_count} parts are required`, { expected: row.part_count }, 'PARTS_REQUIRED');
    }
    const sorted = [...parts].sort((a, b) => a.partNumber - b.partNumber);
    if (sorted.some((p, i) => p.partNumber !== i + 1)) throw new ValidationError('Part numbers must be 1..n, each once', undefined, 'INVALID_PART_NUMBER');
    try {
      await deps.storage.completeMultipart(row.object_key, row.upload_id, sorted);
    } catch (err) {
      if (!(err instanceof StorageRequestError)) throw err;
      // NoSuchUpload: a concurrent complete may have assembled it already — fall through to the
      // object checks rather than deleting what that request is about to mark ready.
      if (err.name !== 'NoSuchUpload') {
        // Typically InvalidPart (wrong ETag, a part not uploaded yet): the upload stays open so the
        // client can fix it.
        throw new UnprocessableError('Storage refused the part list', 'MULTIPART_INVALID', { storageCode: err.name });
      }
    }
    await repo.deleteSession(deps.db, row.id);
    row.upload_id = null;
  } else if (parts) {
    throw new ValidationError('parts are only for multipart uploads', undefined, 'NOT_MULTIPART');
  }

  const head = await deps.storage.head(row.object_key);
  if (!head) throw new ConflictError('The file has not been uploaded yet', 'OBJECT_NOT_FOUND');
  if (head.size !== row.size) {
    return reject(deps, row, 'SIZE_MISMATCH', 'Uploaded size differs from the declared size', { expected: row.size, actual: head.size }, log);
  }
  const storedType = normaliseContentType(head.contentType ?? '');
  if (storedType !== row.content_type) {
    return reject(deps, row, 'CONTENT_TYPE_MISMATCH', 'Stored content type differs from the declared one', { expected: row.content_type, actual: storedType }, log);
  }
  if (hasSignature(row.content_type)) {
    const first = await deps.storage.readHead(row.object_key, Math.min(SNIFF_BYTES, row.size));
    if (!matchesSignature(row.content_type, first)) {
      return reject(deps, row, 'CONTENT_MISMATCH', `File content is not ${row.content_type}`, { expected: row.content_type }, log);
    }
  }
  if (!(await repo.transition(deps.db, row.id, ['pending'], 'ready', { etag: head.etag ?? null, requireUnexpired: true }))) {
    // Expired or deleted while we checked: whoever claimed it removes the object.
    throw new GoneError('Upload expired or was removed', 'UPLOAD_EXPIRED');
  }
  log.info({ assetId: row.id, status: 'ready', size: head.size }, 'asset ready');
  const ready = await repo.find(deps.db, row.id);
  if (!ready) throw new Error(`asset ${row.id} vanished`);
  return toView(ready);
}

/** Abort = delete of a pending upload (aborts the multipart upload too); idempotent. */
export async function abortUpload(deps: MediaDeps, identity: Identity, id: string, log: Log): Promise<void> {
  const row = await findOwned(deps, identity, id, { includeDeleted: true });
  if (row.status === 'ready' || row.status === 'quarantined') throw new ConflictError('Upload already completed; delete the asset instead', 'UPLOAD_NOT_PENDING');
  await deleteAsset(deps, identity, id, log);
}

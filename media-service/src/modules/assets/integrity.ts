import type { FastifyInstance } from 'fastify';
import type { ObjectHead } from '../../storage/storage.ts';
import type { Log, MediaDeps } from '../deps.ts';
import { assetsRepository as repo, type AssetRow } from './assets.repository.ts';
import { normaliseContentType } from './policy.ts';

/**
 * Re-checks of objects media marked ready (issue 11 §6). `complete` verified size, content type
 * and leading bytes and recorded the ETag; anyone holding bucket credentials (or a store that
 * checks none) can later swap the bytes under the same key. A ready asset is checked:
 * - on every read that hands out a URL (GET /assets/:id, /download): one HeadObject;
 * - by a periodic verifier (MEDIA_VERIFY_INTERVAL_SECONDS) for the stalest ready assets, since public
 *   objects are fetched from the bucket / CDN without asking media.
 * A changed ETag, size or content type, or a missing object, quarantines the asset: no more URLs,
 * and a public object is deleted so the public prefix stops serving it (a private one stays for
 * inspection; only media can presign it, and it no longer does).
 */

export interface Tamper {
  reason: 'missing' | 'etag' | 'size' | 'content-type';
  expected: { etag: string | null; size: number; contentType: string };
  actual: { etag: string | null; size: number; contentType: string | null } | null;
  detectedAt: string;
}

const bare = (etag: string | null | undefined) => (etag ?? '').replace(/^W\//, '').replace(/^"|"$/g, '');

/** What differs between the recorded asset and storage's HeadObject answer; undefined when nothing. */
export function compareStored(row: AssetRow, head: ObjectHead | undefined, now = new Date()): Tamper | undefined {
  const expected = { etag: row.etag, size: row.size, contentType: row.content_type };
  const base = { expected, detectedAt: now.toISOString() };
  if (!head) return { ...base, reason: 'missing', actual: null };
  const actual = { etag: head.etag ?? null, size: head.size, contentType: head.contentType ?? null };
  // A row completed before ETags were recorded has none to compare; size and type still are.
  if (row.etag !== null && bare(row.etag) !== bare(head.etag)) return { ...base, reason: 'etag', actual };
  if (head.size !== row.size) return { ...base, reason: 'size', actual };
  if (normaliseContentType(head.contentType ?? '') !== row.content_type) return { ...base, reason: 'content-type', actual };
  return undefined;
}

/**
 * Checks a ready asset against storage; returns the row as it now stands (quarantined when the
 * object changed). Throws ServiceUnavailableError when storage cannot answer: no URL is handed out
 * for an object that could not be checked.
 */
export async function verifyStored(deps: MediaDeps, row: AssetRow, log: Log): Promise<AssetRow> {
  if (row.status !== 'ready') return row;
  const tamper = compareStored(row, await deps.storage.head(row.object_key));
  if (!tamper) {
    await repo.markVerified(deps.db, row.id);
    return row;
  }
  if (!(await repo.quarantine(deps.db, row.id, tamper))) {
    // Deleted or quarantined concurrently: answer with what the row is now.
    return (await repo.find(deps.db, row.id)) ?? row;
  }
  log.warn({ assetId: row.id, status: 'quarantined', reason: tamper.reason, expected: tamper.expected, actual: tamper.actual }, 'asset quarantined: stored object changed');
  if (row.visibility === 'public' && tamper.reason !== 'missing') {
    try {
      await deps.storage.delete(row.object_key);
    } catch (err) {
      log.error({ assetId: row.id, err }, 'could not remove a quarantined public object');
    }
  }
  return { ...row, status: 'quarantined', quarantine: tamper };
}

export interface VerifyResult {
  checked: number;
  quarantined: number;
  failed: number;
}

/** One verifier pass over at most `limit` ready assets not verified for MEDIA_VERIFY_INTERVAL_SECONDS. */
export async function runVerifier(deps: MediaDeps, log: Log, opts: { limit?: number; staleSeconds?: number } = {}): Promise<VerifyResult> {
  const result: VerifyResult = { checked: 0, quarantined: 0, failed: 0 };
  const rows = await repo.dueForVerification(deps.db, opts.staleSeconds ?? deps.config.MEDIA_VERIFY_INTERVAL_SECONDS, opts.limit ?? deps.config.MEDIA_VERIFY_BATCH);
  for (const row of rows) {
    try {
      const after = await verifyStored(deps, row, log);
      result.checked++;
      if (after.status === 'quarantined') result.quarantined++;
    } catch (err) {
      result.failed++;
      log.error({ assetId: row.id, err }, 'asset verification failed; will retry');
    }
  }
  return result;
}

/** Runs the verifier every MEDIA_VERIFY_INTERVAL_SECONDS once the app is ready; stops on close. */
export function scheduleVerifier(app: FastifyInstance, deps: MediaDeps): void {
  const every = deps.config.MEDIA_VERIFY_INTERVAL_SECONDS;
  if (every === 0) return;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  app.addHook('onReady', async () => {
    timer = setInterval(() => {
      if (running) return;
      running = runVerifier(deps, app.log)
        .then((r) => {
          if (r.quarantined || r.failed) app.log.warn(r, 'verifier pass');
        })
        .catch((err: unknown) => app.log.error({ err }, 'verifier pass failed'))
        .finally(() => {
          running = undefined;
        });
    }, every * 1000);
    timer.unref();
  });
  app.addHook('preClose', async () => {
    clearInterval(timer);
    await running;
  });
}

import type { FastifyInstance } from 'fastify';
import type { Log, MediaDeps } from '../deps.ts';
import { assetsRepository as repo, type AssetRow } from './assets.repository.ts';
import { removeStoredBytes } from './assets.service.ts';

export interface ExpiryResult {
  expired: number;
  retried: number;
  purged: number;
  failed: number;
}

const BATCH = 100;
/** A `deleting`/`expiring` row untouched this long is assumed abandoned (crash, storage error). */
const RETRY_GRACE_SECONDS = 60;

/**
 * One pass of the expiry job: stale pending uploads are claimed (pending → expiring) in the
 * database first, so a concurrent complete cannot mark them ready (it requires an unexpired row);
 * then their multipart uploads are aborted and objects deleted, then their rows removed. A storage
 * error leaves the row `expiring` for the next pass. Also finishes abandoned deletions and purges
 * old tombstones.
 */
export async function runExpiry(deps: MediaDeps, log: Log): Promise<ExpiryResult> {
  const result: ExpiryResult = { expired: 0, retried: 0, purged: 0, failed: 0 };
  const finish = async (row: AssetRow, kind: 'expired' | 'retried') => {
    try {
      await removeStoredBytes(deps, row);
      if (row.status === 'deleting') await repo.transition(deps.db, row.id, ['deleting'], 'deleted');
      else await repo.remove(deps.db, row.id);
      result[kind]++;
      log.info({ assetId: row.id, from: row.status, status: row.status === 'deleting' ? 'deleted' : 'removed' }, 'asset upload expired');
    } catch (err) {
      result.failed++;
      log.error({ assetId: row.id, err }, 'asset cleanup failed; will retry');
    }
  };
  for (;;) {
    const claimed = await repo.claimExpired(deps.db, BATCH);
    for (const row of claimed) await finish(row, 'expired');
    if (claimed.length < BATCH) break;
  }
  for (const row of await repo.unfinishedCleanups(deps.db, RETRY_GRACE_SECONDS, BATCH)) await finish(row, 'retried');
  result.purged = await repo.purgeTombstones(deps.db, deps.config.MEDIA_TOMBSTONE_TTL_SECONDS);
  return result;
}

/** Runs the job every MEDIA_EXPIRY_INTERVAL_SECONDS once the app is ready; stops on close. */
export function scheduleExpiry(app: FastifyInstance, deps: MediaDeps): void {
  const every = deps.config.MEDIA_EXPIRY_INTERVAL_SECONDS;
  if (every === 0) return;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  app.addHook('onReady', async () => {
    timer = setInterval(() => {
      if (running) return;
      running = runExpiry(deps, app.log)
        .then((r) => {
          if (r.expired || r.retried || r.purged || r.failed) app.log.info(r, 'expiry pass');
        })
        .catch((err: unknown) => app.log.error({ err }, 'expiry pass failed'))
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

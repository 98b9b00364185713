import type { Pool } from '@linkport/common';

/** A PostgreSQL LSN ('16/B374D848') as a comparable number. */
export function parseLsn(lsn: string): bigint {
  const [hi, lo] = lsn.split('/');
  return (BigInt(`0x${hi ?? '0'}`) << 32n) | BigInt(`0x${lo ?? '0'}`);
}

const PENDING = -1n;

/**
 * Which pool answers a link lookup when the redirect reads a streaming replica
 * (REDIRECT_DATABASE_READ_URL). Lookups go to the replica, except for codes that changed recently:
 *
 *  1. every `link_changed` notification arrives on the LISTEN connection to the *primary*, after
 *     the editing transaction committed (PostgreSQL docs, NOTIFY: delivered at commit). The code is
 *     pinned at once (pending), then with the primary's pg_current_wal_insert_lsn() read on that
 *     same connection — necessarily past the edit's commit record (not pg_current_wal_lsn(), the
 *     *write* position, which with synchronous_commit=off can still be before that record);
 *  2. a pinned code is read from the primary until the replica has replayed past the pin:
 *     pg_last_wal_replay_lsn() on the replica (cached for `lsnRefreshMs`, monotonic while the
 *     replica runs). A standby's snapshot taken after replay passed an LSN sees every transaction
 *     committed before it (docs §27.4 Hot Standby), so from then on the replica cannot return
 *     the pre-edit row, and the pin is dropped;
 *  3. when notifications may have been missed (LISTEN lost and re-established), everything is
 *     pinned to the primary's LSN at that moment (`pinAll`).
 *
 * So a deleted or disabled link is served stale only for as long as the notification takes to
 * arrive — the same bound as without a replica — whatever the replica lag: lag moves reads to the
 * primary, never back in time. A replica that is down or not a standby (replay LSN null) counts as
 * behind: pinned codes go to the primary, the rest fail over as ordinary lookups do.
 */
export class ReadRouting {
  private readonly pins = new Map<string, bigint>();
  private allPin: bigint | undefined;
  private replayed = 0n;
  private replayedAt = 0;
  private refreshing: Promise<void> | undefined;

  constructor(
    readonly primary: Pool,
    readonly replica: Pool,
    private readonly lsnRefreshMs = 100,
  ) {}

  /** Called on a notification, before the caches are evicted: pinned from now until the LSN is known. */
  pin(code: string): void {
    this.pins.set(code, PENDING);
    if (this.pins.size > 100_000) {
      // a flood of edits: fall back to pinning everything rather than growing without bound
      this.pins.clear();
      this.allPin = PENDING;
    }
  }

  /** The LSN the notification's commit is at or before (read on the LISTEN connection). */
  pinAt(code: string, lsn: string): void {
    const cur = this.pins.get(code);
    const at = parseLsn(lsn);
    if (cur === PENDING || cur === undefined || at > cur) this.pins.set(code, at);
  }

  /** Everything goes to the primary until the replica passes `lsn` (PENDING: until told). */
  pinAll(lsn?: string): void {
    this.allPin = lsn === undefined ? PENDING : parseLsn(lsn);
  }

  get pinnedCount(): number {
    return this.pins.size + (this.allPin !== undefined ? 1 : 0);
  }

  /** The pool for a lookup of `code`. */
  async poolFor(code: string): Promise<Pool> {
    const pin = this.pins.get(code);
    const all = this.allPin;
    if (pin === undefined && all === undefined) return this.replica;
    if (pin === PENDING || all === PENDING) return this.primary;
    await this.refresh();
    if (all !== undefined && this.replayed >= all) this.allPin = undefined;
    if (pin !== undefined && this.replayed >= pin) this.pins.delete(code);
    return this.pins.has(code) || this.allPin !== undefined ? this.primary : this.replica;
  }

  private refresh(): Promise<void> {
    if (Date.now() - this.replayedAt < this.lsnRefreshMs) return Promise.resolve();
    this.refreshing ??= this.replica
      .query<{ lsn: string | null }>({ name: 'redirect_replay_lsn', text: 'SELECT pg_last_wal_replay_lsn()::text AS lsn' })
      .then(
        ({ rows }) => {
          const lsn = rows[0]?.lsn;
          if (lsn) {
            const v = parseLsn(lsn);
            if (v > this.replayed) this.replayed = v;
          }
          this.replayedAt = Date.now();
        },
        () => {
          // replica unreachable: keep the pins (reads stay on the primary)
          this.replayedAt = Date.now();
        },
      )
      .finally(() => {
        this.refreshing = undefined;
      });
    return this.refreshing;
  }
}

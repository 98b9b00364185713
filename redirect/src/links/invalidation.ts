import pg from 'pg';
import type { Logger } from '@linkport/common';
import type { LinkStore } from './link-store.ts';
import type { ReadRouting } from './read-replica.ts';

/**
 * LISTEN link_changed (sent by the links.notify_changed trigger for every content edit, insert and
 * delete, but not for click bookkeeping) and evict the code everywhere. A dedicated connection,
 * not the pool: LISTEN is per session. On any failure it reconnects with backoff (100 ms doubling to
 * 5 s, forever) and, once listening again, clears the local and Redis caches, since notifications
 * sent while it was away are lost (PostgreSQL docs, NOTIFY: only sessions listening at commit time
 * receive it).
 */
export class InvalidationListener {
  private client: pg.Client | undefined;
  private stopped = false;
  private retryMs = 100;
  private timer: NodeJS.Timeout | undefined;
  connected = false;

  constructor(
    private readonly url: string,
    private readonly store: LinkStore,
    private readonly log: Logger,
    /** With a read replica: codes changed are read from the primary until the replica catches up. */
    private readonly routing?: ReadRouting,
  ) {}

  async start(): Promise<void> {
    await this.connect().catch((err: unknown) => {
      this.log.warn({ err }, 'link_changed listener could not connect; retrying');
      this.schedule();
    });
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url, application_name: 'redirect-listen', keepAlive: true });
    this.client = client;
    client.on('notification', (msg) => {
      if (msg.channel !== 'link_changed' || !msg.payload) return;
      const code = msg.payload;
      const routing = this.routing;
      if (routing) {
        // pinned before the eviction, so no lookup can refill from a replica still behind the edit
        routing.pin(code);
        client.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn').then(
          ({ rows }) => {
            if (rows[0]) routing.pinAt(code, rows[0].lsn);
          },
          // connection lost: the reconnect pins everything (below)
          () => {},
        );
      }
      this.store.invalidate(code);
    });
    const lost = (err?: unknown) => {
      if (this.client !== client) return;
      this.connected = false;
      this.client = undefined;
      client.removeAllListeners('end');
      client.end().catch(() => {});
      if (this.stopped) return;
      this.log.warn({ err: err instanceof Error ? err.message : err }, 'link_changed listener lost; reconnecting');
      // The caches are cleared once LISTEN is back (connect() below), not now: while PostgreSQL is
      // down they are all this node can serve from, and edits missed in the gap are evicted then.
      this.schedule();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    await client.connect();
    // Edits missed while away may not have reached the replica either: primary reads until it has
    // replayed past this point (pending until the LSN is read, right after LISTEN took effect).
    this.routing?.pinAll();
    await client.query('LISTEN link_changed');
    if (this.routing) {
      const { rows } = await client.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn');
      if (rows[0]) this.routing.pinAll(rows[0].lsn);
    }
    if (this.client !== client) return;
    this.connected = true;
    this.retryMs = 100;
    // Anything cached before this LISTEN took effect may have missed an edit.
    this.store.clearLocal();
    this.store.clearShared().catch((err: unknown) => this.log.warn({ err }, 'could not clear the Redis link cache'));
  }

  private schedule(): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.connect().catch((err: unknown) => {
        this.log.debug({ err }, 'link_changed listener reconnect failed');
        const c = this.client;
        this.client = undefined;
        this.connected = false;
        c?.end().catch(() => {});
        this.schedule();
      });
    }, this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, 5_000);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => {});
  }
}

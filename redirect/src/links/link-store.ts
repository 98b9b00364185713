import { LRUCache } from 'lru-cache';
import { Cluster, type Redis } from 'ioredis';
import { isConnectionError, type Logger } from '@linkport/common';
import type { Link } from './link.ts';
import type { LinksRepository } from './links.repository.ts';
import type { Metrics } from '../metrics.ts';

export interface LinkStoreOptions {
  localTtlMs: number;
  localMax: number;
  negativeTtlMs: number;
  redisTtlS: number;
  /** How long past its TTL a local entry may answer while PostgreSQL is unreachable (0: never). */
  staleIfErrorMs?: number;
}

/** `null` cached on purpose: the code does not exist (negative entry). */
type Entry = Link | null;
const NEGATIVE = 'null';

export const redisLinkKey = (code: string) => `link:${code}`;

/**
 * Three tiers: in-process LRU (short TTL; about a 10x lever over Redis alone, docs/research/peers.md §4
 * "wormholes", and Dub's 5 s LRU) → Redis `link:{code}` shared by every node → PostgreSQL.
 * Unknown codes are cached negatively for a few seconds so scans of random codes cannot flood
 * PostgreSQL. Every tier is evicted on `link_changed` (see invalidation.ts); TTLs bound staleness
 * when a notification is missed.
 */
export class LinkStore {
  private readonly local: LRUCache<string, { v: Entry; at: number }> | undefined;
  private readonly inflight = new Map<string, Promise<Entry>>();
  /** Bumped per code on invalidation: a lookup that started before it must not refill the cache. */
  private readonly generation = new Map<string, number>();
  private epoch = 0;

  constructor(
    private readonly repo: LinksRepository,
    private readonly redis: Redis | Cluster,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly opts: LinkStoreOptions,
  ) {
    // noDeleteOnStaleGet: an expired entry stays (until LRU eviction) as the stale-if-error copy;
    // peek() and plain get() still never return it.
    this.local = opts.localTtlMs > 0 ? new LRUCache({ max: opts.localMax, ttl: opts.localTtlMs, ttlAutopurge: false, noDeleteOnStaleGet: true }) : undefined;
  }

  /** Synchronous fast path: the cached entry, or undefined when the caller must await get(). */
  peek(code: string): { v: Entry; at: number } | undefined {
    const hit = this.local?.get(code);
    if (hit) this.metrics.c.cache_hits_total++;
    return hit;
  }

  get(code: string): Promise<Entry> {
    this.metrics.c.cache_misses_total++;
    let p = this.inflight.get(code);
    if (!p) {
      p = this.load(code).finally(() => this.inflight.delete(code));
      this.inflight.set(code, p);
    }
    return p;
  }

  private async load(code: string): Promise<Entry> {
    const gen = this.generation.get(code) ?? 0;
    const epoch = this.epoch;
    const fromRedis = await this.readRedis(code);
    if (fromRedis !== undefined) {
      this.metrics.c.redis_hits_total++;
      this.fillLocal(code, fromRedis, gen, epoch);
      return fromRedis;
    }
    this.metrics.c.db_lookups_total++;
    let link: Link | null;
    try {
      link = await this.repo.findByCode(code);
    } catch (err) {
      this.metrics.c.db_errors_total++;
      const stale = isConnectionError(err) ? this.stale(code) : undefined;
      if (stale) {
        this.metrics.c.stale_served_total++;
        return stale.v;
      }
      throw err;
    }
    if (this.fresh(code, gen, epoch)) {
      this.fillLocal(code, link, gen, epoch);
      this.writeRedis(code, link);
    }
    return link;
  }

  /**
   * RFC 5861 stale-if-error: with PostgreSQL unreachable, the last copy this node read answers for
   * up to staleIfErrorMs past its TTL. When PostgreSQL itself is down no edit can commit, so the
   * copy is as current as any; when only this node is cut off, it is at most that old — the bound a
   * Redis copy already has (REDIS_LINK_TTL_S). Invalidations and LISTEN reconnects still remove it.
   */
  private stale(code: string): { v: Entry } | undefined {
    const max = this.opts.staleIfErrorMs ?? 0;
    if (!this.local || max <= 0) return undefined;
    const e = this.local.get(code, { allowStale: true });
    return e && Date.now() - e.at <= this.opts.localTtlMs + max ? e : undefined;
  }

  private fresh(code: string, gen: number, epoch: number): boolean {
    return epoch === this.epoch && (this.generation.get(code) ?? 0) === gen;
  }

  private fillLocal(code: string, v: Entry, gen: number, epoch: number): void {
    if (!this.local || !this.fresh(code, gen, epoch)) return;
    this.local.set(code, { v, at: Date.now() }, v === null ? { ttl: this.opts.negativeTtlMs } : undefined);
  }

  private async readRedis(code: string): Promise<Entry | undefined> {
    // Redis down: skip it at once rather than queue behind reconnects (enableOfflineQueue is off).
    if (this.opts.redisTtlS === 0 || this.redis.status !== 'ready') return undefined;
    try {
      const s = await this.redis.get(redisLinkKey(code));
      if (s === null) return undefined;
      return s === NEGATIVE ? null : (JSON.parse(s) as Link);
    } catch (err) {
      this.metrics.c.redis_errors_total++;
      this.log.debug({ err }, 'redis lookup failed');
      return undefined;
    }
  }

  private writeRedis(code: string, link: Link | null): void {
    if (this.opts.redisTtlS === 0 || this.redis.status !== 'ready') return;
    // A link with a click limit re-reads click_count often; its Redis copy lives as long as the local one.
    const ttlMs = link === null ? this.opts.negativeTtlMs : link.maxClicks !== null ? Math.max(this.opts.localTtlMs, 1000) : this.opts.redisTtlS * 1000;
    this.redis.set(redisLinkKey(code), link === null ? NEGATIVE : JSON.stringify(link), 'PX', ttlMs).catch((err: unknown) => {
      this.metrics.c.redis_errors_total++;
      this.log.debug({ err }, 'redis cache write failed');
    });
  }

  /** Applies a link_changed notification: this node's entry and the shared Redis one. */
  invalidate(code: string): void {
    this.metrics.c.invalidations_total++;
    this.generation.set(code, (this.generation.get(code) ?? 0) + 1);
    // The generation map only needs to outlive in-flight lookups; keep it from growing unbounded.
    if (this.generation.size > 10_000) {
      this.generation.clear();
      this.epoch++;
    }
    this.local?.delete(code);
    if (this.redis.status === 'ready') {
      this.redis.del(redisLinkKey(code)).catch((err: unknown) => this.log.warn({ err, code }, 'redis eviction failed'));
    }
  }

  /** Notifications may have been missed (LISTEN connection lost): forget everything local. */
  clearLocal(): void {
    this.epoch++;
    this.generation.clear();
    this.local?.clear();
  }

  /**
   * After a LISTEN gap the shared Redis copies may be stale too (when no other node was listening,
   * nobody evicted them): drop every `link:*` key. SCAN + UNLINK in batches, rare (startup and
   * reconnects), costs a burst of PostgreSQL reads as the caches refill.
   */
  async clearShared(): Promise<void> {
    if (this.redis.status !== 'ready') return;
    // SCAN walks one node: on a cluster, every master (a batch from one node shares no slot, so
    // each key is unlinked on its own — the node's pipeline still sends them together).
    const cluster = this.redis instanceof Cluster;
    const nodes = this.redis instanceof Cluster ? this.redis.nodes('master') : [this.redis];
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', 'link:*', 'COUNT', 1000);
        cursor = next;
        if (keys.length === 0) continue;
        if (cluster) await Promise.all(keys.map((k) => node.unlink(k)));
        else await node.unlink(...keys);
      } while (cursor !== '0');
    }
  }

  get size(): number {
    return this.local?.size ?? 0;
  }
}

/**
 * The click worker's metrics (served on WORKER_PORT's /metrics by serveProbes). Pipeline state is
 * read from Redis when scraped — stream length, the group's lag and pending entries (XINFO GROUPS,
 * Redis ≥ 7: `lag` = entries not yet delivered to the group), the dead-letter stream's length —
 * so every worker reports the same truth and a stopped worker's backlog still shows on the others.
 * What only this worker knows (batches, commit latency, reclaimed and dead-lettered entries) comes
 * from the consumer.
 */
import client from 'prom-client';
import { createRegistry, type AnyRedis, type Registry } from '@linkport/common';
import type { ConsumerStats } from './consumer.ts';

/** Batches are 1…WORKER_BATCH (default 500) entries. */
const BATCH_BUCKETS = [1, 5, 10, 25, 50, 100, 250, 500, 1000];
/** Commit latency: a batch transaction takes milliseconds to a second. */
const COMMIT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
/** Click freshness: redirect → committed row, normally well under a second; minutes in an outage. */
const FRESHNESS_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900];

export interface WorkerMetricsOptions {
  redis: AnyRedis;
  /** Every stream the worker consumes (clicks/streams.ts consumedStreams): one, or the shards. */
  streams: string[];
  deadStream: string;
  group: string;
  stats: () => ConsumerStats;
  registry?: Registry;
}

export class WorkerMetrics {
  readonly registry: Registry;
  private readonly batchSize: client.Histogram;
  private readonly commit: client.Histogram;
  private readonly freshness: client.Histogram;

  constructor(opts: WorkerMetricsOptions) {
    const registry = (this.registry = opts.registry ?? createRegistry());
    const registers = [registry];
    this.batchSize = new client.Histogram({ name: 'linkport_worker_batch_size', help: 'Clicks per committed batch.', buckets: BATCH_BUCKETS, registers });
    this.commit = new client.Histogram({ name: 'linkport_worker_commit_duration_seconds', help: 'Time to write and COMMIT one batch in PostgreSQL.', buckets: COMMIT_BUCKETS, registers });
    this.freshness = new client.Histogram({
      name: 'linkport_click_freshness_seconds',
      help: "Age of a batch's oldest click when its batch committed (redirect → counted).",
      buckets: FRESHNESS_BUCKETS,
      registers,
    });
    const counter = (name: string, help: string, read: (s: ConsumerStats) => number) =>
      new client.Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(read(opts.stats()));
        },
      });
    counter('linkport_worker_clicks_inserted_total', 'Click rows inserted (replays excluded).', (s) => s.inserted);
    counter('linkport_worker_clicks_counted_total', 'Clicks counted in links and rollups (bots excluded).', (s) => s.counted);
    counter('linkport_worker_entries_acked_total', 'Stream entries acknowledged.', (s) => s.acked);
    counter('linkport_worker_entries_reclaimed_total', 'Pending entries taken over from idle consumers (XAUTOCLAIM).', (s) => s.claimed);
    counter('linkport_worker_dead_letters_total', 'Entries moved to the dead-letter stream by this worker.', (s) => s.dead);

    const { redis, streams, deadStream, group } = opts;
    new client.Gauge({
      name: 'linkport_click_stream',
      help: 'Click stream state summed over the shards: length (entries kept), lag (not yet delivered to the group), pending (delivered, not acked), dead_letters (dead-letter stream length).',
      labelNames: ['stat'],
      registers,
      async collect() {
        this.reset();
        try {
          const [dead, perStream] = await Promise.all([
            redis.xlen(deadStream),
            Promise.all(streams.map(async (stream) => ({ len: await redis.xlen(stream), groups: await xinfoGroups(redis, stream) }))),
          ]);
          this.set({ stat: 'dead_letters' }, dead);
          let length = 0;
          let pending = 0;
          let lag: number | null = 0;
          for (const { len, groups } of perStream) {
            length += len;
            const info = groups.find((g) => g.get('name') === group);
            if (!info) continue; // the shard's group not created yet: nothing delivered, nothing pending
            pending += Number(info.get('pending') ?? 0);
            // `lag` is null when Redis cannot tell (entries deleted mid-stream); then the sum is unknown too.
            const l = info.get('lag');
            lag = lag === null || l === null || l === undefined ? null : lag + Number(l);
          }
          this.set({ stat: 'length' }, length);
          this.set({ stat: 'pending' }, pending);
          if (lag !== null) this.set({ stat: 'lag' }, lag);
        } catch {
          // Redis away: no samples this scrape (the absence alerts), never a failed scrape.
        }
      },
    });
  }

  batch(size: number, commitSeconds: number, oldestClickTs: number): void {
    this.batchSize.observe(size);
    this.commit.observe(commitSeconds);
    this.freshness.observe(Math.max(0, (Date.now() - oldestClickTs) / 1000));
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}

/**
 * XINFO GROUPS of one stream as maps. Through a one-key script, like the consumer's XGROUP CREATE:
 * ioredis' Cluster client does not know XINFO's key (it follows the subcommand), sends it to any
 * node and gets MOVED; EVAL routes by KEYS[1]. XINFO GROUPS on a missing key is an error: no groups.
 */
const XINFO_GROUPS = `if redis.call('EXISTS', KEYS[1]) == 0 then return {} end return redis.call('XINFO', 'GROUPS', KEYS[1])`;

async function xinfoGroups(redis: AnyRedis, stream: string): Promise<Array<Map<string, unknown>>> {
  const groups = (await redis.eval(XINFO_GROUPS, 1, stream)) as unknown[][];
  return groups.map((g) => {
    const info = new Map<string, unknown>();
    for (let i = 0; i + 1 < g.length; i += 2) info.set(String(g[i]), g[i + 1]);
    return info;
  });
}

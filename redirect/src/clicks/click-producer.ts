import type { AnyRedis, Logger } from '@linkport/common';
import { packClick, type Click } from './click.ts';
import { clickStreams } from './streams.ts';
import type { Metrics } from '../metrics.ts';

/**
 * One XADD per click, many clicks per command: the script appends each argument as its own stream
 * entry (`XADD <stream> MAXLEN ~ <n> * c <click>`), so the worker still sees one entry — one
 * idempotency key — per redirect, while the redirect server pays one command, one reply and one
 * socket write per batch. Measured (bench/redirect.ts): a pipeline of single XADDs cost ~18 µs of
 * server CPU per redirect, more than the whole lookup → decide → respond path. ioredis sends it by
 * EVALSHA and falls back to EVAL after a Redis restart empties the script cache. The script touches
 * exactly one key (KEYS[1], one stream shard), so on a Redis Cluster it runs on the shard's master
 * without CROSSSLOT (streams.ts).
 */
const XADD_MANY = `
local n = 0
for i = 2, #ARGV do
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'c', ARGV[i])
  n = n + 1
end
return n`;

const BATCH = 256;

type ClickRedis = AnyRedis & { xaddClicks(stream: string, maxlen: number, ...clicks: string[]): Promise<number> };

/**
 * Appends clicks to the stream without the response ever waiting: clicks gather for `lingerMs`
 * (or up to 256; Kafka producers' linger.ms) and go out in one command whose reply only handles
 * failure. While Redis is unavailable clicks wait in a bounded FIFO and are flushed when the
 * connection is ready again; overflow is counted (clicks_dropped_total), never silent. A failed
 * command may in fact have been applied (reply lost); re-sending is safe because the worker dedups
 * on the click id.
 *
 * Sharded streams (CLICK_STREAM_SHARDS > 1): each batch goes to the next shard, round robin from a
 * random start per process. Per batch, not per click: one command per batch is what keeps the hot
 * path cheap, and hashing clicks by link id would split every batch into N commands and pile a hot
 * link's whole traffic onto one shard (one master). Order across shards does not matter: clicks are
 * counted, not sequenced. A batch that fails (its shard's master is down and not yet replaced by a
 * replica) is buffered and retried on the next shard, so one failing master delays nothing while
 * the others answer.
 */
export class ClickProducer {
  private readonly redis: ClickRedis;
  private readonly buffer: Click[] = [];
  private head = 0;
  private flushing = false;
  private inflight = 0;
  private idleWaiters: (() => void)[] = [];
  private batch: Click[] = [];
  private timer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly streams: string[];
  private next: number;

  constructor(
    redis: AnyRedis,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly opts: { stream: string; shards?: number; maxlen: number; bufferSize: number; lingerMs: number; minReplicas?: number; waitMs?: number },
  ) {
    redis.defineCommand('xaddClicks', { numberOfKeys: 1, lua: XADD_MANY });
    this.redis = redis as ClickRedis;
    this.streams = clickStreams(opts.stream, opts.shards ?? 1);
    this.next = Math.floor(Math.random() * this.streams.length);
    redis.on('ready', () => void this.flush());
  }

  /** Clicks not yet in Redis: the outage buffer plus the batch lingering. */
  get buffered(): number {
    return this.waiting + this.batch.length;
  }

  private get waiting(): number {
    return this.buffer.length - this.head;
  }

  record(click: Click): void {
    if (this.redis.status !== 'ready' || this.waiting > 0) {
      this.enqueue(click);
      return;
    }
    this.batch.push(click);
    if (this.batch.length >= BATCH) this.sendBatch();
    else this.timer ??= setTimeout(() => this.sendBatch(), this.opts.lingerMs);
  }

  private async send(clicks: Click[]): Promise<number> {
    const stream = this.streams[this.next]!;
    this.next = (this.next + 1) % this.streams.length;
    const min = this.opts.minReplicas ?? 0;
    if (min === 0) return this.redis.xaddClicks(stream, this.opts.maxlen, ...clicks.map(packClick));
    // WAIT in the same pipeline: on a Cluster a pipeline goes to the node of its keyed command, so
    // WAIT asks the very master that took the XADD (Redis docs, WAIT: it waits for the writes of
    // the current connection). Fewer acks than asked → treated as failed and re-sent elsewhere.
    const pipe = this.redis.pipeline() as unknown as { xaddClicks(s: string, m: number, ...c: string[]): unknown; wait(n: number, ms: number): unknown; exec(): Promise<[Error | null, unknown][] | null> };
    pipe.xaddClicks(stream, this.opts.maxlen, ...clicks.map(packClick));
    pipe.wait(min, this.opts.waitMs ?? 200);
    const res = await pipe.exec();
    const [added, acked] = res ?? [];
    if (!added || !acked) throw new Error('click pipeline returned no reply');
    if (added[0]) throw added[0];
    if (acked[0]) throw acked[0];
    if (Number(acked[1]) < min) {
      this.metrics.c.clicks_unreplicated_total += clicks.length;
      throw new Error(`clicks reached ${String(acked[1])} of ${min} replicas`);
    }
    return Number(added[1]);
  }

  private sendBatch(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const clicks = this.batch;
    this.batch = [];
    if (clicks.length === 0) return;
    if (this.redis.status !== 'ready') {
      for (const c of clicks) this.enqueue(c);
      return;
    }
    this.inflight++;
    this.send(clicks)
      .then(
        () => {
          this.metrics.c.clicks_sent_total += clicks.length;
        },
        (err: unknown) => {
          this.log.debug({ err }, 'click XADD failed; buffering the clicks');
          for (const c of clicks) this.enqueue(c);
        },
      )
      .finally(() => {
        this.inflight--;
        this.wakeIdle();
      });
  }

  private enqueue(click: Click): void {
    if (this.waiting >= this.opts.bufferSize) {
      this.metrics.c.clicks_dropped_total++;
      return;
    }
    this.metrics.c.clicks_buffered_total++;
    this.buffer.push(click);
    if (this.redis.status === 'ready') void this.flush();
  }

  /** Drains the outage buffer in order, a batch per command, while Redis stays ready. */
  async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    let failures = 0;
    try {
      while (this.waiting > 0 && this.redis.status === 'ready') {
        const chunk = this.buffer.slice(this.head, this.head + BATCH);
        const ok = await this.send(chunk).then(
          () => true,
          () => false,
        );
        // every shard refused once: stop hammering, try again shortly (a cluster stays 'ready'
        // while one master fails over, so no 'ready' event would restart the flush)
        if (!ok) {
          if (++failures >= this.streams.length) break;
          continue;
        }
        failures = 0;
        this.metrics.c.clicks_sent_total += chunk.length;
        this.head += chunk.length;
        if (this.head > 10_000 && this.head * 2 > this.buffer.length) {
          this.buffer.splice(0, this.head);
          this.head = 0;
        }
      }
    } finally {
      this.flushing = false;
      if (this.waiting === 0) {
        this.buffer.length = 0;
        this.head = 0;
      } else if (!this.retryTimer) {
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          void this.flush();
        }, 250);
        this.retryTimer.unref();
      }
      this.wakeIdle();
    }
  }

  private wakeIdle(): void {
    if (this.inflight > 0 || this.flushing) return;
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }

  /** For shutdown: sends the lingering batch, waits for replies and the buffer (unless Redis is down). */
  async drain(timeoutMs: number): Promise<void> {
    this.sendBatch();
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.waiting > 0 && this.redis.status === 'ready') await this.flush();
      if (this.inflight === 0 && (this.waiting === 0 || this.redis.status !== 'ready')) return;
      await new Promise<void>((r) => {
        this.idleWaiters.push(r);
        setTimeout(r, 50);
      });
    }
  }
}

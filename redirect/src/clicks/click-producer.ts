import type { Redis } from 'ioredis';
import type { Logger } from '@linkport/common';
import { packClick, type Click } from './click.ts';
import type { Metrics } from '../metrics.ts';

/**
 * One XADD per click, many clicks per command: the script appends each argument as its own stream
 * entry (`XADD <stream> MAXLEN ~ <n> * c <click>`), so the worker still sees one entry — one
 * idempotency key — per redirect, while the redirect server pays one command, one reply and one
 * socket write per batch. Measured (bench/redirect.ts): a pipeline of single XADDs cost ~18 µs of
 * server CPU per redirect, more than the whole lookup → decide → respond path. ioredis sends it by
 * EVALSHA and falls back to EVAL after a Redis restart empties the script cache.
 */
const XADD_MANY = `
local n = 0
for i = 2, #ARGV do
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'c', ARGV[i])
  n = n + 1
end
return n`;

const BATCH = 256;

type ClickRedis = Redis & { xaddClicks(stream: string, maxlen: number, ...clicks: string[]): Promise<number> };

/**
 * Appends clicks to the stream without the response ever waiting: clicks gather for `lingerMs`
 * (or up to 256; Kafka producers' linger.ms) and go out in one command whose reply only handles
 * failure. While Redis is unavailable clicks wait in a bounded FIFO and are flushed when the
 * connection is ready again; overflow is counted (clicks_dropped_total), never silent. A failed
 * command may in fact have been applied (reply lost); re-sending is safe because the worker dedups
 * on the click id.
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

  constructor(
    redis: Redis,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly opts: { stream: string; maxlen: number; bufferSize: number; lingerMs: number },
  ) {
    redis.defineCommand('xaddClicks', { numberOfKeys: 1, lua: XADD_MANY });
    this.redis = redis as ClickRedis;
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

  private send(clicks: Click[]): Promise<number> {
    return this.redis.xaddClicks(this.opts.stream, this.opts.maxlen, ...clicks.map(packClick));
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
    try {
      while (this.waiting > 0 && this.redis.status === 'ready') {
        const chunk = this.buffer.slice(this.head, this.head + BATCH);
        const ok = await this.send(chunk).then(
          () => true,
          () => false,
        );
        if (!ok) break;
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

import type { Redis } from 'ioredis';
import type { Logger } from '@linkport/common';
import { clickFields, type Click } from './click.ts';
import type { Metrics } from '../metrics.ts';

/**
 * Appends clicks to the stream without the response ever waiting: clicks gather for `lingerMs`
 * (or up to 256) and go out as one pipeline of XADDs — one socket write for many redirects, the
 * producer batching Kafka calls linger.ms — and the reply only handles failure. While Redis is unavailable clicks
 * wait in a bounded FIFO and are flushed when the connection is ready again; overflow is counted
 * (clicks_dropped_total), never silent. A failed XADD may in fact have been applied (reply lost);
 * re-sending it is safe because the worker dedups on the click id.
 */
export class ClickProducer {
  private readonly buffer: Click[] = [];
  private head = 0;
  private flushing = false;
  private inflight = 0;
  private idleWaiters: (() => void)[] = [];
  private batch: Click[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly opts: { stream: string; maxlen: number; bufferSize: number; lingerMs: number },
  ) {
    redis.on('ready', () => void this.flush());
  }

  get buffered(): number {
    return this.buffer.length - this.head + this.batch.length;
  }

  record(click: Click): void {
    if (this.redis.status !== 'ready' || this.buffer.length - this.head > 0) {
      this.enqueue(click);
      return;
    }
    this.batch.push(click);
    if (this.batch.length >= 256) this.sendBatch();
    else this.timer ??= setTimeout(() => this.sendBatch(), this.opts.lingerMs);
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
    const pipe = this.redis.pipeline();
    for (const c of clicks) pipe.xadd(this.opts.stream, 'MAXLEN', '~', this.opts.maxlen, '*', ...clickFields(c));
    pipe
      .exec()
      .then(
        (results) => {
          results?.forEach(([err], i) => {
            if (err) this.enqueue(clicks[i]!);
            else this.metrics.c.clicks_sent_total++;
          });
        },
        (err: unknown) => {
          this.log.debug({ err }, 'XADD failed; buffering the clicks');
          for (const c of clicks) this.enqueue(c);
        },
      )
      .finally(() => {
        this.inflight--;
        if (this.inflight === 0) this.wakeIdle();
      });
  }

  private enqueue(click: Click): void {
    if (this.buffered >= this.opts.bufferSize) {
      this.metrics.c.clicks_dropped_total++;
      return;
    }
    this.metrics.c.clicks_buffered_total++;
    this.buffer.push(click);
    if (this.redis.status === 'ready') void this.flush();
  }

  /** Drains the buffer in order, in chunks, while Redis stays ready. */
  async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.buffer.length - this.head > 0 && this.redis.status === 'ready') {
        const chunk = this.buffer.slice(this.head, this.head + 500);
        const pipe = this.redis.pipeline();
        for (const c of chunk) pipe.xadd(this.opts.stream, 'MAXLEN', '~', this.opts.maxlen, '*', ...clickFields(c));
        const results = await pipe.exec().catch(() => null);
        if (!results) break;
        const failed = results.findIndex(([err]) => err);
        const ok = failed === -1 ? chunk.length : failed;
        this.metrics.c.clicks_sent_total += ok;
        this.head += ok;
        if (this.head > 10_000 && this.head * 2 > this.buffer.length) {
          this.buffer.splice(0, this.head);
          this.head = 0;
        }
        // Entries after the first failure may or may not have been applied; they are re-sent, and
        // the click id makes any copy a no-op in the worker.
        if (failed !== -1) break;
      }
    } finally {
      this.flushing = false;
      if (this.buffer.length - this.head === 0) {
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

  /** For shutdown: waits until in-flight XADDs settle and the buffer is flushed (or Redis is down). */
  async drain(timeoutMs: number): Promise<void> {
    this.sendBatch();
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.buffer.length - this.head > 0 && this.redis.status === 'ready') await this.flush();
      if (this.inflight === 0 && (this.buffered === 0 || this.redis.status !== 'ready')) return;
      await new Promise<void>((r) => {
        this.idleWaiters.push(r);
        setTimeout(r, 50);
      });
    }
  }
}

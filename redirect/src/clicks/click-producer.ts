import type { Redis } from 'ioredis';
import type { Logger } from '@linkport/common';
import { clickFields, type Click } from './click.ts';
import type { Metrics } from '../metrics.ts';

/**
 * Appends clicks to the stream without the response ever waiting: XADD is fired on the
 * auto-pipelined connection and its promise only handles failure. While Redis is unavailable clicks
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

  constructor(
    private readonly redis: Redis,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly opts: { stream: string; maxlen: number; bufferSize: number },
  ) {
    redis.on('ready', () => void this.flush());
  }

  get buffered(): number {
    return this.buffer.length - this.head;
  }

  record(click: Click): void {
    if (this.redis.status !== 'ready' || this.buffered > 0) {
      this.enqueue(click);
      return;
    }
    this.send(click);
  }

  private send(click: Click): void {
    this.inflight++;
    this.redis
      .xadd(this.opts.stream, 'MAXLEN', '~', this.opts.maxlen, '*', ...clickFields(click))
      .then(
        () => {
          this.metrics.c.clicks_sent_total++;
        },
        (err: unknown) => {
          this.log.debug({ err }, 'XADD failed; buffering the click');
          this.enqueue(click);
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
      while (this.buffered > 0 && this.redis.status === 'ready') {
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
      if (this.buffered === 0) {
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
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.buffered > 0 && this.redis.status === 'ready') await this.flush();
      if (this.inflight === 0 && (this.buffered === 0 || this.redis.status !== 'ready')) return;
      await new Promise<void>((r) => {
        this.idleWaiters.push(r);
        setTimeout(r, 50);
      });
    }
  }
}

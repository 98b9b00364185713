import type { Logger } from '@linkport/common';
import type { Clock } from '../clock.ts';
import type { EventStore, ClaimedDelivery } from '../store.ts';
import { retryDelayMs, type BackoffPolicy } from './backoff.ts';
import type { WebhookSender } from './http.ts';
import { webhookHeaders } from './signing.ts';

export interface RunnerOptions {
  worker: string;
  batch: number;
  concurrency: number;
  pollMs: number;
  leaseMs: number;
  clickBatchMs: number;
  backoff: BackoffPolicy;
  disableAfterMs: number;
  disableMinFailures: number;
  random?: () => number;
  onResult?: (outcome: 'succeeded' | 'retry' | 'dead' | 'lost', durationMs: number, error?: string) => void;
}

/**
 * The delivery loop: claim due deliveries (leased, SKIP LOCKED), POST each signed, record the
 * attempt. A crash anywhere leaves the claim to expire and be taken again: at-least-once.
 */
export class DeliveryRunner {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  private wake: (() => void) | undefined;

  constructor(
    private readonly store: EventStore,
    private readonly sender: WebhookSender,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly opts: RunnerOptions,
  ) {}

  start(): void {
    this.stopped = false;
    this.running = this.loop();
  }

  /** Run now rather than at the next poll (after an ingest). */
  nudge(): void {
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.running;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      let busy = false;
      try {
        await this.store.flushClickBatches(this.clock.now(), this.opts.clickBatchMs);
        busy = (await this.runOnce()) >= this.opts.batch;
      } catch (err) {
        this.log.warn({ err }, 'delivery cycle failed; retrying');
      }
      if (!busy && !this.stopped) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          this.timer = setTimeout(resolve, this.opts.pollMs);
        });
        clearTimeout(this.timer);
        this.wake = undefined;
      }
    }
  }

  /** One claim-and-deliver cycle; returns how many deliveries it claimed. Tests call it directly. */
  async runOnce(): Promise<number> {
    const claimed = await this.store.claim(this.clock.now(), this.opts.batch, this.opts.leaseMs, this.opts.worker);
    let next = 0;
    const lane = async () => {
      while (next < claimed.length) {
        const d = claimed[next++]!;
        await this.deliver(d).catch((err: unknown) => this.log.error({ err, delivery: d.id }, 'recording a delivery failed; its lease will expire and it is retried'));
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.opts.concurrency, claimed.length) }, lane));
    return claimed.length;
  }

  private async deliver(d: ClaimedDelivery): Promise<void> {
    const startedAt = this.clock.now();
    const headers = webhookHeaders({ secret: d.secret, previous: d.previous_secret }, d.message_id, Math.floor(startedAt.getTime() / 1000), d.body);
    const res = await this.sender.send(d.url, headers, d.body);
    const attempt = { startedAt, durationMs: res.durationMs, status: res.status, error: res.error, body: res.body ?? res.detail };
    const now = this.clock.now();
    if (res.ok) {
      const owned = await this.store.succeeded(d, this.opts.worker, attempt, now);
      this.opts.onResult?.(owned ? 'succeeded' : 'lost', res.durationMs);
      return;
    }
    const nextAt = new Date(now.getTime() + retryDelayMs(this.opts.backoff, d.attempts, this.opts.random));
    const r = await this.store.failed(d, this.opts.worker, attempt, now, {
      nextAt,
      maxAttempts: this.opts.backoff.maxAttempts,
      disableAfterMs: this.opts.disableAfterMs,
      disableMinFailures: this.opts.disableMinFailures,
    });
    if (r.disabled) this.log.warn({ endpoint: d.endpoint_id }, 'webhook endpoint disabled after sustained failure; owner notified');
    this.opts.onResult?.(!r.owned ? 'lost' : r.dead ? 'dead' : 'retry', res.durationMs, res.error);
  }
}

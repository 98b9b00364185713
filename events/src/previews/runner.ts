import type { Logger } from '@linkport/common';
import type { Clock } from '../clock.ts';
import type { EventStore } from '../store.ts';
import type { PageFetcher } from './fetch.ts';
import { storePreviewImage, type MediaClient } from './image.ts';
import { parsePreview } from './parse.ts';

export interface PreviewRunnerOptions {
  pollMs: number;
  batch: number;
  leaseMs: number;
  maxAttempts: number;
  retryMs: number;
  /** Where preview images are stored; without it og:image is ignored (never hot-linked). */
  media?: MediaClient;
  /** Largest preview image fetched (bytes). */
  imageMaxBytes?: number;
  onResult?: (outcome: 'filled' | 'nothing' | 'retry' | 'gave_up') => void;
}

/**
 * Link previews (issue 15 §4): claims preview jobs, fetches each destination through the
 * SSRF-guarded PageFetcher, reads Open Graph / Twitter card / <title> and fills the link's empty
 * title and description; og:image is fetched through the same guard, checked to be a raster image
 * and stored as the owner's asset by media-service (image.ts), never hot-linked. An image that
 * fails (not an image, too large, blocked) costs the link only its image, not its title.
 */
export class PreviewRunner {
  private stopped = true;
  private running: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly store: EventStore,
    private readonly fetcher: PageFetcher,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly opts: PreviewRunnerOptions,
  ) {}

  start(): void {
    this.stopped = false;
    this.running = this.loop();
  }

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
        busy = (await this.runOnce()) >= this.opts.batch;
      } catch (err) {
        this.log.warn({ err }, 'preview cycle failed; retrying');
      }
      if (!busy && !this.stopped) {
        let timer: NodeJS.Timeout | undefined;
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          timer = setTimeout(resolve, this.opts.pollMs);
        });
        clearTimeout(timer);
        this.wake = undefined;
      }
    }
  }

  /** One claim-and-fetch cycle; returns the jobs claimed. Tests call it directly. */
  async runOnce(): Promise<number> {
    const jobs = await this.store.claimPreviews(this.clock.now(), this.opts.batch, this.opts.leaseMs);
    await Promise.all(
      jobs.map(async (j) => {
        const page = await this.fetcher.fetch(j.destination);
        if (page.ok) {
          const found = parsePreview(page.html, page.url);
          let imageAssetId: string | undefined;
          const owner = found.imageUrl && this.opts.media ? await this.store.previewImageOwner(j.link_id, j.destination) : undefined;
          if (found.imageUrl && this.opts.media && owner) {
            const image = await storePreviewImage(this.fetcher, this.opts.media, owner, found.imageUrl, this.opts.imageMaxBytes ?? 5 * 1024 ** 2);
            if (image.ok) imageAssetId = image.assetId;
            else this.log.info({ link: j.link_id, error: image.error, detail: image.detail }, 'link preview image not stored');
          }
          const filled = await this.store.finishPreview(j.link_id, j.destination, { title: found.title, description: found.description, imageAssetId });
          this.opts.onResult?.(filled ? 'filled' : 'nothing');
          return;
        }
        const retry = j.attempts < this.opts.maxAttempts ? new Date(this.clock.now().getTime() + this.opts.retryMs * j.attempts) : undefined;
        await this.store.failPreview(j.link_id, j.destination, page.error, retry);
        this.opts.onResult?.(retry ? 'retry' : 'gave_up');
        this.log.info({ link: j.link_id, error: page.error, detail: page.detail, attempt: j.attempts }, 'link preview fetch failed');
      }),
    );
    return jobs.length;
  }
}

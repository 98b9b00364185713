import { SpanKind, SpanStatusCode, context, trace, type Link } from '@opentelemetry/api';
import { linkFromTraceparent, pgErrorCode, type AnyRedis, type Logger } from '@linkport/common';
import { parseClick } from '../clicks/click.ts';
import { consumedStreams, entryId, entryKey } from '../clicks/streams.ts';
import { enrich, type EnrichedClick } from './enrich.ts';

/**
 * Where a consumer group's batches go: the PostgreSQL sink (click-sink.ts) or another store
 * (sinks/clickhouse.ts). write() must be idempotent per click — batches are replayed after a crash
 * between the write and XACK — and throws to have the batch retried.
 */
export interface BatchSink {
  write(batch: EnrichedClick[]): Promise<{ inserted: number; counted: number }>;
}

export interface ConsumerOptions {
  stream: string;
  /**
   * The unsharded stream name (CLICK_STREAM) when `stream` is one of its shards: rows get the
   * shard-qualified entry key (clicks/streams.ts entryKey). Defaults to `stream`.
   */
  baseStream?: string;
  deadStream: string;
  group: string;
  consumer: string;
  batch: number;
  blockMs: number;
  claimIdleMs: number;
  maxDeliveries: number;
  /** After each batch is committed and acked (metrics): its size, commit time, oldest click's age. */
  onBatch?: (size: number, commitSeconds: number, oldestClickTs: number) => void;
}

type Entry = [id: string, fields: string[]];

export interface ConsumerStats {
  batches: number;
  inserted: number;
  counted: number;
  acked: number;
  dead: number;
  claimed: number;
}

/**
 * One member of the consumer group: XREADGROUP batches → enrich → one transaction (ClickSink) →
 * XACK after COMMIT. Entries left pending by a dead member are taken over with XAUTOCLAIM once idle
 * for claimIdleMs (Redis 7 reply: [cursor, entries, deleted ids]; docs/research/storage.md §6).
 * An entry that keeps failing on its own data (SQLSTATE class 22/23) after maxDeliveries deliveries,
 * or that is not a click at all, is copied to the dead-letter stream with its error and acked.
 * Connection failures never dead-letter: the batch stays pending and is retried.
 */
export class ClickConsumer {
  readonly stats: ConsumerStats = { batches: 0, inserted: 0, counted: 0, acked: 0, dead: 0, claimed: 0 };
  private running = false;
  private loop: Promise<void> | undefined;
  private readOwnPending = true;
  private lastClaim = 0;
  private claimCursor = '0-0';
  /** Reads (possibly blocking) on their own connection so acks never queue behind a BLOCK. */
  private readonly reader: AnyRedis;
  private readonly base: string;

  constructor(
    private readonly redis: AnyRedis,
    private readonly sink: BatchSink,
    private readonly log: Logger,
    private readonly opts: ConsumerOptions,
  ) {
    this.reader = redis.duplicate();
    this.reader.on('error', () => {});
    this.base = opts.baseStream ?? opts.stream;
  }

  private rawId(c: EnrichedClick): string {
    return entryId(this.opts.stream, this.base, c.streamId);
  }

  get stream(): string {
    return this.opts.stream;
  }

  async start(): Promise<void> {
    if (this.running) return;
    await this.ensureGroup();
    this.running = true;
    this.loop = this.run();
  }

  /** Graceful: the batch in hand is written and acked, then the loop ends. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    this.reader.disconnect();
  }

  /**
   * The next batch is read while the current one is written (reading and parsing 1000 entries is a
   * fair share of a batch's time). A prefetched batch is always processed, on shutdown too.
   */
  private async run(): Promise<void> {
    let backoff = 100;
    let prefetched: Promise<Entry[]> | undefined;
    while (this.running || prefetched) {
      try {
        const entries = await (prefetched ?? this.next());
        prefetched = undefined;
        if (entries.length > 0) {
          if (this.running && !this.readOwnPending) {
            prefetched = this.next();
            // Handled from now on: it is awaited only after this batch is written, and a read that
            // fails meanwhile (a Redis master killed, NOGROUP) would otherwise be an unhandled
            // rejection, which ends the process (exit 70) — the kill test's last worker died so.
            // The await above still sees the failure and takes the retry path below.
            prefetched.catch(() => {});
          }
          await this.process(entries);
        }
        backoff = 100;
      } catch (err) {
        // A read still in flight delivered its entries to us: they are re-read as our own pending.
        prefetched = undefined;
        // A Redis restarted without persistence has lost the group (NOGROUP): recreate it.
        if (String(err).includes('NOGROUP')) await this.ensureGroup().catch(() => {});
        this.log.warn({ err }, 'click batch failed; retrying');
        this.readOwnPending = true;
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 5_000);
      }
    }
  }

  private async ensureGroup(): Promise<void> {
    try {
      // Through a one-key script: ioredis' Cluster cannot tell XGROUP's key (it follows the
      // subcommand) and would send it to any node, which answers MOVED; EVAL routes by KEYS[1].
      await this.redis.eval(XGROUP_CREATE, 1, this.opts.stream, this.opts.group);
    } catch (err) {
      if (!String(err).includes('BUSYGROUP')) throw err;
    }
  }

  private async next(): Promise<Entry[]> {
    const { stream, group, consumer, batch } = this.opts;
    if (this.readOwnPending) {
      // Our own unacked entries first (a restart under the same WORKER_NAME, or a failed batch).
      const own = await this.readGroup(['0']);
      if (own.length > 0) return own;
      this.readOwnPending = false;
    }
    if (Date.now() - this.lastClaim >= Math.min(this.opts.claimIdleMs, 5_000)) {
      const reply = (await this.reader.xautoclaim(stream, group, consumer, this.opts.claimIdleMs, this.claimCursor, 'COUNT', batch)) as [string, Entry[], string[]];
      this.claimCursor = reply[0];
      if (this.claimCursor === '0-0') this.lastClaim = Date.now();
      const claimed = reply[1].filter((e) => e && Array.isArray(e[1]));
      if (claimed.length > 0) {
        this.stats.claimed += claimed.length;
        this.log.info({ n: claimed.length }, 'claimed idle click entries');
        return claimed;
      }
    }
    return this.readGroup(['BLOCK', String(this.opts.blockMs), '>']);
  }

  private async readGroup(tail: string[]): Promise<Entry[]> {
    const { stream, group, consumer, batch } = this.opts;
    const id = tail[tail.length - 1]!;
    const args = tail.length > 1 ? ['BLOCK', tail[1]!] : [];
    const reply = (await this.reader.xreadgroup('GROUP', group, consumer, 'COUNT', batch, ...(args as []), 'STREAMS', stream, id)) as
      | [string, Entry[]][]
      | null;
    // Entries trimmed away while pending come back with null fields; ack them so they leave the PEL.
    const entries = reply?.[0]?.[1] ?? [];
    const gone = entries.filter((e) => !e[1]).map((e) => e[0]);
    if (gone.length > 0) await this.redis.xack(stream, group, ...gone);
    return entries.filter((e) => e[1]);
  }

  /**
   * One span per batch (a consumer span in the messaging conventions' sense), linked to the span of
   * every redirect whose click it carries — at most 128, the SDK's default link limit — and parent
   * of the batch's SQL. A no-op tracer when tracing is off.
   */
  private async process(entries: Entry[]): Promise<void> {
    const links: Link[] = [];
    for (const [, fields] of entries) {
      if (links.length >= 128) break;
      const tp = fields.length === 2 ? fields[1]!.split('\t')[9] : undefined;
      const link = linkFromTraceparent(tp);
      if (link) links.push(link);
    }
    const span = tracer.startSpan(`process ${this.opts.stream}`, {
      kind: SpanKind.CONSUMER,
      links,
      attributes: { 'messaging.system': 'redis', 'messaging.operation.type': 'process', 'messaging.destination.name': this.opts.stream, 'messaging.batch.message_count': entries.length },
    });
    try {
      await context.with(trace.setSpan(context.active(), span), () => this.processBatch(entries));
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: errorText(err) });
      throw err;
    } finally {
      span.end();
    }
  }

  private async processBatch(entries: Entry[]): Promise<void> {
    const t0 = performance.now();
    const good: EnrichedClick[] = [];
    for (const [id, fields] of entries) {
      const c = parseClick(fields);
      if (c) good.push(enrich(entryKey(this.opts.stream, this.base, id), c));
      else await this.deadLetter(id, fields, 'not a click entry', 0);
    }
    try {
      const t1 = performance.now();
      const r = await this.sink.write(good);
      const t2 = performance.now();
      this.stats.inserted += r.inserted;
      this.stats.counted += r.counted;
      await this.ack(good.map((c) => this.rawId(c)));
      if (good.length > 0) this.opts.onBatch?.(good.length, (t2 - t1) / 1000, good.reduce((m, c) => Math.min(m, c.ts), Infinity));
      this.log.debug({ n: entries.length, enrichMs: t1 - t0, writeMs: t2 - t1, ackMs: performance.now() - t2 }, 'batch');
    } catch (err) {
      if (isTransient(err)) throw err;
      // One bad entry must not hold the batch hostage: write the entries one by one.
      for (const c of good) await this.processOne(c);
    }
    this.stats.batches++;
  }

  private async processOne(c: EnrichedClick): Promise<void> {
    try {
      const r = await this.sink.write([c]);
      this.stats.inserted += r.inserted;
      this.stats.counted += r.counted;
      await this.ack([this.rawId(c)]);
    } catch (err) {
      if (isTransient(err)) throw err;
      const id = this.rawId(c);
      const pending = (await this.redis.xpending(this.opts.stream, this.opts.group, id, id, 1)) as [string, string, number, number][];
      const deliveries = pending[0]?.[3] ?? 0;
      if (deliveries >= this.opts.maxDeliveries) {
        const fields = await this.redis.xrange(this.opts.stream, id, id);
        await this.deadLetter(id, fields[0]?.[1] ?? [], errorText(err), deliveries);
      } else {
        this.log.warn({ err, id: c.streamId, deliveries }, 'click entry failed; will retry after claim idle time');
      }
    }
  }

  private async deadLetter(id: string, fields: string[], error: string, deliveries: number): Promise<void> {
    await this.redis.xadd(this.opts.deadStream, '*', ...fields, 'source_id', entryKey(this.opts.stream, this.base, id), 'error', error, 'deliveries', String(deliveries));
    await this.ack([id]);
    this.stats.dead++;
    this.log.error({ id, error, deliveries }, 'click entry moved to the dead-letter stream');
  }

  private async ack(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.redis.xack(this.opts.stream, this.opts.group, ...ids);
    this.stats.acked += ids.length;
  }
}

/**
 * Failures of the infrastructure rather than of the entries: connection errors (Node's E* codes, or
 * no code at all from a terminated pg connection), and SQLSTATE classes 08 (connection), 40
 * (serialization/deadlock), 53 (resources), 57 (operator intervention, e.g. shutdown). These retry
 * the whole batch and never dead-letter; anything else (a data exception like 22021, a bug tripped
 * by one entry) is pinned to single entries.
 */
function isTransient(err: unknown): boolean {
  const code = pgErrorCode(err);
  if (code === undefined) return !(err instanceof TypeError || err instanceof RangeError);
  if (/^E[A-Z]+$/.test(code)) return true;
  return /^(08|40|53|57)/.test(code);
}

function errorText(err: unknown): string {
  return err instanceof Error ? `${pgErrorCode(err) ?? ''} ${err.message}`.trim().slice(0, 500) : String(err).slice(0, 500);
}

const tracer = trace.getTracer('linkport-click-worker');

const XGROUP_CREATE = `return redis.call('XGROUP', 'CREATE', KEYS[1], ARGV[1], '0', 'MKSTREAM')`;

/**
 * Every shard of the click stream (clicks/streams.ts consumedStreams), each through its own
 * ClickConsumer — its own consumer group state, pending list and XAUTOCLAIM cursor, and its own
 * reading connection. One loop per shard rather than one XREADGROUP naming every stream: on a Redis
 * Cluster the shards live in different slots (a multi-key XREADGROUP would be CROSSSLOT), and a
 * BLOCK on one connection would hold up the reads of shards on the same node. Every worker runs all
 * shards under the same group, so the workers share each shard's entries and a dead worker's
 * pending entries are reclaimed per shard by the others.
 */
export class ShardedClickConsumer {
  readonly consumers: ClickConsumer[];

  constructor(redis: AnyRedis, sink: BatchSink, log: Logger, opts: ConsumerOptions & { shards: number }) {
    const { shards, ...rest } = opts;
    this.consumers = consumedStreams(opts.stream, shards).map((stream) => new ClickConsumer(redis, sink, log, { ...rest, stream, baseStream: opts.stream }));
  }

  get streams(): string[] {
    return this.consumers.map((c) => c.stream);
  }

  /** The sum over shards (the worker's /metrics reads this). */
  get stats(): ConsumerStats {
    const t: ConsumerStats = { batches: 0, inserted: 0, counted: 0, acked: 0, dead: 0, claimed: 0 };
    for (const c of this.consumers) for (const k of Object.keys(t) as (keyof ConsumerStats)[]) t[k] += c.stats[k];
    return t;
  }

  async start(): Promise<void> {
    await Promise.all(this.consumers.map((c) => c.start()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.consumers.map((c) => c.stop()));
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

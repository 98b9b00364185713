/**
 * Live queries (docs/research/hasura-v2.md §C.5): a subscription operation is executed at once, its first result
 * always sent, then re-executed every refetch interval
 * (`HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_REFETCH_INTERVAL`, default 1000 ms); a result is sent
 * only when its JSON differs from the last one sent.
 *
 * Two ways to refetch:
 *   - MultiplexedLiveQuery (the default with the real engine): after its first result the
 *     subscription joins its cohort in the process's Multiplexer (subscriptions/multiplexer.ts),
 *     which serves every cohort batch with ONE statement per interval, as Hasura does;
 *   - LiveQuery: one timer per subscription re-running `execute` (engines without `prepareLive`,
 *     and `ENGINE_LIVE_QUERIES_MULTIPLEXING=off`, the baseline bench:subscriptions compares with),
 *     never overlapping: the next run is scheduled only after the previous one finished.
 */
import type { GraphQLEngine, GraphQLRequest, GraphQLResponse, Session } from '../contract.ts';
import { runOne } from './graphql.routes.ts';
import type { LiveHandle, Multiplexer } from '../subscriptions/multiplexer.ts';
import type { StreamHandle, StreamMultiplexer } from '../subscriptions/streaming.ts';

export const DEFAULT_REFETCH_INTERVAL_MS = 1000;

export interface LiveQueryOptions {
  engine: () => GraphQLEngine;
  request: GraphQLRequest;
  session: Session;
  intervalMs: number;
  /** The first result, whatever it is (the caller answers `error` for a request error). */
  onFirst(res: GraphQLResponse): void;
  /** A later result that differs from the last one sent. */
  onChange(res: GraphQLResponse): void;
  /**
   * Runs each execution (first and polls); the WebSocket server passes its fair, bounded queue
   * (StartQueue) so executions never outnumber the live pool's connections. Default: at once.
   */
  schedule?: <T>(fn: () => Promise<T>) => Promise<T>;
  /** Called once when the live query stops, however it stops. */
  onStop?: () => void;
}

/** Validation/parse errors (no data) are "errors before execution" in Hasura's terms. */
export const isRequestError = (r: GraphQLResponse) => r.data === undefined && (r.errors?.length ?? 0) > 0;

export class LiveQuery {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private last: string | undefined;

  constructor(private readonly opts: LiveQueryOptions) {}

  get running(): boolean {
    return !this.stopped;
  }

  /** Runs the first execution; polling starts only when it was not a request error. */
  async start(): Promise<void> {
    const res = await this.execute();
    if (this.stopped) return;
    this.opts.onFirst(res);
    if (isRequestError(res)) {
      this.stop();
      return;
    }
    this.last = JSON.stringify(res);
    this.schedule();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.stopped) return;
    this.stopped = true;
    this.opts.onStop?.();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.poll(), this.opts.intervalMs);
  }

  private async poll(): Promise<void> {
    this.timer = undefined;
    if (this.stopped) return;
    const res = await this.execute();
    if (this.stopped) return;
    const json = JSON.stringify(res);
    if (json !== this.last) {
      this.last = json;
      try {
        this.opts.onChange(res);
      } catch {
        // A socket gone mid-send: the connection's close handler stops us.
      }
    }
    this.schedule();
  }

  private async execute(): Promise<GraphQLResponse> {
    const run = () =>
      // Stopped while queued: nothing to run (the result is never sent).
      this.stopped ? Promise.resolve<GraphQLResponse>({ data: null }) : runOne(this.opts.engine(), this.opts.request, this.opts.session, { live: true });
    try {
      return await (this.opts.schedule ? this.opts.schedule(run) : run());
    } catch {
      return { errors: [{ message: 'an unexpected error occurred', extensions: { path: '$', code: 'unexpected' } }] };
    }
  }
}

/**
 * Bounded concurrency for live-query executions, fair across owners (users): each owner has its
 * own FIFO and owners take turns, so one user's 10,000 queued starts delay another user's start
 * by at most one execution per running slot, not by 10,000. At most `concurrency` run at once —
 * the live pool's size — so nothing waits for a connection long enough to time out (what made
 * starts fail with `database query error` under a flood, issue 11).
 */
export class StartQueue {
  private running = 0;
  private readonly queues = new Map<string, Array<() => void>>();
  private waiting = 0;

  constructor(private readonly concurrency: number) {}

  /** Executions queued, all owners together. */
  get queued(): number {
    return this.waiting;
  }

  run<T>(owner: string, fn: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const task = () => {
        this.running++;
        let p: Promise<T>;
        try {
          p = fn();
        } catch (err) {
          p = Promise.reject(err);
        }
        p.then(resolve, reject).finally(() => {
          this.running--;
          this.next();
        });
      };
      if (this.running < this.concurrency && this.waiting === 0) {
        task();
        return;
      }
      const q = this.queues.get(owner);
      if (q) q.push(task);
      else this.queues.set(owner, [task]);
      this.waiting++;
    });
  }

  private next(): void {
    while (this.running < this.concurrency && this.waiting > 0) {
      // Map iteration order is insertion order: take the first owner's oldest task, then move
      // that owner to the back (round robin).
      const first = this.queues.entries().next().value;
      if (!first) return;
      const [owner, q] = first;
      const task = q.shift()!;
      this.queues.delete(owner);
      if (q.length) this.queues.set(owner, q);
      this.waiting--;
      task();
    }
  }
}

export interface MultiplexedLiveQueryOptions extends Omit<LiveQueryOptions, 'intervalMs'> {
  mux: Multiplexer;
}

/**
 * A live query whose refetches the Multiplexer makes: the first result runs at once (through
 * `schedule`, like LiveQuery's), then the subscription joins its cohort with that result as the
 * last one sent, so the cohort's next result reaches it only if it differs.
 */
export class MultiplexedLiveQuery {
  private stopped = false;
  private handle: LiveHandle | undefined;

  constructor(private readonly opts: MultiplexedLiveQueryOptions) {}

  get running(): boolean {
    return !this.stopped;
  }

  async start(): Promise<void> {
    const run = () =>
      this.stopped ? Promise.resolve<GraphQLResponse>({ data: null }) : runOne(this.opts.engine(), this.opts.request, this.opts.session, { live: true });
    let res: GraphQLResponse;
    try {
      res = await (this.opts.schedule ? this.opts.schedule(run) : run());
    } catch {
      res = { errors: [{ message: 'an unexpected error occurred', extensions: { path: '$', code: 'unexpected' } }] };
    }
    if (this.stopped) return;
    this.opts.onFirst(res);
    if (isRequestError(res)) {
      this.stop();
      return;
    }
    this.handle = this.opts.mux.add({
      request: this.opts.request,
      session: this.opts.session,
      last: JSON.stringify(res),
      onChange: (r) => this.opts.onChange(r),
    });
  }

  stop(): void {
    this.handle?.stop();
    this.handle = undefined;
    if (this.stopped) return;
    this.stopped = true;
    this.opts.onStop?.();
  }
}

/**
 * A streaming subscription (subscriptions/streaming.ts): no first execution of its own — the
 * streaming poller sends each non-empty batch, the first one included (Hasura sends nothing
 * while the stream has no row).
 */
export class StreamingSubscription {
  private stopped = false;
  private handle: StreamHandle | undefined;

  constructor(private readonly opts: { mux: StreamMultiplexer; request: GraphQLRequest; session: Session; onData(res: GraphQLResponse): void; onStop?: () => void }) {}

  get running(): boolean {
    return !this.stopped;
  }

  start(): Promise<void> {
    if (!this.stopped) this.handle = this.opts.mux.add({ request: this.opts.request, session: this.opts.session, onData: (r) => this.opts.onData(r) });
    return Promise.resolve();
  }

  stop(): void {
    this.handle?.stop();
    this.handle = undefined;
    if (this.stopped) return;
    this.stopped = true;
    this.opts.onStop?.();
  }
}

/** What a connection keeps per subscription id. */
export interface Stoppable {
  stop(): void;
}

/** The live queries of one connection, all stopped when it closes. */
export class LiveQueries {
  private readonly byId = new Map<string, Stoppable>();

  has(id: string): boolean {
    return this.byId.has(id);
  }

  get size(): number {
    return this.byId.size;
  }

  /** The ids running now. */
  ids(): string[] {
    return [...this.byId.keys()];
  }

  add(id: string, lq: Stoppable): void {
    this.byId.set(id, lq);
  }

  /** Forgets `id` only if it is still `lq` (a stopped id may have been reused). */
  remove(id: string, lq?: Stoppable): void {
    const cur = this.byId.get(id);
    if (!cur || (lq && cur !== lq)) return;
    cur.stop();
    this.byId.delete(id);
  }

  stopAll(): void {
    for (const lq of this.byId.values()) lq.stop();
    this.byId.clear();
  }
}

/**
 * Multiplexed streaming subscriptions, as Hasura runs them (upstream
 * `Execute/Subscription/Poll/StreamingQuery.hs`, `Backends/Postgres/Execute/Subscription.hs`
 * `mkStreamingMultiplexedQuery`; docs subscriptions/postgres/streaming/index.mdx):
 *
 *   - Pollers and cohorts as for live queries (multiplexer.ts): a poller per role and compiled
 *     statement, a cohort per set of equal bind values — and for a stream the cursor's current
 *     value is one of them, so subscribers share a cohort only while they are at the same point.
 *   - Every `HASURA_GRAPHQL_STREAMING_QUERIES_MULTIPLEXED_REFETCH_INTERVAL` the poller runs ONE
 *     statement per batch of `…_BATCH_SIZE` cohorts (`unnest` of their values, lateral-joined),
 *     which returns for each cohort its next rows and its next cursor value.
 *   - A result is pushed only when it has rows (`isResponseEmpty`: an empty batch is never sent,
 *     not even as the first message), to the cohort's subscribers when it differs from the
 *     cohort's last one, and to subscribers that joined since the last poll in any case.
 *   - Then the cursor advances: a non-null next value replaces the cohort's cursor (a null one,
 *     no rows, keeps it: `mergeOldAndNewCursorValues`) and the cohort is filed under its new key
 *     — merged with a cohort already there — while subscribers that joined during the poll stay
 *     under the old key with the old value, so they start from the value they asked for (Note
 *     [Streaming subscriptions rebuilding cohort map]).
 *   - A poller polls as soon as it is created, then one interval after each poll ends.
 *
 * Permissions hold per subscriber as for live queries: the permission's session values are bind
 * values of the subscriber's own statement, hence part of its cohort key. A batch that fails
 * falls back to one statement per cohort, so an error reaches only the subscribers it belongs to;
 * an error leaves the cursor where it was (Hasura keeps the previous value on an error).
 * After a metadata reload each subscriber is planned again and keeps its cursor.
 */
import { createHash } from 'node:crypto';
import type { GraphQLEngine, GraphQLRequest, GraphQLResponse, LivePlan, Session } from '../contract.ts';
import { compile, type SQL } from '../sql/sql.ts';
import { compileWith, DEFAULT_BATCH_SIZE, errorResult, parameterTypes, query, textForm } from './multiplexer.ts';

export const DEFAULT_STREAM_INTERVAL_MS = 1000;

/** One streaming subscription as the multiplexer sees it. */
export interface StreamSubscriber {
  request: GraphQLRequest;
  session: Session;
  /** A batch of rows (or an error) for this subscriber. */
  onData(res: GraphQLResponse): void;
}

export interface StreamHandle {
  stop(): void;
}

/** What one poll did (the metrics and the bench read it). */
export interface PollReport {
  kind: 'streaming';
  durationMs: number;
  cohorts: number;
  subscribers: number;
  statements: number;
}

export interface StreamMultiplexerOptions {
  engine: () => GraphQLEngine;
  /** `HASURA_GRAPHQL_STREAMING_QUERIES_MULTIPLEXED_REFETCH_INTERVAL`; default 1000 ms. */
  intervalMs: number;
  /** `HASURA_GRAPHQL_STREAMING_QUERIES_MULTIPLEXED_BATCH_SIZE`: cohorts per statement; default 100; 1 = no multiplexing. */
  batchSize?: number | undefined;
  /** Runs each statement (the WebSocket server's fair, bounded queue); default: at once. */
  schedule?: (owner: string, fn: () => Promise<void>) => Promise<void>;
  /** Called after each statement with the number of cohorts it served. */
  onStatement?: (cohorts: number) => void;
  /** Called after each poll of a poller. */
  onPoll?: (report: PollReport) => void;
}

interface Member {
  sub: StreamSubscriber;
  plan: LivePlan | undefined;
  /** The cursor's current value (text form); undefined = the initial value in the request. */
  cursor: string | null | undefined;
  cohort: Cohort | undefined;
  poller: StreamPoller | undefined;
  stopped: boolean;
  /** JSON of the last message sent (an error is not sent twice in a row). */
  last: string | undefined;
}

interface Cohort {
  key: string;
  params: Array<string | null>;
  values: unknown[];
  members: Set<Member>;
  /** JSON of the last non-empty result pushed. */
  last: string | undefined;
}

let pollerIds = 0;
const MAX_PREPARED = 2000;
const preparedNames = new Set<string>();

const cohortKey = (params: Array<string | null>): string => JSON.stringify(params);

/** Does a response carry no row? (`{"<alias>": []}` — Hasura's templated empty response.) */
function isEmpty(res: GraphQLResponse): boolean {
  if (res.errors?.length) return false;
  const data = res.data as Record<string, unknown> | null | undefined;
  if (!data) return true;
  return Object.values(data).every((v) => Array.isArray(v) && v.length === 0);
}

class StreamPoller {
  readonly id = `stream:${++pollerIds}`;
  readonly cohorts = new Map<string, Cohort>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private closed = false;
  private types: string[] | null | undefined;
  private multiplexed: { text: string; name: string | undefined } | undefined;
  private readonly moves: Array<{ from: Cohort; members: Member[]; params: Array<string | null>; values: unknown[]; cursor: string }> = [];
  private readonly text: string;
  private readonly cursorParam: number;
  private readonly cursorKey: string;

  constructor(
    readonly key: string,
    private readonly statement: SQL,
    private readonly plan: LivePlan,
    private readonly mux: StreamMultiplexer,
  ) {
    this.text = compile(statement).text;
    this.cursorParam = plan.stream!.cursorParam;
    this.cursorKey = plan.stream!.cursorKey;
    // Hasura's poller thread polls at once, then sleeps the interval.
    this.timer = setTimeout(() => void this.tick(), 0);
  }

  get size(): number {
    let n = 0;
    for (const c of this.cohorts.values()) n += c.members.size;
    return n;
  }

  join(m: Member, values: unknown[]): void {
    const vals = [...values];
    if (m.cursor !== undefined) vals[this.cursorParam] = m.cursor;
    const params = vals.map(textForm);
    this.file(m, params, vals);
  }

  private file(m: Member, params: Array<string | null>, values: unknown[], last?: string): void {
    const key = cohortKey(params);
    let c = this.cohorts.get(key);
    if (!c) {
      c = { key, params, values, members: new Set(), last };
      this.cohorts.set(key, c);
    }
    c.members.add(m);
    m.cohort = c;
    m.poller = this;
  }

  leave(m: Member): void {
    const c = m.cohort;
    m.cohort = undefined;
    m.poller = undefined;
    if (!c) return;
    c.members.delete(m);
    if (c.members.size === 0 && this.cohorts.get(c.key) === c) this.cohorts.delete(c.key);
    if (this.cohorts.size === 0 && !this.running) this.close();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.mux.forget(this);
  }

  private async tick(): Promise<void> {
    this.timer = undefined;
    if (this.closed) return;
    this.running = true;
    const started = performance.now();
    let statements = 0;
    const cohorts = [...this.cohorts.values()];
    const subscribers = this.size;
    try {
      const gen = this.mux.opts.engine().generation?.();
      if (gen !== undefined && gen !== this.plan.generation) {
        // Planned again after a reload, each subscriber keeping its cursor.
        const members = cohorts.flatMap((c) => [...c.members]);
        this.cohorts.clear();
        this.close();
        for (const m of members) {
          m.cohort = undefined;
          m.poller = undefined;
          this.mux.place(m);
        }
        return;
      }
      if (this.types === undefined) this.types = await parameterTypes(this.plan.pool, this.text);
      const size = Math.max(1, this.mux.opts.batchSize ?? DEFAULT_BATCH_SIZE);
      const batches: Cohort[][] = [];
      for (let i = 0; i < cohorts.length; i += size) batches.push(cohorts.slice(i, i + size));
      const counts = await Promise.all(batches.map((b) => this.scheduled(() => this.runBatch(b))));
      statements = counts.reduce((a, b) => a + b, 0);
    } catch {
      // A batch's own errors reach its cohorts; nothing else may stop the poller.
    } finally {
      this.running = false;
      this.advance();
      this.mux.opts.onPoll?.({ kind: 'streaming', durationMs: performance.now() - started, cohorts: cohorts.length, subscribers, statements });
      if (this.cohorts.size === 0) this.close();
      else if (!this.closed) this.timer = setTimeout(() => void this.tick(), this.mux.opts.intervalMs);
    }
  }

  private async scheduled(fn: () => Promise<number>): Promise<number> {
    let n = 0;
    const run = async () => { n = await fn(); };
    await (this.mux.opts.schedule ? this.mux.opts.schedule(this.id, run) : run());
    return n;
  }

  private multiplexedStatement(types: string[]): { text: string; name: string | undefined } {
    if (!this.multiplexed) {
      // Hasura's mkStreamingMultiplexedQuery: `SELECT _subs.result_id, _fld_resp.root AS result,
      // _fld_resp.cursor AS cursor FROM UNNEST(…) AS _subs(result_id, result_vars) LEFT OUTER JOIN
      // LATERAL (…) AS _fld_resp ON true`.
      const inner = compileWith(this.statement, (i) => `(("_subs"."result_vars"->>${i})::${types[i] ?? 'text'})`);
      const text =
        `SELECT "_subs"."result_id" AS id, "_fld_resp"."data" AS data, "_fld_resp"."cursor" AS cursor ` +
        `FROM unnest($1::int4[], $2::json[]) AS "_subs"("result_id", "result_vars") ` +
        `LEFT OUTER JOIN LATERAL (${inner}) AS "_fld_resp" ON true`;
      const name = `lp_st_${createHash('sha1').update(text).digest('base64url').slice(0, 22)}`;
      if (preparedNames.size < MAX_PREPARED) preparedNames.add(name);
      this.multiplexed = { text, name: preparedNames.has(name) ? name : undefined };
    }
    return this.multiplexed;
  }

  /** Runs one batch; returns the number of statements it took. */
  private async runBatch(batch: Cohort[]): Promise<number> {
    if (this.closed) return 0;
    // The subscribers each cohort has now: those joining while the statement runs wait for the next poll.
    const live = batch.filter((c) => c.members.size > 0).map((c) => ({ c, snap: new Set(c.members) }));
    if (live.length === 0) return 0;
    const types = this.types;
    if (types && live.length > 1) {
      const st = this.multiplexedStatement(types);
      let rows: Array<{ id: number; data: Record<string, unknown> | null; cursor: Record<string, string | null> | null }>;
      try {
        const values = [live.map((_, i) => i), live.map((x) => JSON.stringify(x.c.params))];
        rows = await query(this.plan.pool, st.name ? { name: st.name, text: st.text, values } : { text: st.text, values }, this.plan.timeoutMs);
      } catch {
        return 1 + (await Promise.all(live.map((x) => this.runOne(x.c, x.snap)))).length;
      }
      this.mux.opts.onStatement?.(live.length);
      for (const r of rows) {
        const x = live[r.id];
        if (x) this.deliver(x.c, x.snap, r.data ?? {}, r.cursor);
      }
      return 1;
    }
    await Promise.all(live.map((x) => this.runOne(x.c, x.snap)));
    return live.length;
  }

  private async runOne(c: Cohort, snap: Set<Member>): Promise<void> {
    try {
      const rows = await query<{ data: Record<string, unknown> | null; cursor: Record<string, string | null> | null }>(this.plan.pool, { text: this.text, values: c.values }, this.plan.timeoutMs);
      this.mux.opts.onStatement?.(1);
      this.deliver(c, snap, rows[0]?.data ?? {}, rows[0]?.cursor ?? null);
    } catch (e) {
      this.mux.opts.onStatement?.(1);
      const first = snap.values().next().value;
      if (!first) return;
      const res = errorResult(e, first.sub.session, this.text);
      const json = JSON.stringify(res);
      for (const m of snap) {
        if (m.stopped || m.cohort !== c || m.last === json) continue;
        m.last = json;
        send(m, res);
      }
    }
  }

  private deliver(c: Cohort, snap: Set<Member>, dbData: Record<string, unknown>, cursor: Record<string, string | null> | null): void {
    const members = [...snap].filter((m) => !m.stopped && m.cohort === c);
    const first = members[0];
    if (!first?.plan) return;
    const res = first.plan.respond(dbData);
    if (!isEmpty(res)) {
      // Hasura pushes when the cohort's result changed and to new subscribers; per subscriber that
      // is "not the message it got last" (cohorts merge as cursors meet, so a cohort's last
      // result is not every member's).
      const json = JSON.stringify(res);
      for (const m of members) {
        if (m.last === json) continue;
        m.last = json;
        send(m, res);
      }
      c.last = json;
    }
    const next = cursor?.[this.cursorKey];
    if (next === null || next === undefined) return;
    const params = [...c.params];
    const values = [...c.values];
    params[this.cursorParam] = next;
    values[this.cursorParam] = next;
    if (cohortKey(params) === c.key) return;
    this.moves.push({ from: c, members, params, values, cursor: next });
  }

  /**
   * The cohort map rebuilt once every batch of the poll is done (StreamingQuery.hs, after the
   * poll): the subscribers of each advanced cohort move to their new cursor's cohort, merging
   * with one already there; those that joined during the poll stay where they were.
   */
  private advance(): void {
    const moves = this.moves.splice(0);
    for (const mv of moves) {
      for (const m of mv.members) if (m.cohort === mv.from) mv.from.members.delete(m);
      if (mv.from.members.size === 0 && this.cohorts.get(mv.from.key) === mv.from) this.cohorts.delete(mv.from.key);
    }
    for (const mv of moves) {
      for (const m of mv.members) {
        if (m.stopped || m.cohort !== mv.from) continue;
        m.cursor = mv.cursor;
        this.file(m, mv.params, mv.values, mv.from.last);
      }
    }
  }
}

function send(m: Member, res: GraphQLResponse): void {
  try {
    m.sub.onData(res);
  } catch {
    // A socket gone mid-send: its connection's close handler stops the subscriber.
  }
}

/**
 * Every streaming subscription of the process. `add` plans the subscription and files it with its
 * poller; a plan error (only after a reload: the caller plans before adding) is sent once and
 * the subscriber is planned again every interval until the metadata lets it run.
 */
export class StreamMultiplexer {
  private readonly pollers = new Map<string, StreamPoller>();
  private readonly waiting = new Set<Member>();
  private retry: NodeJS.Timeout | undefined;

  constructor(readonly opts: StreamMultiplexerOptions) {}

  get subscribers(): number {
    let n = 0;
    for (const p of this.pollers.values()) n += p.size;
    return n;
  }

  get pollerCount(): number {
    return this.pollers.size;
  }

  get cohortCount(): number {
    let n = 0;
    for (const p of this.pollers.values()) n += p.cohorts.size;
    return n;
  }

  add(sub: StreamSubscriber): StreamHandle {
    const m: Member = { sub, plan: undefined, cursor: undefined, cohort: undefined, poller: undefined, stopped: false, last: undefined };
    this.place(m);
    return {
      stop: () => {
        if (m.stopped) return;
        m.stopped = true;
        this.waiting.delete(m);
        m.poller?.leave(m);
      },
    };
  }

  place(m: Member): void {
    if (m.stopped) return;
    const plan = this.opts.engine().prepareLive?.(m.sub.request, m.sub.session);
    if (!plan) return;
    if (!('respond' in plan) || !plan.stream || !plan.statement) {
      const res: GraphQLResponse = 'respond' in plan ? { errors: [{ message: 'not a streaming subscription', extensions: { path: '$', code: 'unexpected' } }] } : plan;
      const json = JSON.stringify(res);
      if (json !== m.last) {
        m.last = json;
        send(m, res);
      }
      this.waiting.add(m);
      this.retry ??= setTimeout(() => this.retryWaiting(), this.opts.intervalMs);
      return;
    }
    m.plan = plan;
    const { text, values } = compile(plan.statement);
    const key = `${plan.generation}\0${plan.role}\0${text}`;
    let p = this.pollers.get(key);
    if (!p) {
      p = new StreamPoller(key, plan.statement, plan, this);
      this.pollers.set(key, p);
    }
    p.join(m, values);
  }

  private retryWaiting(): void {
    this.retry = undefined;
    const ms = [...this.waiting];
    this.waiting.clear();
    for (const m of ms) this.place(m);
  }

  forget(p: StreamPoller): void {
    if (this.pollers.get(p.key) === p) this.pollers.delete(p.key);
  }

  close(): void {
    if (this.retry) clearTimeout(this.retry);
    this.retry = undefined;
    this.waiting.clear();
    for (const p of [...this.pollers.values()]) p.close();
  }
}

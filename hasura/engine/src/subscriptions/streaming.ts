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
 * After a metadata reload each subscriber is planned again and keeps its cursor. The polling and
 * batching are cohorts.ts', shared with live queries; what is stream-specific is here.
 */
import type { GraphQLRequest, GraphQLResponse, LivePlan, Session } from '../contract.ts';
import type { SQL } from '../sql/sql.ts';
import { CohortMultiplexer, CohortPoller, cohortKey, textForm, type BatchEntry, type CohortBase, type CohortOptions, type CohortRow, type MemberBase, type PollReport as CohortPollReport } from './cohorts.ts';

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
export type PollReport = CohortPollReport & { kind: 'streaming' };

/**
 * `HASURA_GRAPHQL_STREAMING_QUERIES_MULTIPLEXED_REFETCH_INTERVAL` (default 1000 ms) and
 * `…_BATCH_SIZE` (cohorts per statement; default 100; 1 = no multiplexing).
 */
export type StreamMultiplexerOptions = CohortOptions;

type Cohort = CohortBase<Member>;

interface Member extends MemberBase<Cohort> {
  sub: StreamSubscriber;
  /** The cursor's current value (text form); undefined = the initial value in the request. */
  cursor: string | null | undefined;
  /** JSON of the last message sent (an error is not sent twice in a row). */
  last: string | undefined;
}

interface StreamRow extends CohortRow {
  cursor: Record<string, string | null> | null;
}

/** Does a response carry no row? (`{"<alias>": []}` — Hasura's templated empty response.) */
function isEmpty(res: GraphQLResponse): boolean {
  if (res.errors?.length) return false;
  const data = res.data as Record<string, unknown> | null | undefined;
  if (!data) return true;
  return Object.values(data).every((v) => Array.isArray(v) && v.length === 0);
}

function send(m: Member, res: GraphQLResponse): void {
  try {
    m.sub.onData(res);
  } catch {
    // A socket gone mid-send: its connection's close handler stops the subscriber.
  }
}

class StreamPoller extends CohortPoller<Member, Cohort, StreamRow> {
  private readonly moves: Array<{ from: Cohort; members: Member[]; params: Array<string | null>; values: unknown[]; cursor: string }> = [];
  private readonly cursorParam: number;
  private readonly cursorKey: string;

  constructor(key: string, text: string, statement: SQL, plan: LivePlan, mux: StreamMultiplexer) {
    // Hasura's mkStreamingMultiplexedQuery returns each cohort's next cursor beside its rows.
    super(key, text, statement, plan, mux, 'streaming', ['cursor']);
    this.cursorParam = plan.stream!.cursorParam;
    this.cursorKey = plan.stream!.cursorKey;
    // Hasura's poller thread polls at once, then sleeps the interval.
    this.scheduleTick(0);
  }

  protected newCohort(key: string, params: Array<string | null>, values: unknown[], last: string | undefined): Cohort {
    return { key, params, values, members: new Set(), last };
  }

  join(m: Member, values: unknown[]): void {
    const vals = [...values];
    if (m.cursor !== undefined) vals[this.cursorParam] = m.cursor;
    this.file(m, vals.map(textForm), vals);
  }

  protected deliverError(x: BatchEntry<Member, Cohort>, res: GraphQLResponse): void {
    const json = JSON.stringify(res);
    for (const m of x.snap) {
      if (m.stopped || m.cohort !== x.c || m.last === json) continue;
      m.last = json;
      send(m, res);
    }
  }

  protected deliver(x: BatchEntry<Member, Cohort>, row: StreamRow | undefined): void {
    const { c } = x;
    const members = [...x.snap].filter((m) => !m.stopped && m.cohort === c);
    const first = members[0];
    if (!first?.plan) return;
    const res = first.plan.respond(row?.data ?? {});
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
    const next = row?.cursor?.[this.cursorKey];
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
  protected override afterPoll(): void {
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

/**
 * Every streaming subscription of the process. `add` plans the subscription and files it with its
 * poller; a plan error (only after a reload: the caller plans before adding) is sent once and
 * the subscriber is planned again every interval until the metadata lets it run.
 */
export class StreamMultiplexer extends CohortMultiplexer<Member, Cohort, StreamPoller> {
  add(sub: StreamSubscriber): StreamHandle {
    return this.addMember({ sub, plan: undefined, cursor: undefined, cohort: undefined, poller: undefined, stopped: false, last: undefined });
  }

  protected usable(plan: LivePlan | GraphQLResponse): LivePlan | GraphQLResponse {
    if ('respond' in plan && (!plan.stream || !plan.statement)) {
      return { errors: [{ message: 'not a streaming subscription', extensions: { path: '$', code: 'unexpected' } }] };
    }
    return plan;
  }

  protected sendOnce(m: Member, res: GraphQLResponse): void {
    const json = JSON.stringify(res);
    if (json === m.last) return;
    m.last = json;
    send(m, res);
  }

  protected newPoller(key: string, text: string, plan: LivePlan & { statement: SQL }): StreamPoller {
    return new StreamPoller(key, text, plan.statement, plan, this);
  }

  protected join(p: StreamPoller, m: Member, values: unknown[]): void {
    p.join(m, values);
  }
}

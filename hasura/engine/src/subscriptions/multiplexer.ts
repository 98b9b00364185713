/**
 * Multiplexed live queries, as Hasura runs them (docs/research/hasura-v2.md §C.5; upstream
 * `Execute/Subscription/Poll/LiveQuery.hs`, `Backends/Postgres/Execute/Subscription.hs` and docs
 * `subscriptions/postgres/livequery/execution.mdx`):
 *
 *   - A **poller** holds every subscription with the same role and the same compiled statement
 *     (same query text, same shape once variables and session variables are bound). Hasura keys
 *     its pollers by role and parameterised query plan; we key by the compiled SQL text, which is
 *     the same thing made exact: two subscriptions share a poller only if their statements differ
 *     in bind values alone.
 *   - A **cohort** is the subscribers of a poller whose bind values (query variables and the
 *     session variables the permissions read) are all equal: they share one result.
 *   - Every refetch interval (`HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_REFETCH_INTERVAL`) the
 *     poller runs ONE statement per batch of `HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_BATCH_SIZE`
 *     cohorts: the cohorts' values as `unnest($1::int4[], $2::json[])`, lateral-joined to the
 *     subscription's statement with each bind parameter replaced by its cohort's value cast to the
 *     parameter's type — Hasura's `UNNEST($1::uuid[], $2::json[]) AS _subs(result_id, result_vars)
 *     LEFT OUTER JOIN LATERAL (…) ON true` with `(_subs.result_vars #>> '{…}')::<type>` references.
 *   - A cohort's result is sent only to its subscribers whose last result differs (Hasura hashes
 *     the response per cohort and pushes only on a change).
 *
 * Permissions hold per subscriber by construction: the permission filter's session values are bind
 * parameters of the subscriber's own compiled statement, so they are part of the cohort's values,
 * and the row the lateral join produces for a cohort is exactly what the subscriber's own
 * statement would produce with those values (test/subscriptions/multiplexer.test.ts checks this
 * property on random cohorts).
 *
 * A statement whose parameter types PostgreSQL cannot report, or a batch that fails (one cohort's
 * value that does not cast), falls back to running the affected cohorts one statement each, so an
 * error reaches only the subscribers it belongs to. The polling and batching are cohorts.ts',
 * shared with streaming subscriptions; what is live-query-specific is here.
 */
import type { GraphQLRequest, GraphQLResponse, LivePlan, Session } from '../contract.ts';
import type { SQL } from '../sql/sql.ts';
import { CohortMultiplexer, CohortPoller, textForm, type BatchEntry, type CohortBase, type CohortOptions, type CohortRow, type MemberBase } from './cohorts.ts';

export { DEFAULT_BATCH_SIZE } from './cohorts.ts';

/** One subscription as the multiplexer sees it. */
export interface LiveSubscriber {
  request: GraphQLRequest;
  session: Session;
  /** JSON of the last result sent; the first result is sent by the caller (ws.ts). */
  last: string | undefined;
  /** A result that differs from `last`. */
  onChange(res: GraphQLResponse): void;
}

export type MultiplexerOptions = CohortOptions;

/** What `add` returns: stop() removes the subscriber (idempotent). */
export interface LiveHandle {
  stop(): void;
}

interface Cohort extends CohortBase<Member> {
  /** A member joined since the last run: compare every member even if the result is unchanged. */
  dirty: boolean;
}

interface Member extends MemberBase<Cohort> {
  sub: LiveSubscriber;
}

class Poller extends CohortPoller<Member, Cohort, CohortRow> {
  constructor(key: string, text: string, statement: SQL, plan: LivePlan, mux: Multiplexer) {
    super(key, text, statement, plan, mux, 'live');
  }

  protected newCohort(key: string, params: Array<string | null>, values: unknown[]): Cohort {
    return { key, params, values, members: new Set(), last: undefined, dirty: true };
  }

  /** The first poll is one interval after the first subscriber (ws.ts sent it its first result). */
  join(m: Member, values: unknown[]): void {
    const c = this.file(m, values.map(textForm), values);
    c.dirty = true;
    this.scheduleTick(this.host.opts.intervalMs);
  }

  protected deliver(x: BatchEntry<Member, Cohort>, row: CohortRow | undefined): void {
    const first = x.c.members.values().next().value;
    if (!first?.plan) return;
    this.fanOut(x.c, first.plan.respond(row?.data ?? {}), false);
  }

  protected deliverError(x: BatchEntry<Member, Cohort>, res: GraphQLResponse): void {
    this.fanOut(x.c, res, true);
  }

  /** To the cohort's current members whose last result differs (Hasura pushes on a change). */
  private fanOut(c: Cohort, res: GraphQLResponse, error: boolean): void {
    const json = JSON.stringify(res);
    if (json === c.last && !c.dirty) return;
    c.last = error ? undefined : json;
    c.dirty = false;
    for (const m of [...c.members]) {
      if (m.stopped || m.sub.last === json) continue;
      m.sub.last = json;
      try {
        m.sub.onChange(res);
      } catch {
        // A socket gone mid-send: the connection's close handler stops the subscriber.
      }
    }
  }
}

/**
 * Every multiplexed live query of the process. `add` plans the subscription (engine.prepareLive)
 * and places it in its poller's cohort; a plan error is answered through onChange once, as the
 * per-subscription poller would, and the subscriber waits (planned again each interval) until the
 * metadata lets it run.
 */
export class Multiplexer extends CohortMultiplexer<Member, Cohort, Poller> {
  add(sub: LiveSubscriber): LiveHandle {
    return this.addMember({ sub, plan: undefined, cohort: undefined, poller: undefined, stopped: false });
  }

  protected usable(plan: LivePlan | GraphQLResponse): LivePlan | GraphQLResponse {
    return plan;
  }

  protected sendOnce(m: Member, res: GraphQLResponse): void {
    const json = JSON.stringify(res);
    if (json === m.sub.last) return;
    m.sub.last = json;
    try { m.sub.onChange(res); } catch { /* closed: stopped by its connection */ }
  }

  protected newPoller(key: string, text: string, plan: LivePlan & { statement: SQL }): Poller {
    return new Poller(key, text, plan.statement, plan, this);
  }

  protected join(p: Poller, m: Member, values: unknown[]): void {
    p.join(m, values);
  }
}

/**
 * What live queries (multiplexer.ts) and streaming subscriptions (streaming.ts) share, as
 * Hasura's `Execute/Subscription/Poll/{LiveQuery,StreamingQuery}.hs` share `Poll/Common.hs`:
 *
 *   - a **poller** per role and compiled statement, holding **cohorts** of subscribers whose bind
 *     values are all equal;
 *   - every refetch interval, ONE statement per batch of cohorts — the cohorts' values as
 *     `unnest($1::int4[], $2::json[])` lateral-joined to the subscription's statement, each bind
 *     parameter replaced by its cohort's value cast to the parameter's type (upstream
 *     `Backends/Postgres/Execute/Subscription.hs` `mkMultiplexedQuery`/`mkStreamingMultiplexedQuery`);
 *   - a batch that fails falls back to one statement per cohort, so an error reaches only the
 *     subscribers it belongs to;
 *   - after a metadata reload every subscriber is planned again, as a new subscription would be;
 *   - subscribers whose plan fails wait, planned again each interval, the error sent once.
 *
 * The subclasses decide what a cohort's row means (a result pushed when it changed; a batch of
 * rows and the cursor's next value) and when the first poll runs.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import type { GraphQLEngine, GraphQLRequest, GraphQLResponse, LivePlan, Session } from '../contract.ts';
import { compile, type SQL } from '../sql/sql.ts';
import { mapPgError } from '../execute/pg-errors.ts';
import { QErr } from '../errors.ts';

/** `HASURA_GRAPHQL_{LIVE,STREAMING}_QUERIES_MULTIPLEXED_BATCH_SIZE` default. */
export const DEFAULT_BATCH_SIZE = 100;

/** What one poll of a poller did (subscriptions/metrics.ts and the bench read it). */
export interface PollReport {
  kind: 'live' | 'streaming';
  durationMs: number;
  cohorts: number;
  subscribers: number;
  statements: number;
}

export interface CohortOptions {
  engine: () => GraphQLEngine;
  intervalMs: number;
  /** Cohorts per statement; default 100 as Hasura's; 1 = no multiplexing. */
  batchSize?: number | undefined;
  /** Runs each statement (the WebSocket server's fair, bounded queue); default: at once. */
  schedule?: (owner: string, fn: () => Promise<void>) => Promise<void>;
  /** Called after each statement with the number of cohorts it served (bench and tests count). */
  onStatement?: (cohorts: number) => void;
  /** Called after each poll of a poller. */
  onPoll?: (report: PollReport) => void;
}

export interface CohortBase<M> {
  key: string;
  /** Bind values in PostgreSQL's text form (what node-pg would send), null for NULL. */
  params: Array<string | null>;
  /** The values as given, for a cohort run on its own. */
  values: unknown[];
  members: Set<M>;
  /** JSON of the last result this cohort produced; undefined until the first. */
  last: string | undefined;
}

export interface MemberBase<C> {
  sub: { request: GraphQLRequest; session: Session };
  plan: LivePlan | undefined;
  cohort: C | undefined;
  poller: { leave(m: never): void } | undefined;
  stopped: boolean;
}

/** A cohort in one batch, with its subscribers when the batch started. */
export interface BatchEntry<M, C> {
  c: C;
  snap: Set<M>;
}

/** What a statement returns per cohort: the response's `data` (and a stream's cursor). */
export interface CohortRow {
  data: Record<string, unknown> | null;
}

const prepareValue = (pg as unknown as { utils: { prepareValue(v: unknown): unknown } }).utils.prepareValue;

/** A bind value in the text form PostgreSQL's type input reads (node-pg's own serialisation). */
export function textForm(v: unknown): string | null {
  const p = prepareValue(v);
  if (p === null || p === undefined) return null;
  if (Buffer.isBuffer(p)) return `\\x${p.toString('hex')}`;
  return String(p);
}

export const cohortKey = (params: Array<string | null>): string => JSON.stringify(params);

/** `compile` with each bind parameter written by `param(index)` instead of `$n`. */
export function compileWith(node: SQL, param: (i: number) => string): string {
  const out: string[] = [];
  let n = 0;
  const walk = (x: SQL): void => {
    switch (x.k) {
      case 'raw': out.push(x.text); break;
      case 'value': out.push(param(n++)); break;
      case 'ident': out.push(compile(x).text); break;
      case 'list': for (const it of x.items) walk(it); break;
    }
  };
  walk(node);
  return out.join('');
}

/**
 * The parameter types PostgreSQL infers for `text` (a named prepared statement on one connection,
 * read back from pg_prepared_statements, then deallocated), as type names usable in a cast; null
 * when PostgreSQL cannot prepare it (the poller then runs cohorts one by one, with the same error
 * a subscriber would get on its own).
 */
export async function parameterTypes(pool: pg.Pool, text: string): Promise<string[] | null> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch {
    return null;
  }
  let broken = false;
  try {
    await client.query(`PREPARE "lp_mx_probe" AS ${text}`);
    try {
      const r = await client.query<{ t: string }>(
        "SELECT u.t::text AS t FROM pg_prepared_statements p, unnest(p.parameter_types) WITH ORDINALITY AS u(t, i) WHERE p.name = 'lp_mx_probe' ORDER BY u.i",
      );
      return r.rows.map((x) => x.t);
    } finally {
      await client.query('DEALLOCATE "lp_mx_probe"').catch(() => { broken = true; });
    }
  } catch {
    return null;
  } finally {
    client.release(broken);
  }
}

const SET_TIMEOUT = "SELECT set_config('statement_timeout', $1, true)";

/** Runs `text` with `values` on `pool`, under `timeoutMs` when given (in its own transaction). */
export async function query<R extends pg.QueryResultRow>(pool: pg.Pool, config: pg.QueryConfig, timeoutMs: number | undefined): Promise<R[]> {
  if (timeoutMs === undefined) return (await pool.query<R>(config)).rows;
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('BEGIN');
    await client.query(SET_TIMEOUT, [String(timeoutMs)]);
    const res = await client.query<R>(config);
    await client.query('COMMIT');
    return res.rows;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => { broken = true; });
    throw e;
  } finally {
    client.release(broken);
  }
}

/** An error result in execute's shape (admin sees the internal message, as execute.ts does). */
export function errorResult(e: unknown, session: Session, text: string): GraphQLResponse {
  const admin = session.isAdmin && session.role === 'admin';
  const qe = e instanceof QErr ? e : mapPgError(e, text);
  return { errors: [qe.toJSON(admin)] };
}

/**
 * Multiplexed statements become named prepared statements (one parse per connection, like
 * execute/run.ts), bounded so a client minting endless subscription shapes cannot grow every
 * live connection's statement cache without limit; past the bound they run unnamed.
 */
const MAX_PREPARED = 2000;
const preparedNames = new Set<string>();

let pollerIds = 0;

/** What a poller needs of the multiplexer that owns it. */
export interface PollerHost<M> {
  readonly opts: CohortOptions;
  place(m: M): void;
  /** The poller is done: out of the registry (if it is still the one under its key). */
  forget(p: { readonly key: string }): void;
}

export abstract class CohortPoller<M extends MemberBase<C>, C extends CohortBase<M>, R extends CohortRow> {
  readonly id: string;
  readonly cohorts = new Map<string, C>();
  protected timer: NodeJS.Timeout | undefined;
  protected running = false;
  protected closed = false;
  /** undefined = not probed yet; null = cannot multiplex. */
  private types: string[] | null | undefined;
  private multiplexed: { text: string; name: string | undefined } | undefined;

  constructor(
    readonly key: string,
    protected readonly text: string,
    protected readonly statement: SQL,
    protected readonly plan: LivePlan,
    protected readonly host: PollerHost<M>,
    private readonly kind: PollReport['kind'],
    /** Columns of `_fld_resp` the multiplexed statement returns besides `data`. */
    private readonly extraColumns: string[] = [],
  ) {
    this.id = `${kind}:${++pollerIds}`;
  }

  get size(): number {
    let n = 0;
    for (const c of this.cohorts.values()) n += c.members.size;
    return n;
  }

  /** A new cohort for these values (its subclass' extra state). */
  protected abstract newCohort(key: string, params: Array<string | null>, values: unknown[], last: string | undefined): C;
  /** A cohort's row of this poll; undefined row = no row came back for it. */
  protected abstract deliver(x: BatchEntry<M, C>, row: R | undefined): void;
  /** A cohort's statement failed. */
  protected abstract deliverError(x: BatchEntry<M, C>, res: GraphQLResponse): void;
  /** After every batch of a poll is done. */
  protected afterPoll(): void {}

  /** Puts `m` in the cohort of `params` (created if need be). */
  protected file(m: M, params: Array<string | null>, values: unknown[], last?: string): C {
    const key = cohortKey(params);
    let c = this.cohorts.get(key);
    if (!c) {
      c = this.newCohort(key, params, values, last);
      this.cohorts.set(key, c);
    }
    c.members.add(m);
    m.cohort = c;
    m.poller = this as unknown as MemberBase<C>['poller'];
    return c;
  }

  leave(m: M): void {
    const c = m.cohort;
    m.cohort = undefined;
    m.poller = undefined;
    if (!c) return;
    c.members.delete(m);
    if (c.members.size === 0 && this.cohorts.get(c.key) === c) this.cohorts.delete(c.key);
    // Gone from the registry at once: a poll in flight finishes, its results reach no one.
    if (this.cohorts.size === 0) this.close();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.host.forget(this);
  }

  protected scheduleTick(ms: number): void {
    if (this.closed || this.timer || this.running) return;
    this.timer = setTimeout(() => void this.tick(), ms);
  }

  /** One refetch: every batch of cohorts, then the next one interval after the last ends. */
  private async tick(): Promise<void> {
    this.timer = undefined;
    if (this.closed) return;
    this.running = true;
    const started = performance.now();
    const cohorts = [...this.cohorts.values()];
    const subscribers = this.size;
    let statements = 0;
    try {
      const gen = this.host.opts.engine().generation?.();
      if (gen !== undefined && gen !== this.plan.generation) {
        // Metadata changed since these plans were made: plan every member again (it may move to
        // another poller, or get an error), as a new subscription would be.
        const members = cohorts.flatMap((c) => [...c.members]);
        this.cohorts.clear();
        this.close();
        for (const m of members) {
          m.cohort = undefined;
          m.poller = undefined;
          this.host.place(m);
        }
        return;
      }
      if (this.types === undefined) this.types = await parameterTypes(this.plan.pool, this.text);
      const size = Math.max(1, this.host.opts.batchSize ?? DEFAULT_BATCH_SIZE);
      const batches: C[][] = [];
      for (let i = 0; i < cohorts.length; i += size) batches.push(cohorts.slice(i, i + size));
      const counts = await Promise.all(batches.map((b) => this.scheduled(() => this.runBatch(b))));
      statements = counts.reduce((a, b) => a + b, 0);
    } catch {
      // A batch's own errors are delivered to its cohorts; nothing else may stop the poller.
    } finally {
      this.running = false;
      this.afterPoll();
      this.host.opts.onPoll?.({ kind: this.kind, durationMs: performance.now() - started, cohorts: cohorts.length, subscribers, statements });
      if (this.cohorts.size === 0) this.close();
      else this.scheduleTick(this.host.opts.intervalMs);
    }
  }

  private async scheduled(fn: () => Promise<number>): Promise<number> {
    let n = 0;
    const run = async () => { n = await fn(); };
    await (this.host.opts.schedule ? this.host.opts.schedule(this.id, run) : run());
    return n;
  }

  private multiplexedStatement(types: string[]): { text: string; name: string | undefined } {
    if (!this.multiplexed) {
      const inner = compileWith(this.statement, (i) => `(("_subs"."result_vars"->>${i})::${types[i] ?? 'text'})`);
      const extra = this.extraColumns.map((col) => `, "_fld_resp"."${col}" AS ${col}`).join('');
      const text =
        `SELECT "_subs"."result_id" AS id, "_fld_resp"."data" AS data${extra} ` +
        `FROM unnest($1::int4[], $2::json[]) AS "_subs"("result_id", "result_vars") ` +
        `LEFT OUTER JOIN LATERAL (${inner}) AS "_fld_resp" ON true`;
      const name = `lp_${this.kind === 'live' ? 'mx' : 'st'}_${createHash('sha1').update(text).digest('base64url').slice(0, 22)}`;
      if (preparedNames.size < MAX_PREPARED) preparedNames.add(name);
      this.multiplexed = { text, name: preparedNames.has(name) ? name : undefined };
    }
    return this.multiplexed;
  }

  /** Runs one batch; returns the number of statements it took. */
  private async runBatch(batch: C[]): Promise<number> {
    if (this.closed) return 0;
    // The subscribers each cohort has now: a stream's joiners during the statement wait for the next poll.
    const live = batch.filter((c) => c.members.size > 0).map((c) => ({ c, snap: new Set(c.members) }));
    if (live.length === 0) return 0;
    const types = this.types;
    if (types && live.length > 1) {
      const st = this.multiplexedStatement(types);
      let rows: Array<R & { id: number }>;
      try {
        const values = [live.map((_, i) => i), live.map((x) => JSON.stringify(x.c.params))];
        rows = await query(this.plan.pool, st.name ? { name: st.name, text: st.text, values } : { text: st.text, values }, this.plan.timeoutMs);
      } catch {
        // One cohort's value may be what failed: run each cohort alone so the error reaches only
        // the subscribers it belongs to (Hasura would fail the whole batch).
        await Promise.all(live.map((x) => this.runOne(x)));
        return 1 + live.length;
      }
      this.host.opts.onStatement?.(live.length);
      for (const r of rows) {
        const x = live[r.id];
        if (x) this.deliver(x, r);
      }
      return 1;
    }
    await Promise.all(live.map((x) => this.runOne(x)));
    return live.length;
  }

  /** One cohort, its own statement (the subscriber's own compiled SQL and values). */
  private async runOne(x: BatchEntry<M, C>): Promise<void> {
    try {
      const rows = await query<R>(this.plan.pool, { text: this.text, values: x.c.values }, this.plan.timeoutMs);
      this.host.opts.onStatement?.(1);
      this.deliver(x, rows[0]);
    } catch (e) {
      this.host.opts.onStatement?.(1);
      const first = x.snap.values().next().value;
      if (first) this.deliverError(x, errorResult(e, first.sub.session, this.text));
    }
  }
}

/**
 * The pollers of one kind of subscription in the process. `add` plans a subscription
 * (engine.prepareLive) and files it with its poller; a plan error is sent once and the subscriber
 * is planned again every interval until the metadata lets it run.
 */
export abstract class CohortMultiplexer<M extends MemberBase<C>, C extends CohortBase<M>, P extends CohortPoller<M, C, CohortRow>> implements PollerHost<M> {
  private readonly pollers = new Map<string, P>();
  private readonly waiting = new Set<M>();
  private retry: NodeJS.Timeout | undefined;

  constructor(readonly opts: CohortOptions) {}

  /** The plan this kind of subscription can run, or the error to send. */
  protected abstract usable(plan: LivePlan | GraphQLResponse): LivePlan | GraphQLResponse;
  /** Sends a plan error unless it is the last message the subscriber got. */
  protected abstract sendOnce(m: M, res: GraphQLResponse): void;
  protected abstract newPoller(key: string, text: string, plan: LivePlan & { statement: SQL }): P;

  /** Subscriptions placed in a poller (not those waiting for a plan). */
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

  /** Files `m`; stop() removes it (idempotent). */
  protected addMember(m: M): { stop(): void } {
    this.place(m);
    return {
      stop: () => {
        if (m.stopped) return;
        m.stopped = true;
        this.waiting.delete(m);
        (m.poller as { leave(m: M): void } | undefined)?.leave(m);
      },
    };
  }

  /** Plans `m` again and puts it where it belongs now. */
  place(m: M): void {
    if (m.stopped) return;
    const planned = this.opts.engine().prepareLive?.(m.sub.request, m.sub.session);
    if (!planned) return;
    const plan = this.usable(planned);
    if (!('respond' in plan)) {
      this.sendOnce(m, plan);
      this.waiting.add(m);
      this.retry ??= setTimeout(() => this.retryWaiting(), this.opts.intervalMs);
      return;
    }
    m.plan = plan;
    // Nothing from the database (only __typename/introspection): the result never changes.
    if (!plan.statement) return;
    const { text, values } = compile(plan.statement);
    const key = `${plan.generation}\0${plan.role}\0${text}`;
    let p = this.pollers.get(key);
    if (!p) {
      p = this.newPoller(key, text, plan as LivePlan & { statement: SQL });
      this.pollers.set(key, p);
    }
    this.join(p, m, values);
  }

  /** Puts a planned member in its poller. */
  protected abstract join(p: P, m: M, values: unknown[]): void;

  private retryWaiting(): void {
    this.retry = undefined;
    const ms = [...this.waiting];
    this.waiting.clear();
    for (const m of ms) this.place(m);
  }

  forget(p: { readonly key: string }): void {
    if (this.pollers.get(p.key) === p) this.pollers.delete(p.key);
  }

  /** Stops every poller (shutdown). */
  close(): void {
    if (this.retry) clearTimeout(this.retry);
    this.retry = undefined;
    this.waiting.clear();
    for (const p of [...this.pollers.values()]) p.close();
  }
}

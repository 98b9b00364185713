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
 * error reaches only the subscribers it belongs to.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import type { GraphQLEngine, GraphQLRequest, GraphQLResponse, LivePlan, Session } from '../contract.ts';
import { compile, type SQL } from '../sql/sql.ts';
import { mapPgError } from '../execute/pg-errors.ts';
import { QErr } from '../errors.ts';

export const DEFAULT_BATCH_SIZE = 100;

/** One subscription as the multiplexer sees it. */
export interface LiveSubscriber {
  request: GraphQLRequest;
  session: Session;
  /** JSON of the last result sent; the first result is sent by the caller (ws.ts). */
  last: string | undefined;
  /** A result that differs from `last`. */
  onChange(res: GraphQLResponse): void;
}

export interface MultiplexerOptions {
  engine: () => GraphQLEngine;
  intervalMs: number;
  /** Cohorts per statement; default 100 as Hasura's. */
  batchSize?: number | undefined;
  /** Runs each statement (the WebSocket server's fair, bounded queue); default: at once. */
  schedule?: (owner: string, fn: () => Promise<void>) => Promise<void>;
  /** Called after each statement with the number of cohorts it served (bench and tests count). */
  onStatement?: (cohorts: number) => void;
  /** Called after each poll of a poller (subscriptions/metrics.ts). */
  onPoll?: (report: { kind: 'live'; durationMs: number; cohorts: number; subscribers: number; statements: number }) => void;
}

/** What `add` returns: stop() removes the subscriber (idempotent). */
export interface LiveHandle {
  stop(): void;
}

interface Member {
  sub: LiveSubscriber;
  plan: LivePlan | undefined;
  cohort: Cohort | undefined;
  poller: Poller | undefined;
  stopped: boolean;
}

interface Cohort {
  key: string;
  /** Bind values in PostgreSQL's text form (what node-pg would send), null for NULL. */
  params: Array<string | null>;
  /** The values as given, for a cohort run on its own. */
  values: unknown[];
  members: Set<Member>;
  /** JSON of the last result this cohort produced; undefined until the first run. */
  last: string | undefined;
  /** A member joined since the last run: compare every member even if the result is unchanged. */
  dirty: boolean;
}

const prepareValue = (pg as unknown as { utils: { prepareValue(v: unknown): unknown } }).utils.prepareValue;

/** A bind value in the text form PostgreSQL's type input reads (node-pg's own serialisation). */
export function textForm(v: unknown): string | null {
  const p = prepareValue(v);
  if (p === null || p === undefined) return null;
  if (Buffer.isBuffer(p)) return `\\x${p.toString('hex')}`;
  return String(p);
}

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

let pollerIds = 0;

/**
 * Multiplexed statements become named prepared statements (one parse per connection, like
 * execute/run.ts), bounded so a client minting endless subscription shapes cannot grow every
 * live connection's statement cache without limit; past the bound they run unnamed.
 */
const MAX_PREPARED = 2000;
const preparedNames = new Set<string>();

class Poller {
  readonly id = `poller:${++pollerIds}`;
  readonly cohorts = new Map<string, Cohort>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private closed = false;
  /** undefined = not probed yet; null = cannot multiplex. */
  private types: string[] | null | undefined;
  private multiplexed: { text: string; name: string | undefined } | undefined;

  constructor(
    readonly key: string,
    private readonly text: string,
    private readonly statement: SQL,
    private readonly plan: LivePlan,
    private readonly mux: Multiplexer,
  ) {}

  get size(): number {
    let n = 0;
    for (const c of this.cohorts.values()) n += c.members.size;
    return n;
  }

  join(m: Member, values: unknown[]): void {
    const params = values.map(textForm);
    const key = JSON.stringify(params);
    let c = this.cohorts.get(key);
    if (!c) {
      c = { key, params, values, members: new Set(), last: undefined, dirty: true };
      this.cohorts.set(key, c);
    }
    c.members.add(m);
    c.dirty = true;
    m.cohort = c;
    m.poller = this;
    if (!this.timer && !this.running) this.schedule();
  }

  leave(m: Member): void {
    const c = m.cohort;
    if (!c) return;
    m.cohort = undefined;
    m.poller = undefined;
    c.members.delete(m);
    if (c.members.size === 0) this.cohorts.delete(c.key);
    if (this.cohorts.size === 0) this.close();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.mux.forget(this);
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => void this.tick(), this.mux.opts.intervalMs);
  }

  /** One refetch: every batch of cohorts, then the next tick one interval after the last ends. */
  private async tick(): Promise<void> {
    this.timer = undefined;
    if (this.closed) return;
    this.running = true;
    const started = performance.now();
    const cohortsAtStart = this.cohorts.size;
    const subscribersAtStart = this.size;
    let statements = 0;
    const count = (n: number) => { statements += n; };
    try {
      // Metadata changed since these plans were made: plan every member again (it may move to
      // another poller, or get an error), as a new subscription would be.
      const gen = this.mux.opts.engine().generation?.();
      if (gen !== undefined && gen !== this.plan.generation) {
        const members = [...this.cohorts.values()].flatMap((c) => [...c.members]);
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
      const cohorts = [...this.cohorts.values()];
      const size = Math.max(1, this.mux.opts.batchSize ?? DEFAULT_BATCH_SIZE);
      const batches: Cohort[][] = [];
      for (let i = 0; i < cohorts.length; i += size) batches.push(cohorts.slice(i, i + size));
      await Promise.all(batches.map((b) => this.schedule_(() => this.runBatch(b, count))));
    } catch {
      // A batch's own errors are delivered to its cohorts; nothing else may stop the poller.
    } finally {
      this.running = false;
      this.mux.opts.onPoll?.({ kind: 'live', durationMs: performance.now() - started, cohorts: cohortsAtStart, subscribers: subscribersAtStart, statements });
      if (this.cohorts.size > 0) this.schedule();
    }
  }

  private schedule_(fn: () => Promise<void>): Promise<void> {
    return this.mux.opts.schedule ? this.mux.opts.schedule(this.id, fn) : fn();
  }

  private multiplexedStatement(types: string[]): { text: string; name: string | undefined } {
    if (!this.multiplexed) {
      const inner = compileWith(this.statement, (i) => `(("_subs"."result_vars"->>${i})::${types[i] ?? 'text'})`);
      const text =
        `SELECT "_subs"."result_id" AS id, "_fld_resp"."data" AS data ` +
        `FROM unnest($1::int4[], $2::json[]) AS "_subs"("result_id", "result_vars") ` +
        `LEFT OUTER JOIN LATERAL (${inner}) AS "_fld_resp" ON true`;
      const name = `lp_mx_${createHash('sha1').update(text).digest('base64url').slice(0, 22)}`;
      if (preparedNames.size < MAX_PREPARED) preparedNames.add(name);
      this.multiplexed = { text, name: preparedNames.has(name) ? name : undefined };
    }
    return this.multiplexed;
  }

  private async runBatch(batch: Cohort[], count: (statements: number) => void): Promise<void> {
    if (this.closed) return;
    const live = batch.filter((c) => c.members.size > 0);
    if (live.length === 0) return;
    const types = this.types;
    if (types && live.length > 1) {
      const st = this.multiplexedStatement(types);
      let rows: Array<{ id: number; data: Record<string, unknown> | null }>;
      try {
        const values = [live.map((_, i) => i), live.map((c) => JSON.stringify(c.params))];
        rows = await query(this.plan.pool, st.name ? { name: st.name, text: st.text, values } : { text: st.text, values }, this.plan.timeoutMs);
      } catch {
        // One cohort's value may be what failed: run each cohort alone so the error reaches only
        // the subscribers it belongs to (Hasura would fail the whole batch).
        count(1 + live.length);
        await Promise.all(live.map((c) => this.runOne(c)));
        return;
      }
      count(1);
      this.mux.opts.onStatement?.(live.length);
      for (const r of rows) {
        const c = live[r.id];
        if (c) this.deliver(c, r.data ?? {});
      }
      return;
    }
    count(live.length);
    await Promise.all(live.map((c) => this.runOne(c)));
  }

  /** One cohort, its own statement (the subscriber's own compiled SQL and values). */
  private async runOne(c: Cohort): Promise<void> {
    const { text } = compile(this.statement);
    try {
      const rows = await query<{ data: Record<string, unknown> | null }>(this.plan.pool, { text, values: c.values }, this.plan.timeoutMs);
      this.mux.opts.onStatement?.(1);
      this.deliver(c, rows[0]?.data ?? {});
    } catch (e) {
      this.mux.opts.onStatement?.(1);
      const first = c.members.values().next().value;
      if (first) this.fanOut(c, errorResult(e, first.sub.session, text), true);
    }
  }

  private deliver(c: Cohort, dbData: Record<string, unknown>): void {
    const first = c.members.values().next().value;
    if (!first?.plan) return;
    this.fanOut(c, first.plan.respond(dbData), false);
  }

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
export class Multiplexer {
  private readonly pollers = new Map<string, Poller>();
  private readonly waiting = new Set<Member>();
  private retry: NodeJS.Timeout | undefined;

  constructor(readonly opts: MultiplexerOptions) {}

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

  add(sub: LiveSubscriber): LiveHandle {
    const m: Member = { sub, plan: undefined, cohort: undefined, poller: undefined, stopped: false };
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

  /** Plans `m` again and puts it where it belongs now. */
  place(m: Member): void {
    if (m.stopped) return;
    const plan = this.opts.engine().prepareLive?.(m.sub.request, m.sub.session);
    if (!plan) return;
    if (!('respond' in plan)) {
      const json = JSON.stringify(plan);
      if (json !== m.sub.last) {
        m.sub.last = json;
        try { m.sub.onChange(plan); } catch { /* closed: stopped by its connection */ }
      }
      this.waiting.add(m);
      this.retry ??= setTimeout(() => this.retryWaiting(), this.opts.intervalMs);
      return;
    }
    this.placePlanned(m, plan);
  }

  private placePlanned(m: Member, plan: LivePlan): void {
    m.plan = plan;
    // Nothing from the database (only __typename/introspection): the result never changes.
    if (!plan.statement) return;
    const { text, values } = compile(plan.statement);
    const key = `${plan.generation}\0${plan.role}\0${text}`;
    let p = this.pollers.get(key);
    if (!p) {
      p = new Poller(key, text, plan.statement, plan, this);
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

  forget(p: Poller): void {
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

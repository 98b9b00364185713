/**
 * The engine's Prometheus metrics: RED per route (common's plugin, `/metrics` on the engine's own
 * port), the three pools' saturation, and GraphQL operations by type and error code. Operations
 * are counted around `GraphQLEngine.execute`, where both the HTTP routes and the WebSocket
 * transport meet; an error code is Hasura's `extensions.code` of the first error (a bounded set:
 * validation-failed, parse-failed, access-denied, …) and `ok` when there is none.
 */
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import client from 'prom-client';
import { LATENCY_BUCKETS, createRegistry, observePool, registerHttpMetrics, type Registry } from '@linkport/common';
import type { ExecuteOptions, GraphQLEngine, GraphQLRequest, Session } from '../contract.ts';

type OpType = 'query' | 'mutation' | 'subscription' | 'unknown';

/**
 * The operation's type without a parse (the engine parses once, later): comments and strings
 * dropped, then the named operation's keyword, or the first operation's (`{` = query shorthand).
 * Exported for tests.
 */
export function operationType(query: string, operationName?: string | null): OpType {
  const text = query.replace(/"""[\s\S]*?"""|"(?:[^"\\\n]|\\.)*"|#[^\n]*/g, ' ');
  if (operationName) {
    const named = new RegExp(`\\b(query|mutation|subscription)\\s+${operationName.replace(/[^_A-Za-z0-9]/g, '')}\\b`).exec(text);
    if (named) return named[1] as OpType;
  }
  const first = /^\s*(?:(query|mutation|subscription)\b|\{)/.exec(text) ?? /(?:^|\})\s*(query|mutation|subscription)\b/.exec(text);
  if (!first) return 'unknown';
  return (first[1] as OpType | undefined) ?? 'query';
}

/** Hasura codes are lower-case words with dashes; anything else collapses to `other`. */
function codeLabel(code: unknown): string {
  return typeof code === 'string' && /^[a-z][a-z0-9-]{0,40}$/.test(code) ? code : 'other';
}

export interface EngineMetrics {
  registry: Registry;
  /** The engine with its executions counted (the same wrapper for the same engine). */
  observe(engine: GraphQLEngine): GraphQLEngine;
  /** Exports the number of open live subscriptions, read from `count` at each scrape. */
  liveSubscriptions(count: () => number): void;
}

export function registerEngineMetrics(app: FastifyInstance, pools: Record<string, pg.Pool>): EngineMetrics {
  const registry = createRegistry();
  registerHttpMetrics(app, registry);
  for (const [name, pool] of Object.entries(pools)) observePool(registry, name, pool);
  const ops = new client.Counter({
    name: 'linkport_graphql_operations_total',
    help: 'GraphQL operations executed (HTTP and WebSocket starts; live-query polls excluded), by type and Hasura error code (ok = no error).',
    labelNames: ['type', 'code'] as const,
    registers: [registry],
  });
  const polls = new client.Counter({
    name: 'linkport_graphql_live_executions_total',
    help: 'Live-query executions (subscription polls and first results), by Hasura error code.',
    labelNames: ['code'] as const,
    registers: [registry],
  });
  const duration = new client.Histogram({
    name: 'linkport_graphql_operation_duration_seconds',
    help: 'Time to execute one GraphQL operation (validation, compile, SQL), by type.',
    labelNames: ['type'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const wrapped = new WeakMap<GraphQLEngine, GraphQLEngine>();
  return {
    registry,
    liveSubscriptions(count) {
      // A gauge read at scrape time from the WebSocket transport's own counter (the one its caps
      // check), so it cannot drift from what the server holds.
      new client.Gauge({
        name: 'linkport_graphql_live_subscriptions',
        help: 'Live subscriptions open now, over every WebSocket connection and protocol.',
        registers: [registry],
        collect() {
          this.set(count());
        },
      });
    },
    observe(engine) {
      let w = wrapped.get(engine);
      if (w) return w;
      const execute = async (req: GraphQLRequest, session: Session, opts?: ExecuteOptions) => {
        const started = performance.now();
        const res = await engine.execute(req, session, opts);
        const code = res.errors?.length ? codeLabel(res.errors[0]?.extensions?.code) : 'ok';
        if (opts?.live) {
          polls.inc({ code });
        } else {
          const type = operationType(req.query, req.operationName);
          ops.inc({ type, code });
          duration.observe({ type }, (performance.now() - started) / 1000);
        }
        return res;
      };
      w = {
        execute,
        reload: (m) => engine.reload(m),
        roles: () => engine.roles(),
        ...(engine.batchLimit ? { batchLimit: (role: string) => engine.batchLimit!(role) } : {}),
        ...(engine.inconsistencies ? { inconsistencies: () => engine.inconsistencies!() } : {}),
        ...(engine.prepareLive ? { prepareLive: engine.prepareLive.bind(engine) } : {}),
        ...(engine.generation ? { generation: engine.generation.bind(engine) } : {}),
      };
      wrapped.set(engine, w);
      return w;
    },
  };
}

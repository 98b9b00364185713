/**
 * Subscription metrics (issue 14), for live queries and streams alike (`kind` label), in the
 * spirit of Hasura's own (`hasura_active_subscription_pollers`, `hasura_subscription_total_time_seconds`,
 * `hasura_subscription_db_execution_time_seconds`; docs observability/enterprise-edition/prometheus/metrics.mdx):
 *   - pollers, cohorts and subscribers held by the multiplexers, read at scrape;
 *   - each poll's duration (all its batches) as a histogram, and the statements it ran.
 */
import client from 'prom-client';
import { LATENCY_BUCKETS, type Registry } from '@linkport/common';

export type SubscriptionKind = 'live' | 'streaming';

export interface MultiplexerStats {
  pollers: number;
  cohorts: number;
  subscribers: number;
}

export interface PollObservation {
  kind: SubscriptionKind;
  durationMs: number;
  statements: number;
}

/** Registers the gauges (read from `stats` at scrape) and returns the per-poll observer. */
export function registerSubscriptionMetrics(registry: Registry, stats: () => Record<SubscriptionKind, MultiplexerStats>): (p: PollObservation) => void {
  const gauge = (name: string, help: string, pick: (s: MultiplexerStats) => number) =>
    new client.Gauge({
      name,
      help,
      labelNames: ['kind'],
      registers: [registry],
      collect() {
        const all = stats();
        for (const kind of ['live', 'streaming'] as const) this.set({ kind }, pick(all[kind]));
      },
    });
  gauge('linkport_graphql_subscription_pollers', 'Multiplexed pollers (one per role and compiled subscription).', (s) => s.pollers);
  gauge('linkport_graphql_subscription_cohorts', 'Cohorts (subscribers with equal variables, session values and cursor) across pollers.', (s) => s.cohorts);
  gauge('linkport_graphql_subscription_subscribers', 'Subscriptions placed in a multiplexed poller.', (s) => s.subscribers);
  const duration = new client.Histogram({
    name: 'linkport_graphql_subscription_poll_duration_seconds',
    help: 'Time one poll of a poller took: every batch of its cohorts, from the first statement to the last result sent.',
    labelNames: ['kind'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const statements = new client.Counter({
    name: 'linkport_graphql_subscription_statements_total',
    help: 'SQL statements the multiplexed polls ran (one per batch of cohorts; one per cohort when a batch falls back).',
    labelNames: ['kind'],
    registers: [registry],
  });
  return (p) => {
    duration.observe({ kind: p.kind }, p.durationMs / 1000);
    statements.inc({ kind: p.kind }, p.statements);
  };
}

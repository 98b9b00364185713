/**
 * Event and scheduled trigger metrics in the engine's registry, under the names Hasura EE exports
 * (docs/docs/observability/enterprise-edition/prometheus/metrics.mdx: hasura_event_processed_total,
 * hasura_event_invocations_total, hasura_event_processing_time_seconds,
 * hasura_event_webhook_processing_time_seconds, hasura_event_trigger_http_workers), plus the queue
 * depth, read from the database when scraped (bounded count, so a huge backlog stays cheap).
 */
import type pg from 'pg';
import client from 'prom-client';
import { LATENCY_BUCKETS, type Registry } from '@linkport/common';
import { keyword, run, sql } from '../sql/sql.ts';

export interface EventMetrics {
  processed: client.Counter<'status' | 'trigger_name'>;
  invocations: client.Counter<'status' | 'trigger_name'>;
  processingTime: client.Histogram<'trigger_name'>;
  webhookTime: client.Histogram<'trigger_name'>;
  httpWorkers: client.Gauge;
  scheduledProcessed: client.Counter<'type' | 'status'>;
}

const PENDING_CAP = 100_000;

export function registerEventMetrics(registry: Registry, pool: pg.Pool): EventMetrics {
  const registers = [registry];
  new client.Gauge({
    name: 'linkport_events_pending',
    help: `Event-trigger events waiting for delivery (not delivered, not failed, not archived), counted up to ${PENDING_CAP}.`,
    registers,
    async collect() {
      try {
        const { rows } = await run<{ n: number }>(pool, sql`SELECT count(*)::int AS n FROM (SELECT 1 FROM hdb_catalog.event_log
          WHERE delivered = 'f' AND error = 'f' AND archived = 'f' LIMIT ${keyword(String(PENDING_CAP))}) q`);
        this.set(rows[0]?.n ?? 0);
      } catch {
        // No catalog yet or the database is away: the gauge keeps its last value.
      }
    },
  });
  return {
    processed: new client.Counter({
      name: 'hasura_event_processed_total',
      help: 'Events whose delivery finished: success, or failed after the last retry.',
      labelNames: ['status', 'trigger_name'] as const,
      registers,
    }),
    invocations: new client.Counter({
      name: 'hasura_event_invocations_total',
      help: 'Webhook calls made for event triggers, by outcome.',
      labelNames: ['status', 'trigger_name'] as const,
      registers,
    }),
    processingTime: new client.Histogram({
      name: 'hasura_event_processing_time_seconds',
      help: 'From the event being due (created, or its retry time) to its successful delivery.',
      labelNames: ['trigger_name'] as const,
      buckets: [...LATENCY_BUCKETS, 30, 60, 300],
      registers,
    }),
    webhookTime: new client.Histogram({
      name: 'hasura_event_webhook_processing_time_seconds',
      help: 'Time of the webhook call itself.',
      labelNames: ['trigger_name'] as const,
      buckets: [...LATENCY_BUCKETS, 30, 60],
      registers,
    }),
    httpWorkers: new client.Gauge({ name: 'hasura_event_trigger_http_workers', help: 'Webhook calls in flight (event and scheduled triggers).', registers }),
    scheduledProcessed: new client.Counter({
      name: 'hasura_scheduled_events_processed_total',
      help: 'Cron and one-off scheduled events whose delivery finished, by type (cron, one_off) and status (success, failed, dead).',
      labelNames: ['type', 'status'] as const,
      registers,
    }),
  };
}

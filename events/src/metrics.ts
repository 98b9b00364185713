import client from 'prom-client';
import type { Registry } from '@linkport/common';
import type { JobOutcome } from './scheduler/scheduler.ts';

const DELIVERY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The events process's own series (served on EVENTS_PORT /metrics next to the HTTP RED metrics). */
export class EventsMetrics {
  readonly received: client.Counter<'table' | 'op'>;
  readonly deliveries: client.Counter<'outcome' | 'error'>;
  readonly deliveryDuration: client.Histogram;
  readonly jobRuns: client.Counter<'job' | 'outcome'>;
  readonly previews: client.Counter<'outcome'>;
  readonly jobDuration: client.Gauge<'job'>;
  readonly jobLastSuccess: client.Gauge<'job'>;
  readonly drift: client.Gauge;

  constructor(registry: Registry, due: () => Promise<number>) {
    const registers = [registry];
    this.received = new client.Counter({ name: 'linkport_events_received_total', help: 'Hasura event-trigger deliveries received, by table and op.', labelNames: ['table', 'op'], registers });
    this.deliveries = new client.Counter({
      name: 'linkport_webhook_deliveries_total',
      help: 'Webhook delivery attempts by outcome (succeeded, retry, dead, lost = lease lost to another worker) and error (http_<status>, timeout, ssrf_blocked…).',
      labelNames: ['outcome', 'error'],
      registers,
    });
    this.deliveryDuration = new client.Histogram({ name: 'linkport_webhook_delivery_duration_seconds', help: 'Time of one webhook HTTP attempt.', buckets: DELIVERY_BUCKETS, registers });
    new client.Gauge({
      name: 'linkport_webhook_deliveries_due',
      help: 'Pending webhook deliveries already due (the backlog), read at scrape.',
      registers,
      async collect() {
        this.set(await due().catch(() => Number.NaN));
      },
    });
    this.previews = new client.Counter({ name: 'linkport_link_preview_fetches_total', help: 'Link preview jobs by outcome (filled, nothing, retry, gave_up).', labelNames: ['outcome'], registers });
    this.jobRuns = new client.Counter({ name: 'linkport_scheduled_job_runs_total', help: 'Scheduled job runs by outcome.', labelNames: ['job', 'outcome'], registers });
    this.jobDuration = new client.Gauge({ name: 'linkport_scheduled_job_last_duration_seconds', help: "Duration of a job's last run.", labelNames: ['job'], registers });
    this.jobLastSuccess = new client.Gauge({ name: 'linkport_scheduled_job_last_success_timestamp_seconds', help: 'When a job last succeeded (Unix seconds).', labelNames: ['job'], registers });
    this.drift = new client.Gauge({ name: 'linkport_rollup_drift_clicks', help: "Yesterday's daily 'total' rollups minus raw non-bot clicks (0 = reconciled).", registers });
  }

  job(o: JobOutcome): void {
    this.jobRuns.inc({ job: o.job, outcome: o.outcome });
    this.jobDuration.set({ job: o.job }, o.durationMs / 1000);
    if (o.outcome === 'ok') this.jobLastSuccess.set({ job: o.job }, Date.now() / 1000);
  }
}

/**
 * Event and scheduled triggers at engine startup (as Hasura's `initSource` and event processor
 * threads): the hdb_catalog event tables created when absent, the SQL triggers brought in line with
 * the metadata, the settings admin requests use bound to the metadata service, and the two delivery
 * loops started (unless ENGINE_EVENTS_PROCESSOR=off). Neither the catalog nor the triggers may stop
 * the engine from serving GraphQL: a role without the rights to create them gets a warning, and
 * the admin API refuses trigger changes with PostgreSQL's reason.
 */
import type pg from 'pg';
import type { FastifyBaseLogger } from 'fastify';
import type { Registry } from '@linkport/common';
import type { Metadata } from '../contract.ts';
import type { EngineConfig } from '../config.ts';
import type { MetadataService } from '../admin/service.ts';
import { ensureEventCatalog } from './catalog.ts';
import { syncEventTriggers } from './triggers.ts';
import { bindEventSettings } from './ops.ts';
import { registerEventMetrics } from './metrics.ts';
import { EventProcessor, Slots } from './processor.ts';
import { ScheduledProcessor } from '../scheduled/processor.ts';
import { createEnginePool } from '../db/pools.ts';

export interface EventsHandle {
  events: EventProcessor | undefined;
  scheduled: ScheduledProcessor | undefined;
  stop(): Promise<void>;
}

export async function startEvents(opts: {
  config: EngineConfig;
  pool: pg.Pool;
  service: MetadataService;
  metadata: Metadata;
  registry: Registry;
  log: FastifyBaseLogger;
  now?: (() => Date) | undefined;
}): Promise<EventsHandle> {
  const { config, pool, service, log } = opts;
  let catalog = true;
  try {
    await ensureEventCatalog(pool);
  } catch (err) {
    catalog = false;
    log.warn({ err: (err as Error).message }, 'could not create the event trigger catalog (hdb_catalog.event_log...); event and scheduled triggers are off');
  }
  if (catalog) {
    try {
      const { failed } = await syncEventTriggers(pool, opts.metadata, { stringify: config.stringifyNumericTypes });
      // Typically `permission denied for table`: the engine's role needs TRIGGER on the tables (as
      // Hasura's does), and every role writing them USAGE on hdb_catalog and INSERT on event_log.
      for (const f of failed) {
        log.warn({ trigger: f.trigger, err: f.reason }, 'could not create the SQL trigger of an event trigger (the engine role needs TRIGGER on its table); changes to that table record no events');
      }
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'could not bring the SQL triggers in line with the metadata');
    }
  }
  bindEventSettings(service, { stringify: config.stringifyNumericTypes, catalog }, opts.metadata);
  if (!catalog || !config.events.enabled) return { events: undefined, scheduled: undefined, stop: async () => undefined };

  // Delivery has its own connections: fetching and recording events never waits behind admin
  // requests (and the reverse), and an outage is survived as the other pools survive it.
  const eventsPool = createEnginePool(config.databaseUrl, {
    max: 4,
    applicationName: 'hasura-engine-events',
    onClientError: (err) => log.warn({ err: err.message }, 'event delivery lost a database connection; the pool reconnects'),
  });
  const metrics = registerEventMetrics(opts.registry, eventsPool);
  const slots = new Slots(config.events.httpPoolSize);
  // The live metadata, read again only when its resource version moves.
  const deps = {
    pool: eventsPool,
    metadata: () => service.current,
    version: () => service.version,
    env: config.webhookEnv,
    log,
    config: config.events,
    metrics,
    slots,
    ...(opts.now ? { now: opts.now } : {}),
  };
  const events = new EventProcessor(deps);
  const scheduled = new ScheduledProcessor(deps);
  events.start();
  scheduled.start();
  return {
    events,
    scheduled,
    async stop() {
      await Promise.all([events.stop(), scheduled.stop()]);
      await eventsPool.end().catch(() => undefined);
    },
  };
}

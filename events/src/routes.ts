import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { UnauthorizedError, ValidationError, type Logger } from '@linkport/common';
import type { Clock } from './clock.ts';
import { mapHasuraEvent } from './hasura/map.ts';
import { hasuraEventSchema } from './hasura/payload.ts';
import type { EventsMetrics } from './metrics.ts';
import type { EventStore } from './store.ts';

export const SECRET_HEADER = 'x-linkport-events-secret';
export const HASURA_EVENTS_PATH = '/internal/hasura/events';

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * The receiver of Hasura event triggers. Hasura retries a non-2xx answer (num_retries,
 * interval_sec), so the answer is 200 only once the events are committed; a payload that cannot be
 * understood is a 400 (Hasura logs it; retrying would not help), an unknown table a 200 "ignored".
 */
export function hasuraRoutes(app: FastifyInstance, deps: { secret: string; store: EventStore; clock: Clock; metrics: EventsMetrics; log: Logger; onIngest: () => void }): void {
  const expected = digest(deps.secret);
  app.post(HASURA_EVENTS_PATH, { bodyLimit: 1024 * 1024 }, async (req) => {
    const given = req.headers[SECRET_HEADER];
    // Compared as digests: equal length, constant time, whatever was sent.
    if (typeof given !== 'string' || !timingSafeEqual(digest(given), expected)) {
      throw new UnauthorizedError(`missing or wrong ${SECRET_HEADER} header`, 'EVENTS_SECRET_INVALID');
    }
    const parsed = hasuraEventSchema.safeParse(req.body);
    if (!parsed.success) throw new ValidationError('not a Hasura event-trigger payload', parsed.error.issues.slice(0, 10));
    const e = parsed.data;
    deps.metrics.received.inc({ table: `${e.table.schema}.${e.table.name}`, op: e.event.op });
    const mapped = mapHasuraEvent(e);
    const deliveries = await deps.store.ingest(mapped.events, mapped.clicks, deps.clock.now(), mapped.previews);
    if (deliveries > 0 || mapped.previews?.length) deps.onIngest();
    return { ok: true, events: mapped.events.map((m) => m.type), clicks: mapped.clicks.length, deliveries, ...(mapped.ignored ? { ignored: mapped.ignored } : {}) };
  });
}

import { z } from 'zod';

/**
 * The body Hasura v2 POSTs for an event trigger (hasura.io/docs/2.0/event-triggers/payload/;
 * docs/research/hasura-v2.md): `event.op` INSERT | UPDATE | DELETE | MANUAL, `event.data.old/new`,
 * `trigger.name`, `table {schema, name}`, `id` (the event_log id, stable across redeliveries),
 * `delivery_info {max_retries, current_retry}`. Unknown keys are kept out, not refused: Hasura adds
 * fields (trace_context) across versions.
 */
const row = z.record(z.string(), z.unknown());

export const hasuraEventSchema = z.object({
  id: z.string().min(1).max(200),
  created_at: z.string().optional(),
  trigger: z.object({ name: z.string().min(1).max(200) }),
  table: z.object({ schema: z.string().min(1), name: z.string().min(1) }),
  delivery_info: z.object({ max_retries: z.number().int(), current_retry: z.number().int() }).optional(),
  event: z.object({
    op: z.enum(['INSERT', 'UPDATE', 'DELETE', 'MANUAL']),
    session_variables: z.record(z.string(), z.unknown()).nullable().optional(),
    data: z.object({ old: row.nullable().optional(), new: row.nullable().optional() }),
  }),
});

export type HasuraEvent = z.infer<typeof hasuraEventSchema>;

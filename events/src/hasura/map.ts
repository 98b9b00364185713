import type { HasuraEvent } from './payload.ts';

export type UserEventType = 'link.created' | 'link.updated' | 'link.deleted' | 'link.clicked' | 'asset.ready' | 'link.limit_reached';

/** A user event ready to be stored and fanned out to the owner's endpoints. */
export interface UserEvent {
  type: UserEventType;
  ownerId: string;
  data: Record<string, unknown>;
  /** Idempotency key: a Hasura redelivery of the same event maps to the same keys. */
  sourceKey: string;
}

/** A click to add to its link's batch (link.clicked leaves as one message per window). */
export interface ClickEvent {
  linkId: string;
  clickedAt: Date;
  /** How many clicks: 1 for a links.clicks row, the counter's increase for a links.links update. */
  count: number;
}

/** A link whose destination needs a preview (title/description left empty by the owner). */
export interface PreviewJob {
  linkId: string;
  destination: string;
}

export interface Mapped {
  events: UserEvent[];
  clicks: ClickEvent[];
  previews?: PreviewJob[];
  /** Why nothing came out, for the answer to Hasura and the logs. */
  ignored?: string;
}

/**
 * The link columns a webhook carries: what the owner sees of a link in GraphQL, without the
 * password hash and the per-click counters' churn.
 */
const LINK_FIELDS = [
  'id', 'code', 'destination', 'title', 'description', 'status', 'redirect_type', 'domain_id', 'expires_at', 'max_clicks',
  'click_count', 'forward_query', 'utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content', 'ios_url',
  'android_url', 'geo_targets', 'ab_variants', 'image_asset_id', 'created_at', 'updated_at',
] as const;
/** Columns whose change alone is not an edit by the owner (clicks bump them continuously). */
const CHURN = new Set(['click_count', 'last_clicked_at', 'updated_at']);
const ASSET_FIELDS = ['id', 'filename', 'content_type', 'size', 'visibility', 'status', 'checksum', 'completed_at', 'created_at'] as const;

/** A link row as webhooks carry it (LINK_FIELDS). */
export function linkFields(row: Record<string, unknown>): Record<string, unknown> {
  return pick(row, LINK_FIELDS);
}

function pick(rowValue: Record<string, unknown>, fields: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) if (f in rowValue) out[f] = rowValue[f];
  return out;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);

const dateOr = (v: unknown): Date => (typeof v === 'string' && !Number.isNaN(Date.parse(v)) ? new Date(v) : new Date());

/** Link previews (issue 15 §4): only when the owner left the title or the description empty. */
function previewFor(row: Record<string, unknown>): PreviewJob[] {
  const id = str(row.id);
  const destination = str(row.destination);
  if (!id || !destination || (str(row.title) && str(row.description))) return [];
  return [{ linkId: id, destination }];
}

export function mapHasuraEvent(e: HasuraEvent): Mapped {
  const table = `${e.table.schema}.${e.table.name}`;
  const { op } = e.event;
  const oldRow = e.event.data.old ?? undefined;
  const newRow = e.event.data.new ?? undefined;
  const key = (type: string) => `hasura:${e.id}:${type}`;

  if (table === 'links.links') {
    const current = op === 'DELETE' ? oldRow : newRow;
    const ownerId = str(current?.owner_id);
    if (!current || !ownerId) return { events: [], clicks: [], ignored: 'row without owner_id' };
    if (op === 'INSERT') return { events: [{ type: 'link.created', ownerId, data: { link: pick(current, LINK_FIELDS) }, sourceKey: key('link.created') }], clicks: [], previews: previewFor(current) };
    if (op === 'DELETE') return { events: [{ type: 'link.deleted', ownerId, data: { link: pick(current, LINK_FIELDS) }, sourceKey: key('link.deleted') }], clicks: [] };
    if (op === 'UPDATE') {
      const events: UserEvent[] = [];
      const changed = oldRow ? Object.keys(current).filter((k) => !CHURN.has(k) && JSON.stringify(current[k]) !== JSON.stringify(oldRow[k])) : Object.keys(current);
      if (changed.length > 0) {
        events.push({ type: 'link.updated', ownerId, data: { link: pick(current, LINK_FIELDS), changed: changed.filter((c) => (LINK_FIELDS as readonly string[]).includes(c)) }, sourceKey: key('link.updated') });
      }
      // link.clicked and link.limit_reached come from the counters, polled by the link_clicked job
      // (store.pollClicks; migration 1764900001710_events_link_clicked_poll), not from here:
      // click_count is no longer an update column of links_webhooks, and a counter delta read here
      // would be counted twice (and again on a redelivery).
      const previews = oldRow && oldRow.destination !== current.destination ? previewFor(current) : [];
      return { events, clicks: [], previews, ignored: events.length ? undefined : 'only click counters changed' };
    }
    return { events: [], clicks: [], ignored: `op ${op} not mapped` };
  }

  if (table === 'links.clicks') {
    if (op !== 'INSERT' || !newRow) return { events: [], clicks: [], ignored: `op ${op} not mapped` };
    // Bots and link-preview fetchers are kept out of counts (docs/architecture.md "Redirect and clicks").
    if (newRow.is_bot === true) return { events: [], clicks: [], ignored: 'bot click' };
    const linkId = str(newRow.link_id);
    const at = newRow.clicked_at;
    if (!linkId) return { events: [], clicks: [], ignored: 'click without link_id' };
    return { events: [], clicks: [{ linkId, clickedAt: dateOr(at), count: 1 }] };
  }

  if (table === 'media.assets') {
    const ownerId = str(newRow?.owner_id);
    const becameReady = newRow?.status === 'ready' && (op === 'INSERT' || (op === 'UPDATE' && oldRow?.status !== 'ready'));
    if (!newRow || !ownerId || !becameReady) return { events: [], clicks: [], ignored: 'not a transition to ready' };
    return { events: [{ type: 'asset.ready', ownerId, data: { asset: pick(newRow, ASSET_FIELDS) }, sourceKey: key('asset.ready') }], clicks: [] };
  }

  return { events: [], clicks: [], ignored: `table ${table} has no user events` };
}

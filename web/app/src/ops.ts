/**
 * Every GraphQL operation the dashboard sends, by name. The same texts are in the first-party query
 * collection (hasura/metadata/query_collections.yaml, names `web_<name>`) so the dashboard keeps
 * working with the allow-list on; web/test/ops.test.ts checks the two agree.
 */
import { op } from './gql.ts';
import type * as G from './generated/graphql.ts';

/**
 * Result and variable types are generated from the engine's role-`user` schema and the collection
 * (app/src/generated/graphql.ts, `npm run codegen -w @linkport/web`). Where the database says more
 * than the GraphQL schema (a CHECK on status, the shape of a jsonb column), the types below narrow
 * the generated ones; test/codegen.test.ts keeps the generated file in step with the schema.
 */
export type Status = 'active' | 'disabled' | 'archived';
export type Numeric = string; // bigint columns arrive as strings (stringified numerics)

type Narrow<T, N> = Omit<T, keyof N> & N;

export type LinkRow = Narrow<G.ListLinksQuery['links_links'][number], { status: Status }>;

export interface Variant {
  url: string;
  weight: number;
}

export type Link = Narrow<
  NonNullable<G.GetLinkQuery['links_links_by_pk']>,
  { status: Status; geo_targets: Record<string, string>; ab_variants: Variant[] }
>;

export type LinkInput = G.Links_Links_Insert_Input;

export const ListLinks = op<
  Narrow<G.ListLinksQuery, { links_links: LinkRow[] }>,
  Narrow<G.ListLinksQueryVariables, { where: G.Links_Links_Bool_Exp; order_by: G.Links_Links_Order_By[] }>
>(
  'ListLinks',
  `query ListLinks($where: links_links_bool_exp!, $order_by: [links_links_order_by!]!, $limit: Int!, $offset: Int!) {
  links_links(where: $where, order_by: $order_by, limit: $limit, offset: $offset) { id code destination title status click_count created_at expires_at }
  links_links_aggregate(where: $where) { aggregate { count } }
  links_tags(order_by: {name: asc}) { id name }
  links_domains(order_by: {hostname: asc}) { id hostname }
}`,
);

/**
 * The filters' and the link form's choices in the same request as the rows they go with: the
 * gateway allows 600 GraphQL requests a minute per address (rl-links, burst 100), and a page view should cost
 * one or two of them, not four.
 */
export const ListLabels = op<G.ListLabelsQuery, G.ListLabelsQueryVariables>(
  'ListLabels',
  `query ListLabels {
  links_tags(order_by: {name: asc}) { id name }
  links_domains(order_by: {hostname: asc}) { id hostname }
}`,
);

export const ListTags = op<G.ListTagsQuery, G.ListTagsQueryVariables>('ListTags', `query ListTags { links_tags(order_by: {name: asc}) { id name } }`);

const LINK_FIELDS = `id code destination title description status click_count created_at expires_at redirect_type forward_query
    utm_source utm_medium utm_campaign utm_term utm_content expired_url max_clicks ios_url android_url geo_targets ab_variants
    image_asset_id last_clicked_at domain_id link_tags { tag { id name } }`;

export const GetLink = op<{ links_links_by_pk: Link | null }, G.GetLinkQueryVariables>(
  'GetLink',
  `query GetLink($id: uuid!) {
  links_links_by_pk(id: $id) { ${LINK_FIELDS} }
}`,
);

export const CreateLink = op<G.CreateLinkMutation, G.CreateLinkMutationVariables>(
  'CreateLink',
  `mutation CreateLink($object: links_links_insert_input!) {
  insert_links_links_one(object: $object) { id code }
}`,
);

export const UpdateLink = op<G.UpdateLinkMutation, G.UpdateLinkMutationVariables>(
  'UpdateLink',
  `mutation UpdateLink($id: uuid!, $set: links_links_set_input!) {
  update_links_links_by_pk(pk_columns: {id: $id}, _set: $set) { id code }
}`,
);

export const SetStatus = op<G.SetStatusMutation, Narrow<G.SetStatusMutationVariables, { status: Status }>>(
  'SetStatus',
  `mutation SetStatus($ids: [uuid!]!, $status: String!) {
  update_links_links(where: {id: {_in: $ids}}, _set: {status: $status}) { affected_rows }
}`,
);

export const DeleteLinks = op<G.DeleteLinksMutation, G.DeleteLinksMutationVariables>(
  'DeleteLinks',
  `mutation DeleteLinks($ids: [uuid!]!) {
  delete_links_links(where: {id: {_in: $ids}}) { affected_rows }
}`,
);

// ── Tags (links.tags, owner-scoped; links.link_tags joins them to links) ──

export const CreateTag = op<G.CreateTagMutation, G.CreateTagMutationVariables>(
  'CreateTag',
  `mutation CreateTag($name: String!) {
  insert_links_tags_one(object: {name: $name}) { id name }
}`,
);

export const RenameTag = op<G.RenameTagMutation, G.RenameTagMutationVariables>(
  'RenameTag',
  `mutation RenameTag($id: uuid!, $name: String!) {
  update_links_tags_by_pk(pk_columns: {id: $id}, _set: {name: $name}) { id name }
}`,
);

/** Deleting a tag removes it from its links (link_tags.tag_id ON DELETE CASCADE); the links stay. */
export const DeleteTag = op<G.DeleteTagMutation, G.DeleteTagMutationVariables>(
  'DeleteTag',
  `mutation DeleteTag($id: uuid!) {
  delete_links_tags_by_pk(id: $id) { id }
}`,
);

/**
 * A link's tags become exactly `keep` + `add`, in one request: Hasura runs a mutation's root fields
 * in order in one transaction (docs: "Multiple mutations in a request"). link_tags has no update
 * permission, so there is no on_conflict upsert: `add` holds only tags the link does not have yet.
 */
export const SetLinkTags = op<G.SetLinkTagsMutation, G.SetLinkTagsMutationVariables>(
  'SetLinkTags',
  `mutation SetLinkTags($link: uuid!, $keep: [uuid!]!, $add: [links_link_tags_insert_input!]!) {
  delete_links_link_tags(where: {link_id: {_eq: $link}, tag_id: {_nin: $keep}}) { affected_rows }
  insert_links_link_tags(objects: $add) { affected_rows }
}`,
);

// ── Domains (links.domains: a hostname per owner; links.domain_id) ──

export const ListDomains = op<G.ListDomainsQuery, G.ListDomainsQueryVariables>(
  'ListDomains',
  `query ListDomains { links_domains(order_by: {hostname: asc}) { id hostname verified created_at } }`,
);

export const AddDomain = op<G.AddDomainMutation, G.AddDomainMutationVariables>(
  'AddDomain',
  `mutation AddDomain($hostname: String!) {
  insert_links_domains_one(object: {hostname: $hostname}) { id hostname verified }
}`,
);

/** Its links keep working on the main host (links.domain_id ON DELETE SET NULL). */
export const DeleteDomain = op<G.DeleteDomainMutation, G.DeleteDomainMutationVariables>(
  'DeleteDomain',
  `mutation DeleteDomain($id: uuid!) {
  delete_links_domains_by_pk(id: $id) { id }
}`,
);

// ── Webhooks (webhooks.* tables, events/README.md; permissions in hasura/metadata) ──

/** The event types an endpoint may subscribe to: webhooks.event_types() (migration 1764900000400). */
export const EVENT_TYPES = ['link.created', 'link.updated', 'link.deleted', 'link.clicked', 'link.limit_reached', 'asset.ready'] as const;

const ENDPOINT_FIELDS = `id url description event_types enabled disabled_reason failing_since consecutive_failures previous_secret_expires_at created_at`;

export const ListWebhooks = op<G.ListWebhooksQuery, G.ListWebhooksQueryVariables>(
  'ListWebhooks',
  `query ListWebhooks {
  webhooks_endpoints(order_by: {created_at: desc}) { ${ENDPOINT_FIELDS} }
  webhooks_notifications(where: {read_at: {_is_null: true}}, order_by: {created_at: desc}, limit: 5) { id message created_at endpoint_id }
}`,
);

/** One endpoint and a page of its delivery log, newest first, each with its HTTP attempts. */
export const WebhookDeliveries = op<G.WebhookDeliveriesQuery, G.WebhookDeliveriesQueryVariables>(
  'WebhookDeliveries',
  `query WebhookDeliveries($id: uuid!, $limit: Int!, $offset: Int!) {
  webhooks_endpoints_by_pk(id: $id) { ${ENDPOINT_FIELDS} }
  webhooks_deliveries(where: {endpoint_id: {_eq: $id}}, order_by: [{created_at: desc}, {id: asc}], limit: $limit, offset: $offset) {
    id event_type status attempts last_response_code last_error last_duration_ms delivered_at next_attempt_at replay_requested_at created_at
    attempt_log(order_by: {id: asc}) { id attempt started_at duration_ms response_code error }
  }
}`,
);

/** The secret is chosen here (Standard Webhooks `whsec_` + base64) and never readable again. */
export const CreateWebhook = op<G.CreateWebhookMutation, G.CreateWebhookMutationVariables>(
  'CreateWebhook',
  `mutation CreateWebhook($object: webhooks_endpoints_insert_input!) {
  insert_webhooks_endpoints_one(object: $object) { id }
}`,
);

/**
 * Edit, enable/disable, or rotate (`secret`): the database keeps the replaced secret signing for
 * 24 h next to the new one (webhooks.endpoints_before_update), so a receiver can switch without a gap.
 */
export const UpdateWebhook = op<G.UpdateWebhookMutation, G.UpdateWebhookMutationVariables>(
  'UpdateWebhook',
  `mutation UpdateWebhook($id: uuid!, $set: webhooks_endpoints_set_input!) {
  update_webhooks_endpoints_by_pk(pk_columns: {id: $id}, _set: $set) { id enabled previous_secret_expires_at }
}`,
);

export const DeleteWebhook = op<G.DeleteWebhookMutation, G.DeleteWebhookMutationVariables>(
  'DeleteWebhook',
  `mutation DeleteWebhook($id: uuid!) {
  delete_webhooks_endpoints_by_pk(id: $id) { id }
}`,
);

/**
 * Replay: setting replay_requested_at on a finished delivery (succeeded or dead) puts it back in the
 * queue with a fresh attempt budget (webhooks.deliveries_before_update); the events process sends it.
 */
export const ReplayDelivery = op<G.ReplayDeliveryMutation, G.ReplayDeliveryMutationVariables>(
  'ReplayDelivery',
  `mutation ReplayDelivery($id: uuid!, $at: timestamptz!) {
  update_webhooks_deliveries_by_pk(pk_columns: {id: $id}, _set: {replay_requested_at: $at}) { id status }
}`,
);

export const MarkNotificationsRead = op<G.MarkNotificationsReadMutation, G.MarkNotificationsReadMutationVariables>(
  'MarkNotificationsRead',
  `mutation MarkNotificationsRead($ids: [uuid!]!, $at: timestamptz!) {
  update_webhooks_notifications(where: {id: {_in: $ids}}, _set: {read_at: $at}) { affected_rows }
}`,
);

/** A bucket is never null: analytics_series generates one row per bucket (the SQL function's columns are nullable in the schema). */
export type SeriesRow = Narrow<G.LinkAnalyticsQuery['series'][number], { bucket: string }>;
export type BreakdownRow = G.LinkAnalyticsQuery['countries'][number];

const BREAKDOWN = (alias: string, dimension: string, scope: string) =>
  `${alias}: links_analytics_breakdown(args: {${scope}dimension: "${dimension}", top_n: 10, time_zone: $tz, from_ts: $from, to_ts: $to, include_bots: $bots}) { dimension value clicks visitors bots }`;
const BREAKDOWNS = (scope: string) =>
  [
    BREAKDOWN('countries', 'country', scope),
    BREAKDOWN('devices', 'device', scope),
    BREAKDOWN('browsers', 'browser', scope),
    BREAKDOWN('os', 'os', scope),
    BREAKDOWN('referrers', 'referrer_host', scope),
  ].join('\n  ');

/**
 * Per-link analytics (links.analytics_series / analytics_breakdown, migration 1764900000500). With
 * include_bots the functions count bots apart, in `bots`; clicks and visitors stay humans only.
 */
export const LinkAnalytics = op<Narrow<G.LinkAnalyticsQuery, { series: SeriesRow[] }>, G.LinkAnalyticsQueryVariables>(
  'LinkAnalytics',
  `query LinkAnalytics($link: uuid!, $bucket: String!, $tz: String!, $from: timestamptz!, $to: timestamptz!, $bots: Boolean!) {
  series: links_analytics_series(args: {link_id: $link, bucket: $bucket, time_zone: $tz, from_ts: $from, to_ts: $to, include_bots: $bots}, order_by: {bucket: asc}) { bucket clicks visitors bots }
  ${BREAKDOWNS('link_id: $link, ')}
}`,
);

/**
 * The analytics page (/app/analytics): the same charts for every link of the caller (no link_id:
 * the owner's marginals), and the most clicked links. Top links are by their all-time counter
 * (links.click_count, humans only): the analytics functions have no per-link dimension, so a
 * top-links list bounded by the date range is not something the API can answer (web/README.md).
 */
export const AllAnalytics = op<Narrow<G.AllAnalyticsQuery, { series: SeriesRow[] }>, G.AllAnalyticsQueryVariables>(
  'AllAnalytics',
  `query AllAnalytics($bucket: String!, $tz: String!, $from: timestamptz!, $to: timestamptz!, $bots: Boolean!) {
  series: links_analytics_series(args: {bucket: $bucket, time_zone: $tz, from_ts: $from, to_ts: $to, include_bots: $bots}, order_by: {bucket: asc}) { bucket clicks visitors bots }
  ${BREAKDOWNS('')}
  top_links: links_links(where: {click_count: {_gt: 0}}, order_by: [{click_count: desc}, {created_at: asc}], limit: 10) { id code title click_count last_clicked_at }
}`,
);

/** Account-wide (every link of the caller): the owner's marginals, no link_id (analytics_series). */
export const AccountAnalytics = op<Narrow<G.AccountAnalyticsQuery, { series: SeriesRow[] }>, G.AccountAnalyticsQueryVariables>(
  'AccountAnalytics',
  `query AccountAnalytics($tz: String!, $from: timestamptz!, $to: timestamptz!) {
  series: links_analytics_series(args: {bucket: "day", time_zone: $tz, from_ts: $from, to_ts: $to}, order_by: {bucket: asc}) { bucket clicks visitors bots }
  countries: links_analytics_breakdown(args: {dimension: "country", top_n: 3, time_zone: $tz, from_ts: $from, to_ts: $to}) { dimension value clicks visitors }
  referrers: links_analytics_breakdown(args: {dimension: "referrer_host", top_n: 3, time_zone: $tz, from_ts: $from, to_ts: $to}) { dimension value clicks visitors }
}`,
);

/** The live counter: a live-query subscription on the link's own row (Hasura live queries). */
export const LiveClicks = op<G.LiveClicksSubscription, G.LiveClicksSubscriptionVariables>(
  'LiveClicks',
  `subscription LiveClicks($id: uuid!) {
  links_links_by_pk(id: $id) { click_count last_clicked_at }
}`,
);

/**
 * The analytics page's live counter: every link's click_count summed, as a live query on the
 * aggregate (Hasura docs, "Subscriptions": live queries work on any query field, aggregates too).
 */
export const LiveTotal = op<G.LiveTotalSubscription, G.LiveTotalSubscriptionVariables>(
  'LiveTotal',
  `subscription LiveTotal {
  links_links_aggregate { aggregate { sum { click_count } } }
}`,
);

export const ALL_OPS = [
  ListLinks, ListLabels, ListTags, GetLink, CreateLink, UpdateLink, SetStatus, DeleteLinks, LinkAnalytics, AllAnalytics, AccountAnalytics, LiveClicks, LiveTotal,
  CreateTag, RenameTag, DeleteTag, SetLinkTags, ListDomains, AddDomain, DeleteDomain,
  ListWebhooks, WebhookDeliveries, CreateWebhook, UpdateWebhook, DeleteWebhook, ReplayDelivery, MarkNotificationsRead,
];

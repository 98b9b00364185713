/**
 * Every GraphQL operation the dashboard sends, by name. The same texts are in the first-party query
 * collection (hasura/metadata/query_collections.yaml, names `web_<name>`) so the dashboard keeps
 * working with the allow-list on; web/test/ops.test.ts checks the two agree.
 */
import { op } from './gql.ts';

export type Status = 'active' | 'disabled' | 'archived';
export type Numeric = string; // bigint columns arrive as strings (stringified numerics)

export interface LinkRow {
  id: string;
  code: string;
  destination: string;
  title: string | null;
  status: Status;
  click_count: Numeric;
  created_at: string;
  expires_at: string | null;
}

export interface Variant {
  url: string;
  weight: number;
}

export interface Link extends LinkRow {
  description: string | null;
  redirect_type: number;
  forward_query: boolean;
  utm_source: string | null;
  utm_medium: string | null;
  utm_campaign: string | null;
  utm_term: string | null;
  utm_content: string | null;
  expired_url: string | null;
  max_clicks: Numeric | null;
  ios_url: string | null;
  android_url: string | null;
  geo_targets: Record<string, string>;
  ab_variants: Variant[];
  image_asset_id: string | null;
  last_clicked_at: string | null;
  link_tags: Array<{ tag: { id: string; name: string } }>;
}

export type LinkInput = Partial<Omit<Link, 'id' | 'click_count' | 'created_at' | 'last_clicked_at' | 'link_tags'>> & { password?: string | null };

export const ListLinks = op<
  { links_links: LinkRow[]; links_links_aggregate: { aggregate: { count: number } } },
  { where: unknown; order_by: unknown; limit: number; offset: number }
>(
  'ListLinks',
  `query ListLinks($where: links_links_bool_exp!, $order_by: [links_links_order_by!]!, $limit: Int!, $offset: Int!) {
  links_links(where: $where, order_by: $order_by, limit: $limit, offset: $offset) { id code destination title status click_count created_at expires_at }
  links_links_aggregate(where: $where) { aggregate { count } }
}`,
);

export const ListTags = op<{ links_tags: Array<{ id: string; name: string }> }>('ListTags', `query ListTags { links_tags(order_by: {name: asc}) { id name } }`);

const LINK_FIELDS = `id code destination title description status click_count created_at expires_at redirect_type forward_query
    utm_source utm_medium utm_campaign utm_term utm_content expired_url max_clicks ios_url android_url geo_targets ab_variants
    image_asset_id last_clicked_at link_tags { tag { id name } }`;

export const GetLink = op<{ links_links_by_pk: Link | null }, { id: string }>(
  'GetLink',
  `query GetLink($id: uuid!) {
  links_links_by_pk(id: $id) { ${LINK_FIELDS} }
}`,
);

export const CreateLink = op<{ insert_links_links_one: { id: string; code: string } | null }, { object: LinkInput }>(
  'CreateLink',
  `mutation CreateLink($object: links_links_insert_input!) {
  insert_links_links_one(object: $object) { id code }
}`,
);

export const UpdateLink = op<{ update_links_links_by_pk: { id: string; code: string } | null }, { id: string; set: LinkInput }>(
  'UpdateLink',
  `mutation UpdateLink($id: uuid!, $set: links_links_set_input!) {
  update_links_links_by_pk(pk_columns: {id: $id}, _set: $set) { id code }
}`,
);

export const SetStatus = op<{ update_links_links: { affected_rows: number } }, { ids: string[]; status: Status }>(
  'SetStatus',
  `mutation SetStatus($ids: [uuid!]!, $status: String!) {
  update_links_links(where: {id: {_in: $ids}}, _set: {status: $status}) { affected_rows }
}`,
);

export const DeleteLinks = op<{ delete_links_links: { affected_rows: number } }, { ids: string[] }>(
  'DeleteLinks',
  `mutation DeleteLinks($ids: [uuid!]!) {
  delete_links_links(where: {id: {_in: $ids}}) { affected_rows }
}`,
);

export interface SeriesRow {
  bucket: string;
  clicks: Numeric;
  visitors: Numeric;
  bots: Numeric;
}
export interface BreakdownRow {
  dimension: string;
  value: string | null;
  clicks: Numeric;
  visitors: Numeric;
}

/** Per-link analytics (links.analytics_series / analytics_breakdown, migration 1764900000500). */
export const LinkAnalytics = op<
  {
    series: SeriesRow[];
    countries: BreakdownRow[];
    devices: BreakdownRow[];
    browsers: BreakdownRow[];
    os: BreakdownRow[];
    referrers: BreakdownRow[];
  },
  { link: string; bucket: string; tz: string; from: string; to: string }
>(
  'LinkAnalytics',
  `query LinkAnalytics($link: uuid!, $bucket: String!, $tz: String!, $from: timestamptz!, $to: timestamptz!) {
  series: links_analytics_series(args: {link_id: $link, bucket: $bucket, time_zone: $tz, from_ts: $from, to_ts: $to}, order_by: {bucket: asc}) { bucket clicks visitors bots }
  countries: links_analytics_breakdown(args: {link_id: $link, dimension: "country", top_n: 5, time_zone: $tz, from_ts: $from, to_ts: $to}) { dimension value clicks visitors }
  devices: links_analytics_breakdown(args: {link_id: $link, dimension: "device", top_n: 5, time_zone: $tz, from_ts: $from, to_ts: $to}) { dimension value clicks visitors }
  browsers: links_analytics_breakdown(args: {link_id: $link, dimension: "browser", top_n: 5, time_zone: $tz, from_ts: $from, to_ts: $to}) { dimension value clicks visitors }
  os: links_analytics_breakdown(args: {link_id: $link, dimension: "os", top_n: 5, time_zone: $tz, from_ts: $from, to_ts: $to}) { dimension value clicks visitors }
  referrers: links_analytics_breakdown(args: {link_id: $link, dimension: "referrer_host", top_n: 5, time_zone: $tz, from_ts: $from, to_ts: $to}) { dimension value clicks visitors }
}`,
);

/** Account-wide (every link of the caller): the owner's marginals, no link_id (analytics_series). */
export const AccountAnalytics = op<
  { series: SeriesRow[]; countries: BreakdownRow[]; referrers: BreakdownRow[] },
  { tz: string; from: string; to: string }
>(
  'AccountAnalytics',
  `query AccountAnalytics($tz: String!, $from: timestamptz!, $to: timestamptz!) {
  series: links_analytics_series(args: {bucket: "day", time_zone: $tz, from_ts: $from, to_ts: $to}, order_by: {bucket: asc}) { bucket clicks visitors bots }
  countries: links_analytics_breakdown(args: {dimension: "country", top_n: 3, time_zone: $tz, from_ts: $from, to_ts: $to}) { dimension value clicks visitors }
  referrers: links_analytics_breakdown(args: {dimension: "referrer_host", top_n: 3, time_zone: $tz, from_ts: $from, to_ts: $to}) { dimension value clicks visitors }
}`,
);

/** The live counter: a live-query subscription on the link's own row (Hasura live queries). */
export const LiveClicks = op<{ links_links_by_pk: { click_count: Numeric; last_clicked_at: string | null } | null }, { id: string }>(
  'LiveClicks',
  `subscription LiveClicks($id: uuid!) {
  links_links_by_pk(id: $id) { click_count last_clicked_at }
}`,
);

export const ALL_OPS = [ListLinks, ListTags, GetLink, CreateLink, UpdateLink, SetStatus, DeleteLinks, LinkAnalytics, AccountAnalytics, LiveClicks];

import type { Metadata, TableMetadata } from '../../src/contract.ts';

/**
 * The links tables' metadata as the test suite uses it (equivalent to hasura/metadata/): `user`
 * sees only rows it owns (owner_id = X-Hasura-User-Id), `anonymous` sees only verified hostnames.
 */
const owner = { owner_id: { _eq: 'X-Hasura-User-Id' } };
const t = (name: string, rest: Omit<TableMetadata, 'table'>): TableMetadata => ({ table: { schema: 'links', name }, ...rest });
const fk = (table: string, column: string) => ({ foreign_key_constraint_on: { table: { schema: 'links', name: table }, column } });

export function linksMetadata(): Metadata {
  return {
    version: 3,
    sources: [{
      name: 'default', kind: 'postgres', configuration: {},
      tables: [
        t('links', {
          object_relationships: [{ name: 'domain', using: { foreign_key_constraint_on: 'domain_id' } }],
          array_relationships: [
            { name: 'link_tags', using: fk('link_tags', 'link_id') },
            { name: 'daily_stats', using: fk('daily_stats', 'link_id') },
            { name: 'clicks', using: fk('clicks', 'link_id') },
          ],
          select_permissions: [{
            role: 'user',
            permission: {
              columns: ['id', 'owner_id', 'domain_id', 'code', 'destination', 'title', 'description', 'redirect_type', 'forward_query',
                'utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content', 'status', 'expires_at', 'expired_url',
                'max_clicks', 'ios_url', 'android_url', 'geo_targets', 'ab_variants', 'image_asset_id', 'click_count',
                'last_clicked_at', 'created_at', 'updated_at'],
              filter: owner, allow_aggregations: true, limit: 1000,
            },
          }],
        }),
        t('domains', {
          array_relationships: [{ name: 'links', using: fk('links', 'domain_id') }],
          select_permissions: [
            { role: 'user', permission: { columns: '*', filter: owner, allow_aggregations: true } },
            { role: 'anonymous', permission: { columns: ['hostname'], filter: { verified: { _eq: true } }, query_root_fields: ['select'] } },
          ],
        }),
        t('tags', {
          array_relationships: [{ name: 'link_tags', using: fk('link_tags', 'tag_id') }],
          select_permissions: [{ role: 'user', permission: { columns: '*', filter: owner, allow_aggregations: true } }],
        }),
        t('link_tags', {
          object_relationships: [
            { name: 'link', using: { foreign_key_constraint_on: 'link_id' } },
            { name: 'tag', using: { foreign_key_constraint_on: 'tag_id' } },
          ],
          select_permissions: [{ role: 'user', permission: { columns: '*', filter: { link: owner } } }],
        }),
        t('daily_stats', {
          object_relationships: [{ name: 'link', using: { foreign_key_constraint_on: 'link_id' } }],
          select_permissions: [{ role: 'user', permission: { columns: '*', filter: { link: owner }, allow_aggregations: true } }],
        }),
        t('clicks', {
          object_relationships: [{ name: 'link', using: { manual_configuration: { remote_table: { schema: 'links', name: 'links' }, column_mapping: { link_id: 'id' } } } }],
          select_permissions: [{
            role: 'user',
            permission: { columns: ['clicked_at', 'link_id', 'code', 'referrer_host', 'country', 'device', 'browser', 'os', 'is_bot'], filter: { link: owner }, allow_aggregations: true },
          }],
        }),
      ],
    }],
  };
}

export const USERS = {
  alice: '00000000-0000-4000-8000-00000000000a',
  bob: '00000000-0000-4000-8000-00000000000b',
  carol: '00000000-0000-4000-8000-00000000000c',
};

/** Deterministic rows: 3 users, domains, tags, 12 links, tags on links, daily stats and clicks. */
export const SEED_SQL = `
INSERT INTO core.users (id, email, password_hash) VALUES
  ('${USERS.alice}', 'alice@example.com', 'x'), ('${USERS.bob}', 'bob@example.com', 'x'), ('${USERS.carol}', 'carol@example.com', 'x');
INSERT INTO links.domains (id, owner_id, hostname, verified, created_at) VALUES
  ('10000000-0000-4000-8000-000000000001', '${USERS.alice}', 'a.example.com', true, '2026-01-01T00:00:00Z'),
  ('10000000-0000-4000-8000-000000000002', '${USERS.bob}', 'b.example.com', false, '2026-01-02T00:00:00Z');
INSERT INTO links.tags (id, owner_id, name, color, created_at) VALUES
  ('20000000-0000-4000-8000-000000000001', '${USERS.alice}', 'work', 'red', '2026-01-01T00:00:00Z'),
  ('20000000-0000-4000-8000-000000000002', '${USERS.alice}', 'fun', NULL, '2026-01-01T00:00:00Z'),
  ('20000000-0000-4000-8000-000000000003', '${USERS.bob}', 'work', 'blue', '2026-01-01T00:00:00Z');
INSERT INTO links.links (id, owner_id, domain_id, code, destination, title, redirect_type, status, geo_targets, click_count, max_clicks, created_at, updated_at)
SELECT ('30000000-0000-4000-8000-0000000000' || lpad(i::text, 2, '0'))::uuid,
       CASE WHEN i <= 6 THEN '${USERS.alice}'::uuid WHEN i <= 10 THEN '${USERS.bob}'::uuid ELSE '${USERS.carol}'::uuid END,
       CASE WHEN i IN (1, 2) THEN '10000000-0000-4000-8000-000000000001'::uuid WHEN i = 7 THEN '10000000-0000-4000-8000-000000000002'::uuid END,
       'code' || i, 'https://example.com/' || i, CASE WHEN i % 3 = 0 THEN NULL ELSE 'Title ' || i END,
       CASE WHEN i % 2 = 0 THEN 301 ELSE 302 END, CASE WHEN i % 4 = 0 THEN 'disabled' ELSE 'active' END,
       CASE WHEN i % 2 = 0 THEN '{"DE": "https://example.de"}'::jsonb ELSE '{}'::jsonb END,
       i * 10, CASE WHEN i % 5 = 0 THEN 9007199254740993 END,
       '2026-01-01T00:00:00Z'::timestamptz + (i || ' hours')::interval, '2026-01-01T00:00:00Z'
FROM generate_series(1, 12) AS i;
INSERT INTO links.link_tags (link_id, tag_id) VALUES
  ('30000000-0000-4000-8000-000000000001', '20000000-0000-4000-8000-000000000001'),
  ('30000000-0000-4000-8000-000000000001', '20000000-0000-4000-8000-000000000002'),
  ('30000000-0000-4000-8000-000000000002', '20000000-0000-4000-8000-000000000001'),
  ('30000000-0000-4000-8000-000000000007', '20000000-0000-4000-8000-000000000003');
INSERT INTO links.daily_stats (link_id, day, dimension, value, clicks, visitors)
SELECT l.id, d::date, 'total', '', (extract(day FROM d)::int * 3 + 1), extract(day FROM d)::int
FROM links.links l, generate_series('2026-01-01'::date, '2026-01-03'::date, '1 day') AS d;
INSERT INTO links.clicks (stream_id, clicked_at, link_id, code, country, device, is_bot)
SELECT 's-' || l.code || '-' || n, '2026-01-05T00:00:00Z'::timestamptz + (n || ' minutes')::interval, l.id, l.code,
       CASE WHEN n % 2 = 0 THEN 'DE' ELSE 'FR' END, 'desktop', n = 3
FROM links.links l, generate_series(1, 3) AS n;
`;

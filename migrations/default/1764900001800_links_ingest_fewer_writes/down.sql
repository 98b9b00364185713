CREATE OR REPLACE FUNCTION links.click_dims_key(is_bot boolean, country text, device text, browser text, os text, referrer_host text,
                                                utm_source text, utm_medium text, utm_campaign text, variant text, destination text)
RETURNS uuid LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT md5(concat_ws(E'\x1f', is_bot::text, country, device, browser, os, referrer_host,
                       utm_source, utm_medium, utm_campaign, variant, destination))::uuid
$$;
DROP TRIGGER links_delete_rollups ON links.links;
DROP FUNCTION links.links_delete_rollups();
ALTER TABLE links.link_hourly_totals ADD CONSTRAINT link_hourly_totals_link_id_fkey
  FOREIGN KEY (link_id) REFERENCES links.links(id) ON DELETE CASCADE;
ALTER TABLE links.daily_visitors ADD CONSTRAINT daily_visitors_link_id_fkey
  FOREIGN KEY (link_id) REFERENCES links.links(id) ON DELETE CASCADE;
ALTER TABLE links.hourly_stats ADD CONSTRAINT hourly_stats_link_id_fkey
  FOREIGN KEY (link_id) REFERENCES links.links(id) ON DELETE CASCADE;

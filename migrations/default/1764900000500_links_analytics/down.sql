DROP FUNCTION links.analytics_breakdown(json, text, uuid, uuid, int, text, timestamptz, timestamptz, text, text, text, text, text, text, text, text, text, text, boolean);
DROP FUNCTION links.analytics_series(json, uuid, uuid, text, text, timestamptz, timestamptz, text, text, text, text, text, text, text, text, text, text, boolean);
DROP FUNCTION links.analytics_bucket(text);
DROP FUNCTION links.analytics_scope(json, uuid, uuid, timestamptz, timestamptz, text);
DROP FUNCTION links.session_user_id(json);
DROP TABLE links.analytics_rows;
DROP FUNCTION links.rollup_mismatches(timestamptz, timestamptz);
DROP FUNCTION links.rebuild_rollups(timestamptz, timestamptz);
DROP FUNCTION links.ingest_clicks(text[], text[], bigint[], uuid[], text[], text[], text[], text[], text[], text[], text[], text[], text[], boolean[], text[], text[], text[], text[], text[]);
DROP TRIGGER links_account_stats ON links.links;
DROP TRIGGER links_before_write ON links.links;
CREATE TRIGGER links_before_write BEFORE INSERT OR UPDATE ON links.links
  FOR EACH ROW EXECUTE FUNCTION links.before_write();
DROP TRIGGER links_notify_changed ON links.links;
CREATE TRIGGER links_notify_changed AFTER INSERT OR UPDATE OR DELETE ON links.links
  FOR EACH ROW EXECUTE FUNCTION links.notify_changed();
DROP FUNCTION links.account_stats_follow_link();
DROP FUNCTION links.shift_account_stats(uuid, uuid, int);
DROP TABLE links.account_daily_stats;
DROP TABLE links.account_hourly_stats;
DROP TABLE links.hourly_stats;
DROP FUNCTION links.click_dims_key(boolean, text, text, text, text, text, text, text, text, text, text);
ALTER TABLE links.clicks DROP COLUMN utm_source, DROP COLUMN utm_medium, DROP COLUMN utm_campaign,
  DROP COLUMN variant, DROP COLUMN destination;

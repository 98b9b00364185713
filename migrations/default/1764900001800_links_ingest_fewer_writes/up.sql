-- Fewer writes per ingested click (issue 16 §2), measured in redirect/bench/drain.ts (the
-- `before:` sinks run with this migration's down.sql applied, in the same run).
--
-- 1. Foreign-key checks that cannot fail. links.hourly_stats, links.daily_visitors and
--    links.link_hourly_totals referenced links.links, so every row a batch INSERTed there ran a
--    referential-integrity trigger of its own (a SELECT ... FOR KEY SHARE on links.links per row;
--    PostgreSQL docs/ddl-constraints.html#DDL-CONSTRAINTS-FK, and ri_triggers.c queues one check per
--    inserted row): per 1,000 varied clicks about 1,850 checks besides the 1,000 of the raw rows.
--    Those checks cannot fail: every row of these tables is written from raw clicks inserted in the
--    same transaction (links.ingest_click_batch, links.ingest_clicks, links.rebuild_rollups), and
--    links.clicks keeps its foreign key, whose check takes the KEY SHARE lock on each of those links
--    until COMMIT — or fails the whole statement (a link deleted meanwhile), which rolls the rollups
--    back with it. So a link cannot disappear under a batch's rollup rows.
--    Deletes stay correct without ON DELETE CASCADE: links_delete_rollups below removes the rows of
--    deleted links in the deleting statement, after links_account_stats (BEFORE DELETE) has read the
--    cube. A delete waiting on a batch's KEY SHARE lock runs its trigger's DELETEs with a snapshot
--    taken after that batch committed (READ COMMITTED takes one per statement,
--    docs/transaction-iso.html#XACT-READ-COMMITTED), so it removes the batch's rows too; the
--    services delete links in READ COMMITTED (the default; only the export's read-only transaction
--    uses REPEATABLE READ). links.clicks and links.daily_stats keep theirs: Hasura's relationships
--    are declared on them (hasura/metadata/databases/default/tables/links_{clicks,daily_stats}.yaml).
-- 2. links.click_dims_key was never inlined: the planner refuses to inline an IMMUTABLE SQL function
--    whose body is not immutable (concat_ws is STABLE; inline_function() in PostgreSQL's clauses.c,
--    docs/xfunc-volatility.html), so every cube row of every batch ran it through the SQL-function
--    executor — one nested statement per row under auto_explain in bench/drain-profile.ts. Declared
--    STABLE with the same body it is inlined into links.ingest_clicks, links.ingest_click_batch and
--    links.rebuild_rollups: the same keys, computed in place. Nothing needs it IMMUTABLE (no index
--    or generated column uses it).

ALTER TABLE links.hourly_stats DROP CONSTRAINT hourly_stats_link_id_fkey;
ALTER TABLE links.daily_visitors DROP CONSTRAINT daily_visitors_link_id_fkey;
ALTER TABLE links.link_hourly_totals DROP CONSTRAINT link_hourly_totals_link_id_fkey;

-- One statement per deleting statement (a user's cascade removes many links at once): the
-- transition table lists the deleted links, and each table is reached through its primary key's
-- leading link_id. Totals first: the cube's delete trigger then finds nothing left to subtract.
CREATE FUNCTION links.links_delete_rollups() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, links AS $$
BEGIN
  DELETE FROM links.link_hourly_totals t USING gone g WHERE t.link_id = g.id;
  DELETE FROM links.hourly_stats h USING gone g WHERE h.link_id = g.id;
  DELETE FROM links.daily_visitors v USING gone g WHERE v.link_id = g.id;
  RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION links.links_delete_rollups() FROM PUBLIC;
CREATE TRIGGER links_delete_rollups AFTER DELETE ON links.links
  REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION links.links_delete_rollups();

CREATE OR REPLACE FUNCTION links.click_dims_key(is_bot boolean, country text, device text, browser text, os text, referrer_host text,
                                                utm_source text, utm_medium text, utm_campaign text, variant text, destination text)
RETURNS uuid LANGUAGE sql STABLE PARALLEL SAFE AS $$
  -- The body of 1764900000500_links_analytics, unchanged: keys written before stay the same.
  SELECT md5(concat_ws(E'\x1f', is_bot::text, country, device, browser, os, referrer_host,
                       utm_source, utm_medium, utm_campaign, variant, destination))::uuid
$$;

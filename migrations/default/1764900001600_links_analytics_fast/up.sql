-- Issue 16 §1 target: a link's 30-day hourly series p99 < 50 ms at 16 clients over 10 M clicks.
-- links.hourly_stats holds one row per (link, hour, combination of every dimension): a popular link
-- has ~100 combinations per hour, so its unfiltered 30-day series summed ~70,000 rows per call
-- (EXPLAIN (ANALYZE, BUFFERS) in bench:analytics: an index scan of the primary key plus as many heap
-- fetches; ~140 ms p99 at scale 0.25). The unfiltered series of a link or a tag — what a dashboard
-- asks for first — needs only the per-hour totals, at most 24 rows per link and day.
--
-- links.link_hourly_totals: one row per (link, UTC hour), human clicks, their new visitors, bots.
-- It is kept from links.hourly_stats itself by statement-level AFTER triggers with transition
-- tables (PostgreSQL "CREATE TRIGGER ... REFERENCING NEW TABLE", docs/sql-createtrigger.html), so
-- every writer of the cube — the worker's links.ingest_clicks, links.rebuild_rollups, a link's
-- cascade delete — keeps it in step with no change to those writers, and in the same transaction
-- (totals == cube at every snapshot; links.rollup_mismatches checks it). One trigger per event:
-- PostgreSQL refuses transition tables on a trigger with more than one event. An INSERT ... ON
-- CONFLICT DO UPDATE fires both the INSERT trigger (rows inserted) and the UPDATE trigger (old and
-- new versions of the rows updated), so the increments are exact either way.

CREATE TABLE links.link_hourly_totals (
  link_id  uuid NOT NULL REFERENCES links.links(id) ON DELETE CASCADE,
  hour     timestamptz NOT NULL,
  clicks   bigint NOT NULL,
  visitors bigint NOT NULL,
  bots     bigint NOT NULL,
  PRIMARY KEY (link_id, hour)
) WITH (fillfactor = 80); -- room on the page for HOT updates of the current hour's counters

-- The signed per-(link, hour) sums of a set of cube rows, applied in key order (two concurrent
-- batches then lock shared rows in the same order: no deadlock between them).
CREATE FUNCTION links.link_totals_after_insert() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, links AS $$
BEGIN
  INSERT INTO links.link_hourly_totals AS t (link_id, hour, clicks, visitors, bots)
  SELECT link_id, hour, coalesce(sum(clicks) FILTER (WHERE NOT is_bot), 0), coalesce(sum(visitors) FILTER (WHERE NOT is_bot), 0),
         coalesce(sum(clicks) FILTER (WHERE is_bot), 0)
    FROM new_rows GROUP BY 1, 2 ORDER BY 1, 2
  ON CONFLICT (link_id, hour)
  DO UPDATE SET clicks = t.clicks + EXCLUDED.clicks, visitors = t.visitors + EXCLUDED.visitors, bots = t.bots + EXCLUDED.bots;
  RETURN NULL;
END $$;

CREATE FUNCTION links.link_totals_after_update() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, links AS $$
BEGIN
  INSERT INTO links.link_hourly_totals AS t (link_id, hour, clicks, visitors, bots)
  SELECT link_id, hour, coalesce(sum(s * clicks) FILTER (WHERE NOT is_bot), 0), coalesce(sum(s * visitors) FILTER (WHERE NOT is_bot), 0),
         coalesce(sum(s * clicks) FILTER (WHERE is_bot), 0)
    FROM (SELECT 1 AS s, link_id, hour, is_bot, clicks, visitors FROM new_rows
          UNION ALL
          SELECT -1, link_id, hour, is_bot, clicks, visitors FROM old_rows) d
   GROUP BY 1, 2 HAVING sum(s * clicks) <> 0 OR sum(s * visitors) <> 0 ORDER BY 1, 2
  ON CONFLICT (link_id, hour)
  DO UPDATE SET clicks = t.clicks + EXCLUDED.clicks, visitors = t.visitors + EXCLUDED.visitors, bots = t.bots + EXCLUDED.bots;
  RETURN NULL;
END $$;

-- Deletes only subtract from rows that are there: a link's cascade delete may have removed its
-- totals first (both tables cascade from links.links), and re-inserting would break the FK.
CREATE FUNCTION links.link_totals_after_delete() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, links AS $$
BEGIN
  UPDATE links.link_hourly_totals t
     SET clicks = t.clicks - d.clicks, visitors = t.visitors - d.visitors, bots = t.bots - d.bots
    FROM (SELECT link_id, hour, coalesce(sum(clicks) FILTER (WHERE NOT is_bot), 0) AS clicks,
                 coalesce(sum(visitors) FILTER (WHERE NOT is_bot), 0) AS visitors,
                 coalesce(sum(clicks) FILTER (WHERE is_bot), 0) AS bots
            FROM old_rows GROUP BY 1, 2 ORDER BY 1, 2) d
   WHERE t.link_id = d.link_id AND t.hour = d.hour;
  RETURN NULL;
END $$;

CREATE TRIGGER link_totals_insert AFTER INSERT ON links.hourly_stats
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION links.link_totals_after_insert();
CREATE TRIGGER link_totals_update AFTER UPDATE ON links.hourly_stats
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION links.link_totals_after_update();
CREATE TRIGGER link_totals_delete AFTER DELETE ON links.hourly_stats
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION links.link_totals_after_delete();

-- Existing cube rows (a database migrated with data).
INSERT INTO links.link_hourly_totals (link_id, hour, clicks, visitors, bots)
SELECT link_id, hour, coalesce(sum(clicks) FILTER (WHERE NOT is_bot), 0), coalesce(sum(visitors) FILTER (WHERE NOT is_bot), 0),
       coalesce(sum(clicks) FILTER (WHERE is_bot), 0)
  FROM links.hourly_stats GROUP BY 1, 2;

REVOKE ALL ON FUNCTION links.link_totals_after_insert(), links.link_totals_after_update(), links.link_totals_after_delete() FROM PUBLIC;
-- Read by the analytics functions, which run as the caller (links_admin for the engine); written
-- only by the triggers above.
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON links.link_hourly_totals FROM links_admin;

-- Unchanged signature and answers (the tracked function's GraphQL schema does not change); the
-- unfiltered series of a link or a tag now reads the per-hour totals. Filtered series still sum the
-- cube, account-wide ones the owner's marginals.
CREATE OR REPLACE FUNCTION links.analytics_series(
  hasura_session json,
  link_id uuid DEFAULT NULL, tag_id uuid DEFAULT NULL,
  bucket text DEFAULT 'day', time_zone text DEFAULT 'UTC',
  from_ts timestamptz DEFAULT NULL, to_ts timestamptz DEFAULT NULL,
  country text DEFAULT NULL, device text DEFAULT NULL, browser text DEFAULT NULL, os text DEFAULT NULL,
  referrer_host text DEFAULT NULL, utm_source text DEFAULT NULL, utm_medium text DEFAULT NULL,
  utm_campaign text DEFAULT NULL, variant text DEFAULT NULL, destination text DEFAULT NULL,
  include_bots boolean DEFAULT false)
RETURNS SETOF links.analytics_rows LANGUAGE plpgsql STABLE
-- A plan per call: PL/pgSQL would switch to a generic plan after five calls, and without the
-- owner, dimension and range values the planner picks a sequential scan of the rollup (measured
-- in bench:analytics: p50 1.2 s instead of milliseconds).
SET plan_cache_mode = force_custom_plan AS $$
DECLARE
  me uuid := links.session_user_id(hasura_session);
  t0 timestamptz := coalesce(from_ts, now() - interval '30 days');
  t1 timestamptz := coalesce(to_ts, now());
  b text := links.analytics_bucket(bucket);
  ids uuid[] := links.analytics_scope(hasura_session, link_id, tag_id, t0, t1, time_zone);
  filtered boolean := num_nonnulls(country, device, browser, os, referrer_host, utm_source, utm_medium,
                                   utm_campaign, variant, destination) > 0;
BEGIN
  IF ids IS NULL AND NOT filtered THEN
    -- Account-wide without filters: the owner's marginals ('total').
    RETURN QUERY
      SELECT me, date_trunc(b, a.hour, time_zone), NULL::text, NULL::text,
             coalesce(sum(a.clicks) FILTER (WHERE NOT a.is_bot), 0)::bigint,
             coalesce(sum(a.visitors) FILTER (WHERE NOT a.is_bot), 0)::bigint,
             coalesce(sum(a.clicks) FILTER (WHERE a.is_bot), 0)::bigint
        FROM links.account_hourly_stats a
       WHERE a.owner_id = me AND a.dimension = 'total' AND a.hour >= t0 AND a.hour < t1
         AND (include_bots OR NOT a.is_bot)
       -- A link moved away or deleted leaves zeroed rows behind: not a bucket with data.
       GROUP BY 2 HAVING sum(a.clicks) <> 0 ORDER BY 2;
    RETURN;
  END IF;
  IF NOT filtered THEN
    -- A link or a tag without filters: the per-hour totals. An hour is a bucket with data when it
    -- has human clicks, or bots and bots are asked for (as with the cube's is_bot rows).
    RETURN QUERY
      SELECT me, date_trunc(b, t.hour, time_zone), NULL::text, NULL::text,
             sum(t.clicks)::bigint, sum(t.visitors)::bigint,
             (CASE WHEN include_bots THEN sum(t.bots) ELSE 0 END)::bigint
        FROM links.link_hourly_totals t
       WHERE t.link_id = ANY (ids) AND t.hour >= t0 AND t.hour < t1
         AND (t.clicks <> 0 OR (include_bots AND t.bots <> 0))
       GROUP BY 2 ORDER BY 2;
    RETURN;
  END IF;
  RETURN QUERY
    SELECT me, date_trunc(b, h.hour, time_zone), NULL::text, NULL::text,
           coalesce(sum(h.clicks) FILTER (WHERE NOT h.is_bot), 0)::bigint,
           coalesce(sum(h.visitors) FILTER (WHERE NOT h.is_bot), 0)::bigint,
           coalesce(sum(h.clicks) FILTER (WHERE h.is_bot), 0)::bigint
      FROM links.hourly_stats h
     WHERE (CASE WHEN ids IS NULL THEN h.link_id IN (SELECT l.id FROM links.links l WHERE l.owner_id = me)
                 ELSE h.link_id = ANY (ids) END)
       AND h.hour >= t0 AND h.hour < t1 AND (include_bots OR NOT h.is_bot)
       AND (analytics_series.country IS NULL OR h.country = analytics_series.country)
       AND (analytics_series.device IS NULL OR h.device = analytics_series.device)
       AND (analytics_series.browser IS NULL OR h.browser = analytics_series.browser)
       AND (analytics_series.os IS NULL OR h.os = analytics_series.os)
       AND (analytics_series.referrer_host IS NULL OR h.referrer_host = analytics_series.referrer_host)
       AND (analytics_series.utm_source IS NULL OR h.utm_source = analytics_series.utm_source)
       AND (analytics_series.utm_medium IS NULL OR h.utm_medium = analytics_series.utm_medium)
       AND (analytics_series.utm_campaign IS NULL OR h.utm_campaign = analytics_series.utm_campaign)
       AND (analytics_series.variant IS NULL OR h.variant = analytics_series.variant)
       AND (analytics_series.destination IS NULL OR h.destination = analytics_series.destination)
     GROUP BY 2 ORDER BY 2;
END $$;

-- The reconciliation check (rollups == raw) covers the totals too, against the raw clicks.
CREATE OR REPLACE FUNCTION links.rollup_mismatches(from_ts timestamptz, to_ts timestamptz)
RETURNS TABLE (rollup text, key text, bucket timestamptz, raw bigint, rolled bigint)
LANGUAGE sql STABLE AS $$
  WITH raw AS (
    SELECT link_id, date_trunc('hour', clicked_at, 'UTC') AS hour, count(*) AS n,
           count(*) FILTER (WHERE NOT is_bot) AS humans
      FROM links.clicks WHERE clicked_at >= from_ts AND clicked_at < to_ts GROUP BY 1, 2
  ), cube AS (
    SELECT link_id, hour, sum(clicks) AS n FROM links.hourly_stats WHERE hour >= from_ts AND hour < to_ts GROUP BY 1, 2
  ), totals AS (
    SELECT link_id, hour, sum(clicks + bots) AS n FROM links.link_hourly_totals WHERE hour >= from_ts AND hour < to_ts GROUP BY 1, 2
  ), acct_raw AS (
    SELECT l.owner_id, r.hour, sum(r.n) AS n FROM raw r JOIN links.links l ON l.id = r.link_id GROUP BY 1, 2
  ), acct AS (
    SELECT owner_id, hour, sum(clicks) AS n FROM links.account_hourly_stats
     WHERE dimension = 'total' AND hour >= from_ts AND hour < to_ts GROUP BY 1, 2
  ), acct_day_hours AS (
    SELECT owner_id, (hour AT TIME ZONE 'UTC')::date AS day, sum(clicks) AS n FROM links.account_hourly_stats
     WHERE dimension = 'total' AND hour >= from_ts AND hour < to_ts GROUP BY 1, 2
  ), acct_day AS (
    SELECT owner_id, day, sum(clicks) AS n FROM links.account_daily_stats
     WHERE dimension = 'total' AND day >= (from_ts AT TIME ZONE 'UTC')::date AND day <= (to_ts AT TIME ZONE 'UTC')::date GROUP BY 1, 2
  ), day_raw AS (
    SELECT link_id, (hour AT TIME ZONE 'UTC')::date AS day, sum(humans) AS n FROM raw GROUP BY 1, 2
  ), day_rolled AS (
    SELECT link_id, day, clicks AS n FROM links.daily_stats
     WHERE dimension = 'total' AND day >= (from_ts AT TIME ZONE 'UTC')::date AND day < (to_ts AT TIME ZONE 'UTC')::date
  )
  SELECT 'hourly_stats', coalesce(r.link_id, c.link_id)::text, coalesce(r.hour, c.hour), coalesce(r.n, 0), coalesce(c.n, 0)
    FROM raw r FULL JOIN cube c ON c.link_id = r.link_id AND c.hour = r.hour
   WHERE coalesce(r.n, 0) <> coalesce(c.n, 0)
  UNION ALL
  -- Zero rows left by deletes are not data: compare as absent.
  SELECT 'link_hourly_totals', coalesce(r.link_id, t.link_id)::text, coalesce(r.hour, t.hour), coalesce(r.n, 0), coalesce(t.n, 0)
    FROM raw r FULL JOIN totals t ON t.link_id = r.link_id AND t.hour = r.hour
   WHERE coalesce(r.n, 0) <> coalesce(t.n, 0)
  UNION ALL
  SELECT 'account_hourly_stats', coalesce(r.owner_id, a.owner_id)::text, coalesce(r.hour, a.hour), coalesce(r.n, 0), coalesce(a.n, 0)
    FROM acct_raw r FULL JOIN acct a ON a.owner_id = r.owner_id AND a.hour = r.hour
   WHERE coalesce(r.n, 0) <> coalesce(a.n, 0)
  UNION ALL
  SELECT 'account_daily_stats', coalesce(r.owner_id, d.owner_id)::text, coalesce(r.day, d.day)::timestamp AT TIME ZONE 'UTC',
         coalesce(r.n, 0), coalesce(d.n, 0)
    FROM (SELECT * FROM acct_day_hours WHERE day::timestamp AT TIME ZONE 'UTC' >= from_ts
                                         AND (day + 1)::timestamp AT TIME ZONE 'UTC' <= to_ts) r
         FULL JOIN (SELECT * FROM acct_day WHERE day::timestamp AT TIME ZONE 'UTC' >= from_ts
                                              AND (day + 1)::timestamp AT TIME ZONE 'UTC' <= to_ts) d
           ON d.owner_id = r.owner_id AND d.day = r.day
   WHERE coalesce(r.n, 0) <> coalesce(d.n, 0)
  UNION ALL
  -- Whole UTC days inside the window only: a partial first or last day differs by construction.
  SELECT 'daily_stats', coalesce(r.link_id, d.link_id)::text, coalesce(r.day, d.day)::timestamp AT TIME ZONE 'UTC',
         coalesce(r.n, 0), coalesce(d.n, 0)
    FROM (SELECT * FROM day_raw WHERE day::timestamp AT TIME ZONE 'UTC' >= from_ts
                                  AND (day + 1)::timestamp AT TIME ZONE 'UTC' <= to_ts) r
         FULL JOIN (SELECT * FROM day_rolled WHERE day::timestamp AT TIME ZONE 'UTC' >= from_ts
                                               AND (day + 1)::timestamp AT TIME ZONE 'UTC' <= to_ts) d
           ON d.link_id = r.link_id AND d.day = r.day
   WHERE coalesce(r.n, 0) <> coalesce(d.n, 0)
$$;

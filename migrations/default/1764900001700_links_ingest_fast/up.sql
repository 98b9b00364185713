-- The click worker's fast write path (issue 16 §2). links.ingest_clicks (1764900000500) aggregates
-- each batch in SQL from the RETURNING rows of its raw INSERT: a wide CTE materialised, grouped by
-- 13 columns, sorted for visitors' first clicks and joined back — with the row estimates of
-- parameter arrays (100) the planner cannot know. Here the worker sends the batch's aggregates it
-- computed in memory (redirect/src/worker/aggregate.ts): one row per hourly cube key with its
-- clicks, each link's counter increase, and each visitor's first click of the day in the batch
-- pointing at its cube row. The database only decides what it alone knows (which visitors are new
-- today) and writes every table with pre-aggregated, key-sorted rows.
--
-- Exactness on replay: the aggregates are only right when EVERY raw row of the batch is new. The
-- raw INSERT stays the idempotency gate (stream entry id and click id, as before); when it inserts
-- fewer rows than it was given (a redelivered batch, a re-sent XADD, a link deleted meanwhile) the
-- function raises SQLSTATE LPR01 before anything is counted, the statement rolls back whole, and the
-- worker writes that batch through links.ingest_clicks, which aggregates only the rows actually
-- inserted (redirect/src/worker/click-sink.ts). Replays are rare (a crash between COMMIT and XACK),
-- so the fallback costs nothing in the steady state.
--
-- Statements run one after the other (plpgsql), tables in a fixed order and rows in key order, so
-- two workers writing overlapping rollup keys wait for each other instead of deadlocking.
CREATE FUNCTION links.ingest_click_batch(
  -- Raw clicks, one element per stream entry (as links.ingest_clicks).
  stream_ids text[], click_ids text[], ts_ms bigint[], link_ids uuid[], codes text[], visitor_hashes text[],
  uas text[], refs text[], ref_hosts text[], countries text[], devices text[], browsers text[], oses text[],
  bots boolean[], utm_sources text[], utm_mediums text[], utm_campaigns text[], variants text[], destinations text[],
  -- Counters: one element per link with human clicks in the batch, sorted by id.
  c_links uuid[], c_clicks bigint[], c_last_ms bigint[],
  -- The hourly cube: one element per (link, UTC hour, bot flag, dimensions), sorted by that key.
  h_links uuid[], h_hours_ms bigint[], h_bots boolean[], h_countries text[], h_devices text[], h_browsers text[],
  h_oses text[], h_ref_hosts text[], h_utm_sources text[], h_utm_mediums text[], h_utm_campaigns text[],
  h_variants text[], h_destinations text[], h_clicks bigint[],
  -- Each visitor's first human click of the UTC day per link in this batch, and its cube row (1-based).
  f_links uuid[], f_days date[], f_visitors text[], f_cube int[],
  OUT inserted bigint, OUT counted bigint)
-- No SET enable_nestloop = off (tried): it made the raw INSERT hash the whole of links.links per
-- batch instead of probing its primary key, and sorted every rollup aggregate.
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  n bigint;
BEGIN
  INSERT INTO links.clicks (stream_id, click_id, clicked_at, link_id, code, visitor_hash, user_agent, referrer,
                            referrer_host, country, device, browser, os, is_bot, utm_source, utm_medium,
                            utm_campaign, variant, destination)
  SELECT u.stream_id, NULLIF(u.click_id, ''), to_timestamp(u.ts / 1000.0), u.link_id, u.code, NULLIF(u.visitor, ''),
         NULLIF(u.ua, ''), NULLIF(u.ref, ''), NULLIF(u.ref_host, ''), NULLIF(u.country, ''), u.device, u.browser, u.os,
         u.is_bot, NULLIF(u.utm_source, ''), NULLIF(u.utm_medium, ''), NULLIF(u.utm_campaign, ''),
         NULLIF(u.variant, ''), NULLIF(u.destination, '')
    FROM unnest(stream_ids, click_ids, ts_ms, link_ids, codes, visitor_hashes, uas, refs, ref_hosts, countries,
                devices, browsers, oses, bots, utm_sources, utm_mediums, utm_campaigns, variants, destinations)
           AS u(stream_id, click_id, ts, link_id, code, visitor, ua, ref, ref_host, country, device, browser, os,
                is_bot, utm_source, utm_medium, utm_campaign, variant, destination)
    JOIN links.links l ON l.id = u.link_id
  ON CONFLICT DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  IF n <> coalesce(cardinality(stream_ids), 0) THEN
    RAISE EXCEPTION 'ingest_click_batch: % of % clicks are new; write this batch with links.ingest_clicks', n, cardinality(stream_ids)
      USING ERRCODE = 'LPR01';
  END IF;

  UPDATE links.links l
     SET click_count = l.click_count + c.n, last_clicked_at = GREATEST(l.last_clicked_at, to_timestamp(c.last / 1000.0))
    FROM unnest(c_links, c_clicks, c_last_ms) AS c(id, n, last)
   WHERE l.id = c.id;

  -- Which of the batch's first visits are new today decides each cube row's visitors; every rollup
  -- then reads the cube. (Data-modifying CTEs: one statement, one snapshot, no temp table.)
  WITH vis AS (
    INSERT INTO links.daily_visitors (link_id, day, visitor_hash)
    SELECT link_id, day, visitor_hash FROM unnest(f_links, f_days, f_visitors) AS x(link_id, day, visitor_hash)
    ON CONFLICT DO NOTHING
    RETURNING link_id, day, visitor_hash
  ), new_per_cube AS (
    SELECT f.cube, count(*) AS n
      FROM unnest(f_links, f_days, f_visitors, f_cube) AS f(link_id, day, visitor_hash, cube)
      JOIN vis USING (link_id, day, visitor_hash)
     GROUP BY f.cube
  ), cube AS (
    SELECT h.i, h.link_id, to_timestamp(h.hour / 1000.0) AS hour, h.is_bot, h.country, h.device, h.browser, h.os,
           h.referrer_host, h.utm_source, h.utm_medium, h.utm_campaign, h.variant, h.destination, h.clicks,
           coalesce(v.n, 0) AS visitors
      FROM unnest(h_links, h_hours_ms, h_bots, h_countries, h_devices, h_browsers, h_oses, h_ref_hosts, h_utm_sources,
                  h_utm_mediums, h_utm_campaigns, h_variants, h_destinations, h_clicks) WITH ORDINALITY
             AS h(link_id, hour, is_bot, country, device, browser, os, referrer_host, utm_source, utm_medium,
                  utm_campaign, variant, destination, clicks, i)
      LEFT JOIN new_per_cube v ON v.cube = h.i
  ), hourly AS (
    INSERT INTO links.hourly_stats AS s
    SELECT link_id, hour, links.click_dims_key(is_bot, country, device, browser, os, referrer_host, utm_source,
                                               utm_medium, utm_campaign, variant, destination),
           is_bot, country, device, browser, os, referrer_host, utm_source, utm_medium, utm_campaign, variant,
           destination, clicks, visitors
      FROM cube ORDER BY i
    ON CONFLICT (link_id, hour, dims_key)
    DO UPDATE SET clicks = s.clicks + EXCLUDED.clicks, visitors = s.visitors + EXCLUDED.visitors
  ), marginals AS (
    SELECT l.owner_id, d.dimension, c.hour, d.value, c.is_bot, sum(c.clicks) AS clicks, sum(c.visitors) AS visitors
      FROM cube c JOIN links.links l ON l.id = c.link_id
           CROSS JOIN LATERAL (VALUES ('total', ''), ('country', c.country), ('device', c.device), ('browser', c.browser),
                                      ('os', c.os), ('referrer_host', c.referrer_host), ('utm_source', c.utm_source),
                                      ('utm_medium', c.utm_medium), ('utm_campaign', c.utm_campaign),
                                      ('variant', c.variant), ('destination', c.destination)) AS d(dimension, value)
     GROUP BY 1, 2, 3, 4, 5
  ), account AS (
    INSERT INTO links.account_hourly_stats AS a (owner_id, dimension, hour, value, is_bot, clicks, visitors)
    SELECT owner_id, dimension, hour, value, is_bot, clicks, visitors FROM marginals ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (owner_id, dimension, hour, value, is_bot)
    DO UPDATE SET clicks = a.clicks + EXCLUDED.clicks, visitors = a.visitors + EXCLUDED.visitors
  ), account_days AS (
    INSERT INTO links.account_daily_stats AS a (owner_id, dimension, day, value, is_bot, clicks, visitors)
    SELECT owner_id, dimension, (hour AT TIME ZONE 'UTC')::date, value, is_bot, sum(clicks), sum(visitors)
      FROM marginals GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (owner_id, dimension, day, value, is_bot)
    DO UPDATE SET clicks = a.clicks + EXCLUDED.clicks, visitors = a.visitors + EXCLUDED.visitors
  )
  -- daily_stats keeps its contract: humans only, 'unknown' country, 'direct' referrer.
  INSERT INTO links.daily_stats AS s (link_id, day, dimension, value, clicks, visitors)
  SELECT c.link_id, (c.hour AT TIME ZONE 'UTC')::date, d.dimension, d.value, sum(c.clicks), sum(c.visitors)
    FROM cube c
         CROSS JOIN LATERAL (VALUES ('total', ''), ('country', coalesce(nullif(c.country, ''), 'unknown')),
                                    ('device', c.device), ('browser', c.browser), ('os', c.os),
                                    ('referrer', coalesce(nullif(c.referrer_host, ''), 'direct'))) AS d(dimension, value)
   WHERE NOT c.is_bot
   GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
  ON CONFLICT (link_id, day, dimension, value)
  DO UPDATE SET clicks = s.clicks + EXCLUDED.clicks, visitors = s.visitors + EXCLUDED.visitors;

  inserted := n;
  counted := coalesce((SELECT sum(x) FROM unnest(c_clicks) x), 0);
END $$;

REVOKE ALL ON FUNCTION links.ingest_click_batch FROM PUBLIC;
GRANT EXECUTE ON FUNCTION links.ingest_click_batch TO redirect_service;

-- The worker's reconciler (redirect/src/worker/reconcile.ts) calls links.rollup_mismatches as
-- redirect_service; since 1764900001600 that reads links.link_hourly_totals too, and without this
-- every reconciliation failed (permission denied; redirect/test/metrics.test.ts timed out).
GRANT SELECT ON links.link_hourly_totals TO redirect_service;

-- Analytics (issue 16 §1–§2): the click dimensions the API filters on, hourly rollups written by the
-- click worker in the same statement as the raw rows (so rollups == raw at every snapshot), a
-- rebuild from raw clicks, a reconciliation check, and the Hasura-tracked query functions.
--
-- Grain and sources:
--   links.hourly_stats          one row per (link, UTC hour, bot flag, combination of every dimension)
--                               — answers any combination of filters for a link or a tag;
--   links.account_hourly_stats  one row per (owner, dimension, UTC hour, value, bot flag) — the
--                               single-dimension marginals of the owner's links, so account-wide
--                               series and breakdowns read thousands of rows, not millions;
--   links.daily_stats           (kept: the existing daily per-dimension rollup the links API exposes).
-- Day/week/month buckets are derived from the hours in the requested IANA zone. Unique visitors:
-- visitor hashes rotate daily (never raw IPs), so a visitor is unique per link and UTC day; the hour
-- row of a visitor's first click that day carries the 1, and a bucket's `visitors` is the sum.

ALTER TABLE links.clicks
  ADD COLUMN utm_source   text,
  ADD COLUMN utm_medium   text,
  ADD COLUMN utm_campaign text,
  -- The A/B variant's URL when the destination came from ab_variants, else NULL.
  ADD COLUMN variant      text,
  -- The destination the rules chose (iOS/Android/geo/A-B/default) before UTM and query merging.
  ADD COLUMN destination  text;

-- Rollup keys are '' for "none" (no country, direct traffic, no UTM...) so they can be compared and
-- grouped without NULL semantics; the API shows '' as is.
CREATE FUNCTION links.click_dims_key(is_bot boolean, country text, device text, browser text, os text, referrer_host text,
                                     utm_source text, utm_medium text, utm_campaign text, variant text, destination text)
RETURNS uuid LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  -- A fixed-size key for the combination (a destination may be 2 kB; a btree entry is capped near
  -- 2.7 kB). md5 is a key here, not a security measure. The unit separator cannot occur in values
  -- the worker writes (they are header- or URL-derived, and the stream packing forbids TAB too).
  SELECT md5(concat_ws(E'\x1f', is_bot::text, country, device, browser, os, referrer_host,
                       utm_source, utm_medium, utm_campaign, variant, destination))::uuid
$$;

CREATE TABLE links.hourly_stats (
  link_id       uuid NOT NULL REFERENCES links.links(id) ON DELETE CASCADE,
  hour          timestamptz NOT NULL CHECK (date_trunc('hour', hour, 'UTC') = hour),
  dims_key      uuid NOT NULL,
  is_bot        boolean NOT NULL,
  country       text NOT NULL,
  device        text NOT NULL,
  browser       text NOT NULL,
  os            text NOT NULL,
  referrer_host text NOT NULL,
  utm_source    text NOT NULL,
  utm_medium    text NOT NULL,
  utm_campaign  text NOT NULL,
  variant       text NOT NULL,
  destination   text NOT NULL,
  clicks        bigint NOT NULL,
  visitors      bigint NOT NULL,
  PRIMARY KEY (link_id, hour, dims_key)
);

CREATE TABLE links.account_hourly_stats (
  owner_id   uuid NOT NULL REFERENCES core.users(id) ON DELETE CASCADE,
  dimension  text NOT NULL CHECK (dimension IN ('total', 'country', 'device', 'browser', 'os', 'referrer_host',
                                                'utm_source', 'utm_medium', 'utm_campaign', 'variant', 'destination')),
  hour       timestamptz NOT NULL,
  value      text NOT NULL,
  is_bot     boolean NOT NULL,
  clicks     bigint NOT NULL,
  visitors   bigint NOT NULL,
  PRIMARY KEY (owner_id, dimension, hour, value, is_bot)
);

-- The same marginals per UTC day: a breakdown over a long range reads whole UTC days here and only
-- its partial first and last day from the hours (exact for any instant range, so any time zone).
CREATE TABLE links.account_daily_stats (
  owner_id   uuid NOT NULL REFERENCES core.users(id) ON DELETE CASCADE,
  dimension  text NOT NULL,
  day        date NOT NULL,
  value      text NOT NULL,
  is_bot     boolean NOT NULL,
  clicks     bigint NOT NULL,
  visitors   bigint NOT NULL,
  PRIMARY KEY (owner_id, dimension, day, value, is_bot)
);

-- The marginals of one link's cube rows, signed: a link deleted or given to another owner takes its
-- history with it, so account figures always equal the sum over the owner's current links.
-- SECURITY DEFINER: whoever may move or delete a link (links_admin through the API, core) keeps the
-- account rollup in step without write access to it. An owner being deleted takes its rows along
-- (ON DELETE CASCADE), so nothing is shifted for it.
CREATE FUNCTION links.shift_account_stats(p_link uuid, p_owner uuid, p_sign int) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, links AS $$
  INSERT INTO links.account_hourly_stats AS a (owner_id, dimension, hour, value, is_bot, clicks, visitors)
  SELECT p_owner, d.dimension, h.hour, d.value, h.is_bot, p_sign * sum(h.clicks), p_sign * sum(h.visitors)
    FROM links.hourly_stats h
         CROSS JOIN LATERAL (VALUES ('total', ''), ('country', h.country), ('device', h.device), ('browser', h.browser),
                                    ('os', h.os), ('referrer_host', h.referrer_host), ('utm_source', h.utm_source),
                                    ('utm_medium', h.utm_medium), ('utm_campaign', h.utm_campaign),
                                    ('variant', h.variant), ('destination', h.destination)) AS d(dimension, value)
   WHERE h.link_id = p_link AND EXISTS (SELECT 1 FROM core.users u WHERE u.id = p_owner)
   GROUP BY d.dimension, h.hour, d.value, h.is_bot
  ON CONFLICT (owner_id, dimension, hour, value, is_bot)
  DO UPDATE SET clicks = a.clicks + EXCLUDED.clicks, visitors = a.visitors + EXCLUDED.visitors;
  INSERT INTO links.account_daily_stats AS a (owner_id, dimension, day, value, is_bot, clicks, visitors)
  SELECT p_owner, d.dimension, (h.hour AT TIME ZONE 'UTC')::date, d.value, h.is_bot, p_sign * sum(h.clicks), p_sign * sum(h.visitors)
    FROM links.hourly_stats h
         CROSS JOIN LATERAL (VALUES ('total', ''), ('country', h.country), ('device', h.device), ('browser', h.browser),
                                    ('os', h.os), ('referrer_host', h.referrer_host), ('utm_source', h.utm_source),
                                    ('utm_medium', h.utm_medium), ('utm_campaign', h.utm_campaign),
                                    ('variant', h.variant), ('destination', h.destination)) AS d(dimension, value)
   WHERE h.link_id = p_link AND EXISTS (SELECT 1 FROM core.users u WHERE u.id = p_owner)
   GROUP BY d.dimension, 3, d.value, h.is_bot
  ON CONFLICT (owner_id, dimension, day, value, is_bot)
  DO UPDATE SET clicks = a.clicks + EXCLUDED.clicks, visitors = a.visitors + EXCLUDED.visitors;
$$;

CREATE FUNCTION links.account_stats_follow_link() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- BEFORE DELETE: the cube rows still exist (the FK cascade removes them afterwards).
  IF TG_OP = 'DELETE' THEN
    PERFORM links.shift_account_stats(OLD.id, OLD.owner_id, -1);
    RETURN OLD;
  END IF;
  IF NEW.owner_id IS DISTINCT FROM OLD.owner_id THEN
    PERFORM links.shift_account_stats(OLD.id, OLD.owner_id, -1);
    PERFORM links.shift_account_stats(OLD.id, NEW.owner_id, 1);
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER links_account_stats BEFORE DELETE OR UPDATE OF owner_id ON links.links
  FOR EACH ROW EXECUTE FUNCTION links.account_stats_follow_link();

-- One batch from the click worker, in ONE statement (one round trip, atomic without BEGIN/COMMIT):
-- raw rows, link counters, daily visitors, the hourly cube, the account marginals and daily_stats.
-- The INSERT into clicks is the idempotency gate (a replayed stream entry or a re-sent click id
-- conflicts and is skipped); everything downstream is aggregated from its RETURNING rows, so a
-- replay never double-counts and every upsert touches each key once. Bots are kept in clicks and
-- the hourly rollups (is_bot = true, shown separately on request) and stay out of click_count,
-- daily_stats and visitors, as before.
CREATE FUNCTION links.ingest_clicks(
  stream_ids text[], click_ids text[], ts_ms bigint[], link_ids uuid[], codes text[], visitor_hashes text[],
  uas text[], refs text[], ref_hosts text[], countries text[], devices text[], browsers text[], oses text[],
  bots boolean[], utm_sources text[], utm_mediums text[], utm_campaigns text[], variants text[], destinations text[],
  OUT inserted bigint, OUT counted bigint)
-- PL/pgSQL rather than SQL: its statement's plan is cached per connection (a SQL function is
-- planned again at every call, ~10 ms for this statement).
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
WITH u AS (
  SELECT * FROM unnest(stream_ids, click_ids, ts_ms, link_ids, codes, visitor_hashes, uas, refs, ref_hosts, countries,
                       devices, browsers, oses, bots, utm_sources, utm_mediums, utm_campaigns, variants, destinations)
           AS u(stream_id, click_id, ts, link_id, code, visitor, ua, ref, ref_host, country, device, browser, os,
                is_bot, utm_source, utm_medium, utm_campaign, variant, destination)
), ins AS (
  -- Clicks of links deleted meanwhile are dropped by the join instead of failing the batch on the FK.
  INSERT INTO links.clicks (stream_id, click_id, clicked_at, link_id, code, visitor_hash, user_agent, referrer,
                            referrer_host, country, device, browser, os, is_bot, utm_source, utm_medium,
                            utm_campaign, variant, destination)
  SELECT u.stream_id, NULLIF(u.click_id, ''), to_timestamp(u.ts / 1000.0), u.link_id, u.code, NULLIF(u.visitor, ''),
         NULLIF(u.ua, ''), NULLIF(u.ref, ''), NULLIF(u.ref_host, ''), NULLIF(u.country, ''), u.device, u.browser, u.os,
         u.is_bot, NULLIF(u.utm_source, ''), NULLIF(u.utm_medium, ''), NULLIF(u.utm_campaign, ''),
         NULLIF(u.variant, ''), NULLIF(u.destination, '')
    FROM u JOIN links.links l ON l.id = u.link_id
  ON CONFLICT DO NOTHING
  RETURNING *
), cnt AS (
  SELECT link_id, count(*) AS n, max(clicked_at) AS last FROM ins WHERE NOT is_bot GROUP BY link_id
), upd AS (
  UPDATE links.links l
     SET click_count = l.click_count + cnt.n, last_clicked_at = GREATEST(l.last_clicked_at, cnt.last)
    FROM cnt WHERE l.id = cnt.link_id
  RETURNING 1
), firsts AS (
  -- Each visitor's first click of the UTC day on a link within this batch...
  SELECT DISTINCT ON (link_id, day, visitor_hash) stream_id, link_id, day, visitor_hash
    FROM (SELECT *, (clicked_at AT TIME ZONE 'UTC')::date AS day FROM ins WHERE NOT is_bot AND visitor_hash IS NOT NULL) f
   ORDER BY link_id, day, visitor_hash, clicked_at, stream_id
), vis AS (
  -- ...is new when no earlier batch recorded that visitor that day.
  INSERT INTO links.daily_visitors (link_id, day, visitor_hash)
  SELECT link_id, day, visitor_hash FROM firsts
  ON CONFLICT DO NOTHING
  RETURNING link_id, day, visitor_hash
), marked AS (
  SELECT i.*, date_trunc('hour', i.clicked_at, 'UTC') AS hour, (nv.stream_id IS NOT NULL) AS is_new
    FROM ins i
    LEFT JOIN (SELECT f.stream_id FROM firsts f JOIN vis v USING (link_id, day, visitor_hash)) nv ON nv.stream_id = i.stream_id
), cube AS (
  SELECT link_id, hour, is_bot, coalesce(country, '') AS country, coalesce(device, '') AS device,
         coalesce(browser, '') AS browser, coalesce(os, '') AS os, coalesce(referrer_host, '') AS referrer_host,
         coalesce(utm_source, '') AS utm_source, coalesce(utm_medium, '') AS utm_medium,
         coalesce(utm_campaign, '') AS utm_campaign, coalesce(variant, '') AS variant,
         coalesce(destination, '') AS destination, count(*) AS clicks, count(*) FILTER (WHERE is_new) AS visitors
    FROM marked
   GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13
), hourly AS (
  INSERT INTO links.hourly_stats AS s
  SELECT link_id, hour, links.click_dims_key(is_bot, country, device, browser, os, referrer_host, utm_source,
                                             utm_medium, utm_campaign, variant, destination),
         is_bot, country, device, browser, os, referrer_host, utm_source, utm_medium, utm_campaign, variant,
         destination, clicks, visitors
    FROM cube
  ON CONFLICT (link_id, hour, dims_key)
  DO UPDATE SET clicks = s.clicks + EXCLUDED.clicks, visitors = s.visitors + EXCLUDED.visitors
  RETURNING 1
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
  SELECT owner_id, dimension, hour, value, is_bot, clicks, visitors FROM marginals
  ON CONFLICT (owner_id, dimension, hour, value, is_bot)
  DO UPDATE SET clicks = a.clicks + EXCLUDED.clicks, visitors = a.visitors + EXCLUDED.visitors
  RETURNING 1
), account_days AS (
  INSERT INTO links.account_daily_stats AS a (owner_id, dimension, day, value, is_bot, clicks, visitors)
  SELECT owner_id, dimension, (hour AT TIME ZONE 'UTC')::date, value, is_bot, sum(clicks), sum(visitors)
    FROM marginals GROUP BY 1, 2, 3, 4, 5
  ON CONFLICT (owner_id, dimension, day, value, is_bot)
  DO UPDATE SET clicks = a.clicks + EXCLUDED.clicks, visitors = a.visitors + EXCLUDED.visitors
  RETURNING 1
), daily AS (
  -- daily_stats keeps its contract: humans only, 'unknown' country, 'direct' referrer.
  INSERT INTO links.daily_stats AS s (link_id, day, dimension, value, clicks, visitors)
  SELECT c.link_id, (c.hour AT TIME ZONE 'UTC')::date, d.dimension, d.value, sum(c.clicks), sum(c.visitors)
    FROM cube c
         CROSS JOIN LATERAL (VALUES ('total', ''), ('country', coalesce(nullif(c.country, ''), 'unknown')),
                                    ('device', c.device), ('browser', c.browser), ('os', c.os),
                                    ('referrer', coalesce(nullif(c.referrer_host, ''), 'direct'))) AS d(dimension, value)
   WHERE NOT c.is_bot
   GROUP BY 1, 2, 3, 4
  ON CONFLICT (link_id, day, dimension, value)
  DO UPDATE SET clicks = s.clicks + EXCLUDED.clicks, visitors = s.visitors + EXCLUDED.visitors
  RETURNING 1
)
SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM ins WHERE NOT is_bot) INTO inserted, counted;
END $$;

-- Recomputes every rollup for the whole UTC days covering [from_ts, to_ts) from the raw clicks still
-- retained (a range whose partitions retention dropped would be emptied: callers keep to retained
-- months). EXCLUSIVE locks, clicks first as the worker's statement takes them, hold the worker back
-- for the duration (reads continue); its queued batches then add on top of the rebuilt figures.
CREATE FUNCTION links.rebuild_rollups(from_ts timestamptz, to_ts timestamptz) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  d0 timestamptz := date_trunc('day', from_ts, 'UTC');
  d1 timestamptz := date_trunc('day', to_ts - interval '1 microsecond', 'UTC') + interval '1 day';
  n bigint;
BEGIN
  IF from_ts IS NULL OR to_ts IS NULL OR to_ts <= from_ts THEN
    RAISE EXCEPTION 'rebuild_rollups: from_ts must be before to_ts' USING ERRCODE = '22023';
  END IF;
  LOCK TABLE links.clicks, links.daily_visitors, links.hourly_stats, links.account_hourly_stats, links.account_daily_stats,
             links.daily_stats IN EXCLUSIVE MODE;
  DELETE FROM links.hourly_stats WHERE hour >= d0 AND hour < d1;
  DELETE FROM links.account_hourly_stats WHERE hour >= d0 AND hour < d1;
  DELETE FROM links.account_daily_stats WHERE day >= (d0 AT TIME ZONE 'UTC')::date AND day < (d1 AT TIME ZONE 'UTC')::date;
  DELETE FROM links.daily_stats WHERE day >= (d0 AT TIME ZONE 'UTC')::date AND day < (d1 AT TIME ZONE 'UTC')::date;
  DELETE FROM links.daily_visitors WHERE day >= (d0 AT TIME ZONE 'UTC')::date AND day < (d1 AT TIME ZONE 'UTC')::date;

  INSERT INTO links.daily_visitors (link_id, day, visitor_hash)
  SELECT DISTINCT link_id, (clicked_at AT TIME ZONE 'UTC')::date, visitor_hash
    FROM links.clicks WHERE clicked_at >= d0 AND clicked_at < d1 AND NOT is_bot AND visitor_hash IS NOT NULL;

  INSERT INTO links.hourly_stats
  SELECT link_id, hour, links.click_dims_key(is_bot, country, device, browser, os, referrer_host, utm_source,
                                             utm_medium, utm_campaign, variant, destination),
         is_bot, country, device, browser, os, referrer_host, utm_source, utm_medium, utm_campaign, variant,
         destination, count(*), count(*) FILTER (WHERE is_new)
    FROM (SELECT link_id, date_trunc('hour', clicked_at, 'UTC') AS hour, is_bot, coalesce(country, '') AS country,
                 coalesce(device, '') AS device, coalesce(browser, '') AS browser, coalesce(os, '') AS os,
                 coalesce(referrer_host, '') AS referrer_host, coalesce(utm_source, '') AS utm_source,
                 coalesce(utm_medium, '') AS utm_medium, coalesce(utm_campaign, '') AS utm_campaign,
                 coalesce(variant, '') AS variant, coalesce(destination, '') AS destination,
                 -- The same rule as the worker: a visitor's first click of the UTC day on the link.
                 (NOT is_bot AND visitor_hash IS NOT NULL AND
                  row_number() OVER (PARTITION BY link_id, is_bot, (clicked_at AT TIME ZONE 'UTC')::date, visitor_hash
                                     ORDER BY clicked_at, stream_id) = 1) AS is_new
            FROM links.clicks WHERE clicked_at >= d0 AND clicked_at < d1) c
   GROUP BY 1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14;
  GET DIAGNOSTICS n = ROW_COUNT;

  INSERT INTO links.account_hourly_stats (owner_id, dimension, hour, value, is_bot, clicks, visitors)
  SELECT l.owner_id, d.dimension, h.hour, d.value, h.is_bot, sum(h.clicks), sum(h.visitors)
    FROM links.hourly_stats h JOIN links.links l ON l.id = h.link_id
         CROSS JOIN LATERAL (VALUES ('total', ''), ('country', h.country), ('device', h.device), ('browser', h.browser),
                                    ('os', h.os), ('referrer_host', h.referrer_host), ('utm_source', h.utm_source),
                                    ('utm_medium', h.utm_medium), ('utm_campaign', h.utm_campaign),
                                    ('variant', h.variant), ('destination', h.destination)) AS d(dimension, value)
   WHERE h.hour >= d0 AND h.hour < d1
   GROUP BY 1, 2, 3, 4, 5;

  INSERT INTO links.account_daily_stats (owner_id, dimension, day, value, is_bot, clicks, visitors)
  SELECT owner_id, dimension, (hour AT TIME ZONE 'UTC')::date, value, is_bot, sum(clicks), sum(visitors)
    FROM links.account_hourly_stats WHERE hour >= d0 AND hour < d1
   GROUP BY 1, 2, 3, 4, 5;

  INSERT INTO links.daily_stats (link_id, day, dimension, value, clicks, visitors)
  SELECT h.link_id, (h.hour AT TIME ZONE 'UTC')::date, d.dimension, d.value, sum(h.clicks), sum(h.visitors)
    FROM links.hourly_stats h
         CROSS JOIN LATERAL (VALUES ('total', ''), ('country', coalesce(nullif(h.country, ''), 'unknown')),
                                    ('device', h.device), ('browser', h.browser), ('os', h.os),
                                    ('referrer', coalesce(nullif(h.referrer_host, ''), 'direct'))) AS d(dimension, value)
   WHERE h.hour >= d0 AND h.hour < d1 AND NOT h.is_bot
   GROUP BY 1, 2, 3, 4;
  RETURN n;
END $$;

-- Reconciliation (rollups == raw) over [from_ts, to_ts), both on UTC hour boundaries: one row per
-- bucket where a rollup's clicks differ from the raw clicks. Raw rows and rollups are written by one statement, so any snapshot must show
-- none; the worker exports the count as linkport_rollup_mismatches.
CREATE FUNCTION links.rollup_mismatches(from_ts timestamptz, to_ts timestamptz)
RETURNS TABLE (rollup text, key text, bucket timestamptz, raw bigint, rolled bigint)
LANGUAGE sql STABLE AS $$
  WITH raw AS (
    SELECT link_id, date_trunc('hour', clicked_at, 'UTC') AS hour, count(*) AS n,
           count(*) FILTER (WHERE NOT is_bot) AS humans
      FROM links.clicks WHERE clicked_at >= from_ts AND clicked_at < to_ts GROUP BY 1, 2
  ), cube AS (
    SELECT link_id, hour, sum(clicks) AS n FROM links.hourly_stats WHERE hour >= from_ts AND hour < to_ts GROUP BY 1, 2
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

-- The analytics API's row type (Hasura: a function must return SETOF a tracked table; "create and
-- track an empty table with the required schema" — hasura.io/docs/2.0/schema/postgres/custom-functions/).
-- Series rows carry `bucket`; breakdown rows carry `dimension`/`value`. Never written: no INSERT grant
-- and a CHECK that refuses every row.
CREATE TABLE links.analytics_rows (
  owner_id  uuid NOT NULL,
  bucket    timestamptz,
  dimension text,
  value     text,
  clicks    bigint NOT NULL,
  visitors  bigint NOT NULL,
  bots      bigint NOT NULL,
  CONSTRAINT analytics_rows_never_stored CHECK (false) NO INHERIT
);

-- The caller's user id from Hasura's session argument (the JSON of X-Hasura-* session variables).
CREATE FUNCTION links.session_user_id(hasura_session json) RETURNS uuid LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  v text := hasura_session ->> 'x-hasura-user-id';
BEGIN
  IF v IS NULL OR v !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
    RAISE EXCEPTION 'analytics needs the x-hasura-user-id session variable (a uuid)' USING ERRCODE = '42501';
  END IF;
  RETURN v::uuid;
END $$;

-- Argument checks shared by both API functions; errors are client errors (SQLSTATE 22023 / 42501).
CREATE FUNCTION links.analytics_scope(hasura_session json, p_link uuid, p_tag uuid, from_ts timestamptz, to_ts timestamptz,
                                      time_zone text)
RETURNS uuid[] LANGUAGE plpgsql STABLE AS $$
DECLARE
  me uuid := links.session_user_id(hasura_session);
  ids uuid[];
BEGIN
  IF from_ts IS NULL OR to_ts IS NULL OR to_ts <= from_ts THEN
    RAISE EXCEPTION 'from_ts must be before to_ts' USING ERRCODE = '22023';
  END IF;
  IF to_ts - from_ts > interval '3 years' THEN
    RAISE EXCEPTION 'the date range is limited to 3 years' USING ERRCODE = '22023';
  END IF;
  -- Asking PostgreSQL to convert is the check (pg_timezone_names reads every zone file: ~50 ms).
  BEGIN
    PERFORM now() AT TIME ZONE time_zone;
  EXCEPTION WHEN invalid_parameter_value OR null_value_not_allowed THEN
    RAISE EXCEPTION 'unknown time zone "%" (an IANA name such as Europe/Berlin)', left(coalesce(time_zone, 'null'), 64) USING ERRCODE = '22023';
  END;
  IF time_zone IS NULL THEN
    RAISE EXCEPTION 'time_zone must not be null' USING ERRCODE = '22023';
  END IF;
  IF p_link IS NOT NULL AND p_tag IS NOT NULL THEN
    RAISE EXCEPTION 'give link_id or tag_id, not both' USING ERRCODE = '22023';
  END IF;
  -- Only the caller's own links ever contribute: another user's link or tag reads as empty.
  IF p_link IS NOT NULL THEN
    SELECT array_agg(id) INTO ids FROM links.links WHERE id = p_link AND owner_id = me;
  ELSIF p_tag IS NOT NULL THEN
    SELECT array_agg(lt.link_id) INTO ids
      FROM links.link_tags lt JOIN links.tags t ON t.id = lt.tag_id JOIN links.links l ON l.id = lt.link_id
     WHERE lt.tag_id = p_tag AND t.owner_id = me AND l.owner_id = me;
  ELSE
    RETURN NULL; -- account-wide
  END IF;
  RETURN coalesce(ids, '{}');
END $$;

CREATE FUNCTION links.analytics_bucket(bucket text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF bucket IS NULL OR bucket NOT IN ('hour', 'day', 'week', 'month') THEN
    RAISE EXCEPTION 'bucket must be hour, day, week or month' USING ERRCODE = '22023';
  END IF;
  RETURN bucket;
END $$;

-- Ranges apply to whole UTC hours: the rollup hours that START in [from_ts, to_ts) (rollups are hourly).
-- Time series: one row per non-empty bucket (bucket = its start, as an instant; week starts on
-- Monday, ISO 8601, as date_trunc does) of [from_ts, to_ts) in `time_zone`, humans in clicks and
-- visitors, bots counted apart in `bots` when include_bots. A filter left NULL does not filter;
-- '' matches "none" (no country, direct, no UTM). Rollups are per UTC hour, so zones whose offset
-- is not a whole hour (Asia/Kolkata, ...) see day edges at the UTC hour before.
CREATE FUNCTION links.analytics_series(
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

-- Top-N breakdown of [from_ts, to_ts) by one dimension (clicks descending, then value), with the
-- same scope and filters as analytics_series. The time zone only validates (totals over an instant
-- range do not depend on it) and is accepted so both functions take the same arguments.
CREATE FUNCTION links.analytics_breakdown(
  hasura_session json,
  dimension text,
  link_id uuid DEFAULT NULL, tag_id uuid DEFAULT NULL,
  top_n int DEFAULT 10, time_zone text DEFAULT 'UTC',
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
  ids uuid[] := links.analytics_scope(hasura_session, link_id, tag_id, t0, t1, time_zone);
  filtered boolean := num_nonnulls(country, device, browser, os, referrer_host, utm_source, utm_medium,
                                   utm_campaign, variant, destination) > 0;
  dim text := analytics_breakdown.dimension;
  -- The whole UTC days inside [t0, t1) (empty when day1 <= day0).
  day0 timestamptz := date_trunc('day', t0 - interval '1 microsecond', 'UTC') + interval '1 day';
  day1 timestamptz := date_trunc('day', t1, 'UTC');
BEGIN
  IF dim IS NULL OR dim NOT IN ('country', 'device', 'browser', 'os', 'referrer_host', 'utm_source', 'utm_medium',
                                'utm_campaign', 'variant', 'destination') THEN
    RAISE EXCEPTION 'dimension must be one of country, device, browser, os, referrer_host, utm_source, utm_medium, utm_campaign, variant, destination'
      USING ERRCODE = '22023';
  END IF;
  IF top_n IS NULL OR top_n < 1 OR top_n > 1000 THEN
    RAISE EXCEPTION 'top_n must be between 1 and 1000' USING ERRCODE = '22023';
  END IF;
  IF ids IS NULL AND NOT filtered THEN
    -- Whole UTC days of the range from the daily marginals, the partial edges from the hourly ones.
    RETURN QUERY
      SELECT me, NULL::timestamptz, dim, a.value,
             coalesce(sum(a.clicks) FILTER (WHERE NOT a.is_bot), 0)::bigint,
             coalesce(sum(a.visitors) FILTER (WHERE NOT a.is_bot), 0)::bigint,
             coalesce(sum(a.clicks) FILTER (WHERE a.is_bot), 0)::bigint AS b
        FROM (SELECT d.value, d.is_bot, d.clicks, d.visitors FROM links.account_daily_stats d
               WHERE d.owner_id = me AND d.dimension = dim AND d.day >= (day0 AT TIME ZONE 'UTC')::date
                 AND d.day < (day1 AT TIME ZONE 'UTC')::date AND (include_bots OR NOT d.is_bot)
              UNION ALL
              SELECT h.value, h.is_bot, h.clicks, h.visitors FROM links.account_hourly_stats h
               WHERE h.owner_id = me AND h.dimension = dim AND h.hour >= t0 AND h.hour < t1
                 AND NOT (h.hour >= day0 AND h.hour < day1) AND (include_bots OR NOT h.is_bot)) a
       GROUP BY a.value HAVING sum(a.clicks) <> 0 ORDER BY 5 DESC, 7 DESC, a.value LIMIT top_n;
    RETURN;
  END IF;
  RETURN QUERY
    SELECT me, NULL::timestamptz, dim, v.value,
           coalesce(sum(v.clicks) FILTER (WHERE NOT v.is_bot), 0)::bigint,
           coalesce(sum(v.visitors) FILTER (WHERE NOT v.is_bot), 0)::bigint,
           coalesce(sum(v.clicks) FILTER (WHERE v.is_bot), 0)::bigint
      FROM (SELECT CASE dim WHEN 'country' THEN h.country WHEN 'device' THEN h.device WHEN 'browser' THEN h.browser
                            WHEN 'os' THEN h.os WHEN 'referrer_host' THEN h.referrer_host
                            WHEN 'utm_source' THEN h.utm_source WHEN 'utm_medium' THEN h.utm_medium
                            WHEN 'utm_campaign' THEN h.utm_campaign WHEN 'variant' THEN h.variant
                            ELSE h.destination END AS value, h.clicks, h.visitors, h.is_bot
              FROM links.hourly_stats h
             WHERE (CASE WHEN ids IS NULL THEN h.link_id IN (SELECT l.id FROM links.links l WHERE l.owner_id = me)
                         ELSE h.link_id = ANY (ids) END)
               AND h.hour >= t0 AND h.hour < t1 AND (include_bots OR NOT h.is_bot)
               AND (analytics_breakdown.country IS NULL OR h.country = analytics_breakdown.country)
               AND (analytics_breakdown.device IS NULL OR h.device = analytics_breakdown.device)
               AND (analytics_breakdown.browser IS NULL OR h.browser = analytics_breakdown.browser)
               AND (analytics_breakdown.os IS NULL OR h.os = analytics_breakdown.os)
               AND (analytics_breakdown.referrer_host IS NULL OR h.referrer_host = analytics_breakdown.referrer_host)
               AND (analytics_breakdown.utm_source IS NULL OR h.utm_source = analytics_breakdown.utm_source)
               AND (analytics_breakdown.utm_medium IS NULL OR h.utm_medium = analytics_breakdown.utm_medium)
               AND (analytics_breakdown.utm_campaign IS NULL OR h.utm_campaign = analytics_breakdown.utm_campaign)
               AND (analytics_breakdown.variant IS NULL OR h.variant = analytics_breakdown.variant)
               AND (analytics_breakdown.destination IS NULL OR h.destination = analytics_breakdown.destination)) v
     GROUP BY v.value ORDER BY 5 DESC, 7 DESC, v.value LIMIT top_n;
END $$;

-- The click worker's counter bumps skip the link triggers: redirect_service may update only
-- click_count and last_clicked_at (column grants in the links migration), which before_write leaves
-- alone (content_changed() ignores them: no updated_at, no code or password work) and which
-- notify_changed() never announces — yet both ran per row, ~30 % of a batch's time
-- (bench/drain.ts). The WHEN clause is evaluated without calling the function at all.
DROP TRIGGER links_before_write ON links.links;
CREATE TRIGGER links_before_write BEFORE INSERT OR UPDATE ON links.links
  FOR EACH ROW WHEN (current_user <> 'redirect_service') EXECUTE FUNCTION links.before_write();
DROP TRIGGER links_notify_changed ON links.links;
CREATE TRIGGER links_notify_changed AFTER INSERT OR UPDATE OR DELETE ON links.links
  FOR EACH ROW WHEN (current_user <> 'redirect_service') EXECUTE FUNCTION links.notify_changed();

GRANT SELECT, INSERT, UPDATE ON links.hourly_stats, links.account_hourly_stats, links.account_daily_stats TO redirect_service;
GRANT UPDATE (utm_source, utm_medium, utm_campaign, variant, destination) ON links.clicks TO redirect_service;
REVOKE INSERT, UPDATE, DELETE ON links.analytics_rows FROM links_admin;
REVOKE ALL ON FUNCTION links.rebuild_rollups(timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION links.rebuild_rollups(timestamptz, timestamptz) TO links_admin;

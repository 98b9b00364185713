-- links: the GraphQL-facing tables (tracked by Hasura, hasura/metadata) plus the click pipeline's.
-- Everything that must hold whichever engine writes a link lives here, in the database.

CREATE TABLE links.domains (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  owner_id    uuid NOT NULL REFERENCES core.users(id) ON DELETE CASCADE,
  hostname    text NOT NULL UNIQUE CHECK (hostname ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$'),
  verified    boolean NOT NULL DEFAULT false,
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- An absolute http(s) URL with a host, no whitespace or control characters, at most 2048 chars
-- (RFC 3986 §3; the length most browsers and peers accept).
CREATE FUNCTION links.is_http_url(u text) RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT u IS NOT NULL
     AND length(u) <= 2048
     AND u ~* '^https?://[^\s/?#@]+(@[^\s/?#@]+)?(:[0-9]{1,5})?([/?#][^\s]*)?$'
     AND u !~ '[[:cntrl:]]'
$$;

-- Short codes: custom ones are 3–64 chars of [A-Za-z0-9_-]; generated ones use base 62 without the
-- look-alikes 0 O o 1 l I (so a code read aloud or from print is unambiguous).
CREATE FUNCTION links.code_alphabet() RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT '23456789abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ'
$$;

-- Words a code may never be (case-insensitive): the redirect service's own paths and the gateway's.
CREATE FUNCTION links.is_reserved_code(c text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
  SELECT lower(c) = ANY (ARRAY['health', 'healthz', 'metrics', 'favicon.ico', 'robots.txt', 'v1', 'v2', 'api',
    'admin', 'static', 'assets', 'login', 'logout', 'register', 'docs', 'console', 'graphql', 'well-known',
    '.well-known', 'sitemap.xml', 'qr', 'preview', 'null', 'undefined'])
$$;

CREATE TABLE links.links (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  owner_id        uuid NOT NULL REFERENCES core.users(id) ON DELETE CASCADE,
  domain_id       uuid REFERENCES links.domains(id) ON DELETE SET NULL,
  code            text NOT NULL UNIQUE,
  destination     text NOT NULL CONSTRAINT destination_is_http_url CHECK (links.is_http_url(destination)),
  title           text CHECK (title IS NULL OR length(title) <= 500),
  description     text CHECK (description IS NULL OR length(description) <= 2000),
  redirect_type   smallint NOT NULL DEFAULT 302 CHECK (redirect_type IN (301, 302, 307, 308)),
  forward_query   boolean NOT NULL DEFAULT true,
  utm_source      text,
  utm_medium      text,
  utm_campaign    text,
  utm_term        text,
  utm_content     text,
  status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled', 'archived')),
  expires_at      timestamptz,
  expired_url     text CONSTRAINT expired_url_is_http_url CHECK (expired_url IS NULL OR links.is_http_url(expired_url)),
  max_clicks      bigint CHECK (max_clicks IS NULL OR max_clicks > 0),
  -- Write the plain password; the trigger below stores a bcrypt hash (pgcrypto) instead.
  password        text,
  ios_url         text CONSTRAINT ios_url_is_http_url CHECK (ios_url IS NULL OR links.is_http_url(ios_url)),
  android_url     text CONSTRAINT android_url_is_http_url CHECK (android_url IS NULL OR links.is_http_url(android_url)),
  -- {"DE": "https://…", "FR": "https://…"}: ISO 3166-1 alpha-2 → destination.
  geo_targets     jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(geo_targets) = 'object'),
  -- [{"url": "https://…", "weight": 50}, …]: weighted A/B destinations.
  ab_variants     jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(ab_variants) = 'array'),
  image_asset_id  uuid REFERENCES media.assets(id) ON DELETE SET NULL,
  click_count     bigint NOT NULL DEFAULT 0,
  last_clicked_at timestamptz,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX links_owner_idx ON links.links (owner_id, created_at DESC);

CREATE TABLE links.tags (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  owner_id    uuid NOT NULL REFERENCES core.users(id) ON DELETE CASCADE,
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 50),
  color       text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (owner_id, name)
);

CREATE TABLE links.link_tags (
  link_id  uuid NOT NULL REFERENCES links.links(id) ON DELETE CASCADE,
  tag_id   uuid NOT NULL REFERENCES links.tags(id) ON DELETE CASCADE,
  PRIMARY KEY (link_id, tag_id)
);

CREATE FUNCTION links.before_write() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  alphabet text := links.code_alphabet();
  candidate text;
  attempt int := 0;
BEGIN
  IF NEW.code IS NULL OR NEW.code = '' THEN
    LOOP
      attempt := attempt + 1;
      -- 7 characters of a 56-letter alphabet: 1.7e12 codes; gen_random_bytes is a CSPRNG.
      SELECT string_agg(substr(alphabet, 1 + (get_byte(b, i) % length(alphabet)), 1), '')
        INTO candidate
        FROM (SELECT gen_random_bytes(7) AS b) s, generate_series(0, 6) AS i;
      EXIT WHEN NOT EXISTS (SELECT 1 FROM links.links WHERE code = candidate);
      IF attempt >= 10 THEN
        RAISE EXCEPTION 'could not generate a unique short code' USING ERRCODE = 'unique_violation';
      END IF;
    END LOOP;
    NEW.code := candidate;
  ELSIF TG_OP = 'INSERT' OR NEW.code IS DISTINCT FROM OLD.code THEN
    IF length(NEW.code) NOT BETWEEN 3 AND 64 OR NEW.code !~ '^[A-Za-z0-9_-]+$' THEN
      RAISE EXCEPTION 'invalid short code "%": use 3 to 64 letters, digits, "-" or "_"', left(NEW.code, 80)
        USING ERRCODE = 'check_violation', CONSTRAINT = 'code_format';
    END IF;
    IF links.is_reserved_code(NEW.code) THEN
      RAISE EXCEPTION 'short code "%" is reserved', NEW.code
        USING ERRCODE = 'check_violation', CONSTRAINT = 'code_not_reserved';
    END IF;
  END IF;
  IF NEW.password IS NOT NULL AND NEW.password = '' THEN
    NEW.password := NULL;
  ELSIF NEW.password IS NOT NULL AND (TG_OP = 'INSERT' OR NEW.password IS DISTINCT FROM OLD.password)
        AND NEW.password !~ '^\$2[aby]\$' THEN
    NEW.password := public.crypt(NEW.password, public.gen_salt('bf', 8));
  END IF;
  IF TG_OP = 'UPDATE' THEN
    NEW.updated_at := CASE WHEN links.content_changed(OLD, NEW) THEN now() ELSE OLD.updated_at END;
  END IF;
  RETURN NEW;
END $$;

-- Click bookkeeping (click_count, last_clicked_at) is not an edit: it neither touches updated_at
-- nor evicts the redirect caches.
CREATE FUNCTION links.content_changed(o links.links, n links.links) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
  SELECT (to_jsonb(o) - 'click_count' - 'last_clicked_at' - 'updated_at')
         IS DISTINCT FROM (to_jsonb(n) - 'click_count' - 'last_clicked_at' - 'updated_at')
$$;

CREATE TRIGGER links_before_write BEFORE INSERT OR UPDATE ON links.links
  FOR EACH ROW EXECUTE FUNCTION links.before_write();

-- Cache invalidation for the redirect service: every node LISTENs on link_changed.
CREATE FUNCTION links.notify_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    PERFORM pg_notify('link_changed', OLD.code);
  ELSIF TG_OP = 'INSERT' THEN
    PERFORM pg_notify('link_changed', NEW.code);
  ELSIF links.content_changed(OLD, NEW) THEN
    PERFORM pg_notify('link_changed', NEW.code);
    IF NEW.code IS DISTINCT FROM OLD.code THEN
      PERFORM pg_notify('link_changed', OLD.code);
    END IF;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER links_notify_changed AFTER INSERT OR UPDATE OR DELETE ON links.links
  FOR EACH ROW EXECUTE FUNCTION links.notify_changed();

-- Raw clicks, partitioned by month (retention drops whole partitions). The stream entry id is the
-- idempotency key: a replayed entry conflicts and is a no-op.
CREATE TABLE links.clicks (
  stream_id     text NOT NULL,
  clicked_at    timestamptz NOT NULL,
  link_id       uuid NOT NULL REFERENCES links.links(id) ON DELETE CASCADE,
  code          text NOT NULL,
  visitor_hash  text,
  user_agent    text,
  referrer      text,
  referrer_host text,
  country       text,
  device        text,
  browser       text,
  os            text,
  is_bot        boolean NOT NULL DEFAULT false,
  -- The producer's own id for the click. A redirect node that re-sends an XADD whose reply was lost
  -- (Redis died mid-command) creates a second stream entry with a new stream id; this key makes that
  -- copy a no-op too, so a click is counted once across Redis failures as well as worker replays.
  click_id      text,
  PRIMARY KEY (stream_id, clicked_at)
) PARTITION BY RANGE (clicked_at);
CREATE TABLE links.clicks_default PARTITION OF links.clicks DEFAULT;
CREATE INDEX clicks_link_idx ON links.clicks (link_id, clicked_at);
CREATE UNIQUE INDEX clicks_click_id_key ON links.clicks (click_id, clicked_at);

-- Creates the monthly partitions covering [from, from + months). SECURITY DEFINER: the worker's
-- role may add partitions without owning the table. A month whose rows already sit in the default
-- partition is left there (PostgreSQL refuses to create it), which loses nothing.
CREATE FUNCTION links.ensure_click_partitions(from_ts timestamptz, months int) RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, links AS $$
DECLARE
  m date;
  created int := 0;
  name text;
BEGIN
  FOR i IN 0 .. months - 1 LOOP
    m := (date_trunc('month', from_ts AT TIME ZONE 'UTC') + make_interval(months => i))::date;
    name := 'clicks_' || to_char(m, 'YYYY_MM');
    IF to_regclass('links.' || name) IS NULL THEN
      BEGIN
        EXECUTE format('CREATE TABLE links.%I PARTITION OF links.clicks FOR VALUES FROM (%L) TO (%L)',
          name, (m::timestamp AT TIME ZONE 'UTC'), ((m + interval '1 month')::timestamp AT TIME ZONE 'UTC'));
        created := created + 1;
      EXCEPTION WHEN check_violation THEN
        RAISE NOTICE 'partition % not created: rows for that month are in clicks_default', name;
      END;
    END IF;
  END LOOP;
  RETURN created;
END $$;

-- Retention: drops monthly partitions that end before `before_ts`; returns how many.
CREATE FUNCTION links.drop_click_partitions_before(before_ts timestamptz) RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, links AS $$
DECLARE
  r record;
  dropped int := 0;
BEGIN
  FOR r IN
    SELECT c.relname
      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'links.clicks'::regclass AND c.relname ~ '^clicks_[0-9]{4}_[0-9]{2}$'
  LOOP
    IF (to_date(substr(r.relname, 8), 'YYYY_MM') + interval '1 month') <= (before_ts AT TIME ZONE 'UTC') THEN
      EXECUTE format('DROP TABLE links.%I', r.relname);
      dropped := dropped + 1;
    END IF;
  END LOOP;
  RETURN dropped;
END $$;

SELECT links.ensure_click_partitions(now() - interval '1 month', 4);

-- Daily rollups per link: dimension 'total' (value ''), 'country', 'device', 'browser', 'referrer'.
CREATE TABLE links.daily_stats (
  link_id    uuid NOT NULL REFERENCES links.links(id) ON DELETE CASCADE,
  day        date NOT NULL,
  dimension  text NOT NULL CHECK (dimension IN ('total', 'country', 'device', 'browser', 'os', 'referrer')),
  value      text NOT NULL DEFAULT '',
  clicks     bigint NOT NULL DEFAULT 0,
  visitors   bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (link_id, day, dimension, value)
);

-- One row per (link, day, visitor): the set behind `visitors` (hashes rotate daily, never raw IPs).
CREATE TABLE links.daily_visitors (
  link_id       uuid NOT NULL REFERENCES links.links(id) ON DELETE CASCADE,
  day           date NOT NULL,
  visitor_hash  text NOT NULL,
  PRIMARY KEY (link_id, day, visitor_hash)
);

-- The redirect service reads links and writes clicks and rollups, nothing else (DESIGN.md).
GRANT SELECT ON links.links, links.domains TO redirect_service;
GRANT UPDATE (click_count, last_clicked_at) ON links.links TO redirect_service;
GRANT SELECT, INSERT ON links.clicks TO redirect_service;
GRANT SELECT, INSERT, UPDATE ON links.daily_stats, links.daily_visitors TO redirect_service;
REVOKE ALL ON FUNCTION links.ensure_click_partitions(timestamptz, int) FROM PUBLIC;
REVOKE ALL ON FUNCTION links.drop_click_partitions_before(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION links.ensure_click_partitions(timestamptz, int) TO redirect_service, links_admin;
GRANT EXECUTE ON FUNCTION links.drop_click_partitions_before(timestamptz) TO redirect_service;

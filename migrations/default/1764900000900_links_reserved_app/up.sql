-- The web dashboard is served through the gateway at /app/ (web/README.md "Routing"): its router
-- (gateway/dynamic/web.yml) matches `/`, `/app` and `/app/…` and outranks the short-link catch-all,
-- so a link with the code `app` could never be followed. Reserving the word makes the database
-- refuse it whichever engine writes the link (same rule and reasoning as
-- 1764800000200_links_reserved_gateway_paths: case-insensitive, since `App` would be a lookalike).
CREATE OR REPLACE FUNCTION links.is_reserved_code(c text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
  SELECT lower(c) = ANY (ARRAY['health', 'healthz', 'metrics', 'favicon.ico', 'robots.txt', 'v1', 'v2', 'api',
    'admin', 'static', 'assets', 'login', 'logout', 'register', 'docs', 'console', 'graphql', 'well-known',
    '.well-known', 'sitemap.xml', 'qr', 'preview', 'null', 'undefined',
    'ping', 'dashboard', 'debug', 'livez', 'readyz',
    'app'])
$$;

-- A link created earlier with the code `app` keeps its row; say so instead of failing on user data.
DO $$
DECLARE n bigint;
BEGIN
  SELECT count(*) INTO n FROM links.links WHERE links.is_reserved_code(code);
  IF n > 0 THEN
    RAISE WARNING '% existing link(s) use a code that is now reserved (shadowed by the web app at /app/); rename them', n;
  END IF;
END $$;

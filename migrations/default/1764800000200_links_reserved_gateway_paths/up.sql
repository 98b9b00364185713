-- Short codes may not be a first path segment the gateway answers itself: those requests never
-- reach the redirect service, so such a link could never be followed (issue 11: `ping` was
-- accepted, and the gateway's `/ping` shadows it). The gateway's own paths (gateway/dynamic/*.yml,
-- gateway/src/app.ts) are `/ping` and `/v1/...`; Traefik, which the gateway reproduces and which
-- production may run instead, also serves `/api`, `/dashboard`, `/debug` and `/metrics` when its
-- internal routers are enabled; `/health*`, `/livez`, `/readyz` are the probe paths of our services
-- and of Kubernetes. Comparison stays case-insensitive: paths are matched as typed, but a code
-- differing only in case from a route is a phishing lookalike.
CREATE OR REPLACE FUNCTION links.is_reserved_code(c text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
  SELECT lower(c) = ANY (ARRAY['health', 'healthz', 'metrics', 'favicon.ico', 'robots.txt', 'v1', 'v2', 'api',
    'admin', 'static', 'assets', 'login', 'logout', 'register', 'docs', 'console', 'graphql', 'well-known',
    '.well-known', 'sitemap.xml', 'qr', 'preview', 'null', 'undefined',
    'ping', 'dashboard', 'debug', 'livez', 'readyz'])
$$;

-- Links created before this rule with a code that is now reserved keep working where they did
-- (nowhere through the gateway); say so instead of failing the migration on user data.
DO $$
DECLARE n bigint;
BEGIN
  SELECT count(*) INTO n FROM links.links WHERE links.is_reserved_code(code);
  IF n > 0 THEN
    RAISE WARNING '% existing link(s) use a code that is now reserved (shadowed by a gateway path); rename them', n;
  END IF;
END $$;

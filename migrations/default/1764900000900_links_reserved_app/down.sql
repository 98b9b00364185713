CREATE OR REPLACE FUNCTION links.is_reserved_code(c text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
  SELECT lower(c) = ANY (ARRAY['health', 'healthz', 'metrics', 'favicon.ico', 'robots.txt', 'v1', 'v2', 'api',
    'admin', 'static', 'assets', 'login', 'logout', 'register', 'docs', 'console', 'graphql', 'well-known',
    '.well-known', 'sitemap.xml', 'qr', 'preview', 'null', 'undefined',
    'ping', 'dashboard', 'debug', 'livez', 'readyz'])
$$;

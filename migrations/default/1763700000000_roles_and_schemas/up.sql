-- Schemas per service and one login role per service (DESIGN.md "Data").
-- Roles are cluster-wide: create them only when missing, so several databases of one cluster (tests,
-- staging) can each run this. Passwords are NOT set here: migrations are plain SQL that Hasura's
-- cli-migrations image also applies, so the runner (or compose's init script) sets them from config.
DO $$
DECLARE r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['core_service', 'media_service', 'redirect_service', 'links_admin'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
      EXECUTE format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE', r);
    END IF;
  END LOOP;
END $$;

CREATE EXTENSION IF NOT EXISTS pgcrypto;

CREATE SCHEMA core;
CREATE SCHEMA media;
CREATE SCHEMA links;

-- Nobody but the owner gets anything by default; each role is granted exactly its own area.
REVOKE ALL ON SCHEMA public FROM PUBLIC;
REVOKE ALL ON SCHEMA core, media, links FROM PUBLIC;

GRANT USAGE ON SCHEMA core TO core_service;
GRANT USAGE ON SCHEMA media TO media_service;
GRANT USAGE ON SCHEMA links TO links_admin, redirect_service;
-- pgcrypto lives in public; functions there are called by triggers running as their definer.
GRANT USAGE ON SCHEMA public TO links_admin, redirect_service;

ALTER DEFAULT PRIVILEGES IN SCHEMA core GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO core_service;
ALTER DEFAULT PRIVILEGES IN SCHEMA core GRANT USAGE, SELECT ON SEQUENCES TO core_service;
ALTER DEFAULT PRIVILEGES IN SCHEMA media GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO media_service;
ALTER DEFAULT PRIVILEGES IN SCHEMA media GRANT USAGE, SELECT ON SEQUENCES TO media_service;
ALTER DEFAULT PRIVILEGES IN SCHEMA links GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO links_admin;
ALTER DEFAULT PRIVILEGES IN SCHEMA links GRANT USAGE, SELECT ON SEQUENCES TO links_admin;

-- hdb_catalog holds migration state (created by the runner) and, for our Hasura-compatible engine,
-- its metadata store (hdb_catalog.hdb_metadata, as Hasura keeps it). The engine connects as
-- links_admin, so that role may create its catalog tables there, and nothing more.
CREATE SCHEMA IF NOT EXISTS hdb_catalog;
GRANT USAGE, CREATE ON SCHEMA hdb_catalog TO links_admin;

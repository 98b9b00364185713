ALTER DEFAULT PRIVILEGES IN SCHEMA core REVOKE ALL ON TABLES FROM core_service;
ALTER DEFAULT PRIVILEGES IN SCHEMA core REVOKE ALL ON SEQUENCES FROM core_service;
ALTER DEFAULT PRIVILEGES IN SCHEMA media REVOKE ALL ON TABLES FROM media_service;
ALTER DEFAULT PRIVILEGES IN SCHEMA media REVOKE ALL ON SEQUENCES FROM media_service;
ALTER DEFAULT PRIVILEGES IN SCHEMA links REVOKE ALL ON TABLES FROM links_admin;
ALTER DEFAULT PRIVILEGES IN SCHEMA links REVOKE ALL ON SEQUENCES FROM links_admin;
REVOKE ALL ON SCHEMA hdb_catalog FROM links_admin;
DROP TABLE IF EXISTS hdb_catalog.hdb_metadata;
DROP SCHEMA links CASCADE;
DROP SCHEMA media CASCADE;
DROP SCHEMA core CASCADE;
REVOKE USAGE ON SCHEMA public FROM links_admin, redirect_service;
GRANT ALL ON SCHEMA public TO PUBLIC;
-- Roles are cluster-wide: drop each only when no other database still depends on it.
DO $$
DECLARE r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['core_service', 'media_service', 'redirect_service', 'links_admin'] LOOP
    BEGIN
      EXECUTE format('DROP ROLE IF EXISTS %I', r);
    EXCEPTION WHEN dependent_objects_still_exist THEN
      RAISE NOTICE 'role % kept: other databases depend on it', r;
    END;
  END LOOP;
END $$;

DO $$
BEGIN
  IF to_regclass('hdb_catalog.event_log') IS NOT NULL THEN
    REVOKE INSERT ON hdb_catalog.event_log FROM redirect_service;
  END IF;
END $$;
ALTER DEFAULT PRIVILEGES FOR ROLE links_admin IN SCHEMA hdb_catalog REVOKE INSERT ON TABLES FROM redirect_service;
REVOKE USAGE ON SCHEMA hdb_catalog FROM redirect_service;
REVOKE TRIGGER ON links.links FROM links_admin;

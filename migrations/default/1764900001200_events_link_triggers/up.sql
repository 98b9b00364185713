-- The engine's event trigger on links.links (hasura/metadata links_links.yaml `links_webhooks`,
-- events/README.md): Hasura creates the SQL trigger as its own role, which needs TRIGGER on the
-- table (hasura.io/docs/2.0/deployment/postgres-requirements: "the Postgres user must have
-- TRIGGER privileges on the tables"); hasura/engine/src/events/start.ts warns when it is missing.
GRANT TRIGGER ON links.links TO links_admin;

-- The trigger function runs as whoever writes the row, so the click worker's counter update
-- (redirect_service) records its event through hdb_catalog.insert_event_log like the engine's own
-- writes: the same transaction as the change, whichever process wrote it (issue 15 §1). The
-- engine creates hdb_catalog.event_log at startup as links_admin, hence the default privilege,
-- and the direct grant when it already exists.
GRANT USAGE ON SCHEMA hdb_catalog TO redirect_service;
ALTER DEFAULT PRIVILEGES FOR ROLE links_admin IN SCHEMA hdb_catalog GRANT INSERT ON TABLES TO redirect_service;
DO $$
BEGIN
  IF to_regclass('hdb_catalog.event_log') IS NOT NULL THEN
    GRANT INSERT ON hdb_catalog.event_log TO redirect_service;
  END IF;
END $$;

-- The account marginals' foreign keys to core.users go too (issue 16 §2; see
-- 1764900001800_links_ingest_fewer_writes for the links side): per 1,000 varied clicks a batch
-- inserted ~870 new account_hourly_stats / account_daily_stats rows, each with its own
-- referential-integrity check (SELECT ... FOR KEY SHARE on core.users).
-- They cannot fail. Every writer takes owner_id from a link in the same transaction:
-- - the ingest functions join links.links for the owner of links whose raw clicks they insert, and
--   those clicks' foreign-key check holds a KEY SHARE lock on each link until COMMIT; deleting the
--   owner cascades to its links (links.links.owner_id ON DELETE CASCADE), which waits for that lock
--   — or, when the owner's delete came first, that check fails and the batch rolls back whole;
-- - links.shift_account_stats (a link deleted or given to another owner) checks the owner exists,
--   and the link's own owner_id foreign key (checked at the end of that UPDATE) holds the new
--   owner the same way.
-- Deletes stay correct: a statement trigger on core.users removes the deleted owners' rows. It
-- fires after the row-level AFTER triggers of its statement, among them the cascade to links.links
-- (docs/trigger-definition.html: "row-level AFTER triggers fire at the end of the statement (but
-- before any statement-level AFTER triggers)"), so a cascade that waited for a batch has run, and in
-- READ COMMITTED the trigger's DELETEs take a snapshot that sees that batch's rows.
ALTER TABLE links.account_hourly_stats DROP CONSTRAINT account_hourly_stats_owner_id_fkey;
ALTER TABLE links.account_daily_stats DROP CONSTRAINT account_daily_stats_owner_id_fkey;

CREATE FUNCTION links.users_delete_account_stats() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, links AS $$
BEGIN
  DELETE FROM links.account_hourly_stats a USING gone g WHERE a.owner_id = g.id;
  DELETE FROM links.account_daily_stats a USING gone g WHERE a.owner_id = g.id;
  RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION links.users_delete_account_stats() FROM PUBLIC;
CREATE TRIGGER users_delete_account_stats AFTER DELETE ON core.users
  REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION links.users_delete_account_stats();

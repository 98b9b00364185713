DROP TRIGGER users_delete_account_stats ON core.users;
DROP FUNCTION links.users_delete_account_stats();
ALTER TABLE links.account_daily_stats ADD CONSTRAINT account_daily_stats_owner_id_fkey
  FOREIGN KEY (owner_id) REFERENCES core.users(id) ON DELETE CASCADE;
ALTER TABLE links.account_hourly_stats ADD CONSTRAINT account_hourly_stats_owner_id_fkey
  FOREIGN KEY (owner_id) REFERENCES core.users(id) ON DELETE CASCADE;

DROP INDEX media.assets_verify_idx;
ALTER TABLE media.assets DROP COLUMN quarantine;
ALTER TABLE media.assets DROP COLUMN verified_at;
-- The older schema has no quarantined state; failed is the closest (never served, purged later).
UPDATE media.assets SET status = 'failed' WHERE status = 'quarantined';
ALTER TABLE media.assets DROP CONSTRAINT assets_status_check;
ALTER TABLE media.assets ADD CONSTRAINT assets_status_check
  CHECK (status IN ('pending', 'ready', 'failed', 'expiring', 'deleting', 'deleted'));

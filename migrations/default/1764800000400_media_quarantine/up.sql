-- media: ready assets are re-checked against storage (issue 11 §6). A ready asset whose object no
-- longer matches what complete verified (ETag, size, content type — or is gone) becomes
-- `quarantined`: media stops handing out URLs for it and removes a public object from the public
-- prefix. `quarantine` records what storage held when the mismatch was seen; `verified_at` is when
-- the object last matched, so the periodic verifier re-checks the stalest assets first.
ALTER TABLE media.assets DROP CONSTRAINT assets_status_check;
ALTER TABLE media.assets ADD CONSTRAINT assets_status_check
  CHECK (status IN ('pending', 'ready', 'failed', 'quarantined', 'expiring', 'deleting', 'deleted'));
ALTER TABLE media.assets ADD COLUMN verified_at timestamptz;
ALTER TABLE media.assets ADD COLUMN quarantine jsonb;
CREATE INDEX assets_verify_idx ON media.assets (verified_at NULLS FIRST, id) WHERE status = 'ready';

-- media: asset records and multipart upload sessions (owned by media-service).
-- Status lifecycle: pending → ready | failed; pending → expiring (stale, being removed by the expiry
-- job); any → deleting → deleted. `deleting`/`expiring` are claimed before the storage call and only
-- advanced after it succeeds, so a failed storage call never leaves a `ready` row without its object
-- and a crash mid-way is retried by the expiry job. `deleted` rows are tombstones so a repeated DELETE
-- answers 204 to the owner (idempotent) and 404 to anyone else; the job purges them later.
CREATE TABLE media.assets (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  owner_id      uuid NOT NULL REFERENCES core.users(id) ON DELETE CASCADE,
  bucket        text NOT NULL,
  object_key    text NOT NULL UNIQUE,
  filename      text NOT NULL CHECK (length(filename) BETWEEN 1 AND 255),
  content_type  text NOT NULL,
  size          bigint NOT NULL CHECK (size > 0),
  visibility    text NOT NULL CHECK (visibility IN ('public', 'private')),
  status        text NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'ready', 'failed', 'expiring', 'deleting', 'deleted')),
  checksum      text,
  etag          text,
  upload_expires_at timestamptz NOT NULL,
  completed_at  timestamptz,
  deleted_at    timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX assets_owner_idx ON media.assets (owner_id, created_at DESC, id DESC);
CREATE INDEX assets_pending_idx ON media.assets (upload_expires_at) WHERE status = 'pending';
CREATE INDEX assets_cleanup_idx ON media.assets (updated_at) WHERE status IN ('expiring', 'deleting', 'deleted', 'failed');

-- Multipart uploads: R2 requires equal non-trailing part sizes, so the part size is fixed here.
CREATE TABLE media.upload_sessions (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  asset_id    uuid NOT NULL UNIQUE REFERENCES media.assets(id) ON DELETE CASCADE,
  upload_id   text NOT NULL,
  part_size   bigint NOT NULL CHECK (part_size > 0),
  part_count  integer NOT NULL CHECK (part_count BETWEEN 1 AND 10000),
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION media.touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END $$;
CREATE TRIGGER assets_updated_at BEFORE UPDATE ON media.assets FOR EACH ROW EXECUTE FUNCTION media.touch_updated_at();

-- Creates an asset (and its multipart session) only if the owner's pending + ready bytes stay within
-- p_quota; returns no row otherwise. One round trip for media-service's hot path (POST uploads).
-- Correct under concurrency: the per-owner advisory lock orders a user's uploads, and in READ
-- COMMITTED each statement of a volatile plpgsql function takes a fresh snapshot (PostgreSQL docs
-- "Transaction Isolation" §13.2.1), so the sum, taken after the lock, sees every upload committed by
-- the previous lock holder (whose lock lasted until its commit).
CREATE FUNCTION media.create_asset_within_quota(
  p_id uuid, p_owner uuid, p_bucket text, p_key text, p_filename text, p_content_type text, p_size bigint,
  p_visibility text, p_checksum text, p_pending_seconds double precision, p_quota bigint,
  p_upload_id text, p_part_size bigint, p_part_count integer
) RETURNS SETOF media.assets LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended('media.quota:' || p_owner::text, 0));
  IF (SELECT coalesce(sum(size), 0) FROM media.assets WHERE owner_id = p_owner AND status IN ('pending', 'ready')) + p_size > p_quota THEN
    RETURN;
  END IF;
  RETURN QUERY
    INSERT INTO media.assets (id, owner_id, bucket, object_key, filename, content_type, size, visibility, checksum, upload_expires_at)
    VALUES (p_id, p_owner, p_bucket, p_key, p_filename, p_content_type, p_size, p_visibility, p_checksum,
            now() + make_interval(secs => p_pending_seconds))
    RETURNING *;
  IF p_upload_id IS NOT NULL THEN
    INSERT INTO media.upload_sessions (asset_id, upload_id, part_size, part_count) VALUES (p_id, p_upload_id, p_part_size, p_part_count);
  END IF;
END $$;

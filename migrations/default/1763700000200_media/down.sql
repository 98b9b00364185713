DROP FUNCTION media.create_asset_within_quota(uuid, uuid, text, text, text, text, bigint, text, text, double precision, bigint, text, bigint, integer);
DROP TABLE media.upload_sessions;
DROP TABLE media.assets;
DROP FUNCTION media.touch_updated_at();

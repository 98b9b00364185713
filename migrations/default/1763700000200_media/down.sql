DROP TABLE media.upload_sessions;
DROP TABLE media.assets;
DROP FUNCTION media.touch_updated_at();

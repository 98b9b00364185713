DROP FUNCTION IF EXISTS links.preview_image_key(uuid);

DROP TRIGGER links_check_image_asset ON links.links;
DROP FUNCTION links.check_image_asset();

-- A link may show only its owner's own, finished upload: whichever engine writes image_asset_id
-- (Hasura's permissions cannot see media.assets), the database checks it. SECURITY DEFINER because
-- the writer (links_admin) has no access to the media schema, by design.
CREATE FUNCTION links.check_image_asset() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
  IF NEW.image_asset_id IS NOT NULL
     AND (TG_OP = 'INSERT' OR NEW.image_asset_id IS DISTINCT FROM OLD.image_asset_id OR NEW.owner_id IS DISTINCT FROM OLD.owner_id)
     AND NOT EXISTS (
       SELECT 1 FROM media.assets a
        WHERE a.id = NEW.image_asset_id AND a.owner_id = NEW.owner_id AND a.status = 'ready'
     ) THEN
    RAISE EXCEPTION 'image asset % is not a ready asset of the link''s owner', NEW.image_asset_id
      USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'links_image_asset_owner';
  END IF;
  RETURN NEW;
END $$;
REVOKE ALL ON FUNCTION links.check_image_asset() FROM PUBLIC;

CREATE TRIGGER links_check_image_asset BEFORE INSERT OR UPDATE OF image_asset_id, owner_id ON links.links
  FOR EACH ROW EXECUTE FUNCTION links.check_image_asset();

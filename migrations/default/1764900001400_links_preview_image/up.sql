-- The redirect's preview page (/{code}+, issue 15 §4) shows a link's stored preview image.
-- redirect_service reads links.links but has no right on media.assets, by design (see
-- 1763700000400_links_image_owner): one narrow SECURITY DEFINER function hands it the object key of
-- a link's image, and only when that image is a ready, public asset of the link's owner — the key
-- of a private, pending or quarantined asset never leaves the database this way.
CREATE FUNCTION links.preview_image_key(p_link_id uuid) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
  SELECT a.object_key
    FROM links.links l
    JOIN media.assets a ON a.id = l.image_asset_id AND a.owner_id = l.owner_id
   WHERE l.id = p_link_id AND a.status = 'ready' AND a.visibility = 'public'
$$;
REVOKE ALL ON FUNCTION links.preview_image_key(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION links.preview_image_key(uuid) TO redirect_service;

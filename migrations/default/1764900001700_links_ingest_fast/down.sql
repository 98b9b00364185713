REVOKE SELECT ON links.link_hourly_totals FROM redirect_service;
DROP FUNCTION links.ingest_click_batch;

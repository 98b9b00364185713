DROP FUNCTION links.ingest_click_batch;

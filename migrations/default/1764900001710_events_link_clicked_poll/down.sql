DROP TRIGGER endpoints_click_watermarks ON webhooks.endpoints;
DROP FUNCTION webhooks.click_watermarks_baseline();
DROP FUNCTION webhooks.subscribes_to_clicks(boolean, text[]);
DROP TABLE webhooks.click_watermarks;

DROP TABLE core.signing_keys;
DROP TABLE core.audit_events;
DROP TABLE core.api_keys;
DROP TABLE core.refresh_tokens;
DROP TABLE core.users;
DROP FUNCTION core.touch_updated_at();

-- core: identity. Emails are stored lower-cased and trimmed (the service normalises; the check
-- keeps any other writer honest).
CREATE TABLE core.users (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email         text NOT NULL UNIQUE CHECK (email = lower(btrim(email)) AND length(email) BETWEEN 3 AND 320),
  display_name  text CHECK (display_name IS NULL OR length(display_name) <= 200),
  password_hash text NOT NULL,
  role          text NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Refresh tokens rotate: each use marks the row used and issues a child in the same family.
-- Presenting a used token again revokes the family (OAuth 2.0 Security BCP, RFC 9700 §4.14.2).
CREATE TABLE core.refresh_tokens (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id     uuid NOT NULL REFERENCES core.users(id) ON DELETE CASCADE,
  family_id   uuid NOT NULL,
  token_hash  bytea NOT NULL UNIQUE,
  parent_id   uuid REFERENCES core.refresh_tokens(id) ON DELETE SET NULL,
  expires_at  timestamptz NOT NULL,
  used_at     timestamptz,
  revoked_at  timestamptz,
  user_agent  text,
  ip          text,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refresh_tokens_user_idx ON core.refresh_tokens (user_id);
CREATE INDEX refresh_tokens_family_idx ON core.refresh_tokens (family_id);

CREATE TABLE core.api_keys (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id       uuid NOT NULL REFERENCES core.users(id) ON DELETE CASCADE,
  name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  prefix        text NOT NULL,
  key_hash      bytea NOT NULL UNIQUE,
  scopes        text[] NOT NULL CHECK (scopes <@ ARRAY['links:read', 'links:write', 'media:read', 'media:write']),
  expires_at    timestamptz,
  last_used_at  timestamptz,
  revoked_at    timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_keys_user_idx ON core.api_keys (user_id);

-- Audit events outlive the user they describe (no FK).
CREATE TABLE core.audit_events (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id     uuid,
  action      text NOT NULL,
  ip          text,
  details     jsonb NOT NULL DEFAULT '{}',
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_events_user_idx ON core.audit_events (user_id, created_at);

-- JWT signing keys, generated on first local start or imported from env in production. A retired
-- key keeps verifying (it stays in the JWKS) until every token it signed has expired.
CREATE TABLE core.signing_keys (
  kid          text PRIMARY KEY,
  alg          text NOT NULL,
  public_jwk   jsonb NOT NULL,
  private_jwk  jsonb NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  retired_at   timestamptz,
  verify_until timestamptz
);

CREATE FUNCTION core.touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END $$;
CREATE TRIGGER users_updated_at BEFORE UPDATE ON core.users FOR EACH ROW EXECUTE FUNCTION core.touch_updated_at();

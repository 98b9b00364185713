-- Webhooks for users and the platform's scheduled jobs (issue 15 §2–§3, events/README.md).
-- The schema is served by Hasura (row-level permissions for role user) and written by the events
-- process, which connects as links_admin, the role Hasura itself uses.
CREATE SCHEMA webhooks;
REVOKE ALL ON SCHEMA webhooks FROM PUBLIC;
GRANT USAGE ON SCHEMA webhooks TO links_admin;
ALTER DEFAULT PRIVILEGES IN SCHEMA webhooks GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO links_admin;
ALTER DEFAULT PRIVILEGES IN SCHEMA webhooks GRANT USAGE, SELECT ON SEQUENCES TO links_admin;

-- The event types a user may subscribe to; an empty list means all of them.
CREATE FUNCTION webhooks.event_types() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$
  SELECT ARRAY['link.created', 'link.updated', 'link.deleted', 'link.clicked', 'asset.ready', 'link.limit_reached']
$$;

CREATE TABLE webhooks.endpoints (
  id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  owner_id          uuid NOT NULL REFERENCES core.users(id) ON DELETE CASCADE,
  url               text NOT NULL CHECK (length(url) <= 2048 AND url ~* '^https?://[^\s/?#@]+(:[0-9]{1,5})?([/?#][^\s]*)?$' AND url !~ '[[:cntrl:]]'),
  description       text CHECK (description IS NULL OR length(description) <= 500),
  event_types       text[] NOT NULL DEFAULT '{}' CHECK (event_types <@ webhooks.event_types()),
  -- Standard Webhooks secret: `whsec_` + base64 of 24 to 64 random bytes. Chosen by the client and
  -- never readable again (no select permission): the "shown once" secret (events/README.md).
  secret            text NOT NULL CHECK (secret ~ '^whsec_[A-Za-z0-9+/]{32,88}={0,2}$'),
  -- Rotation: the replaced secret keeps signing next to the new one until it expires, so receivers
  -- can switch without a gap (Standard Webhooks: several space-separated signatures).
  previous_secret   text,
  previous_secret_expires_at timestamptz,
  enabled           boolean NOT NULL DEFAULT true,
  disabled_reason   text,
  failing_since     timestamptz,
  consecutive_failures integer NOT NULL DEFAULT 0,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX endpoints_owner_idx ON webhooks.endpoints (owner_id) WHERE enabled;

CREATE FUNCTION webhooks.endpoints_before_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.secret IS DISTINCT FROM OLD.secret THEN
    NEW.previous_secret := OLD.secret;
    NEW.previous_secret_expires_at := now() + interval '24 hours';
  END IF;
  -- Re-enabling (by the owner) starts a fresh failure count.
  IF NEW.enabled AND NOT OLD.enabled THEN
    NEW.disabled_reason := NULL;
    NEW.failing_since := NULL;
    NEW.consecutive_failures := 0;
  END IF;
  NEW.updated_at := now();
  RETURN NEW;
END $$;
CREATE TRIGGER endpoints_before_update BEFORE UPDATE ON webhooks.endpoints
  FOR EACH ROW EXECUTE FUNCTION webhooks.endpoints_before_update();

-- One user event (the Standard Webhooks message): its id is the webhook-id header, constant across
-- retries and endpoints. source_key makes a redelivered Hasura event (at-least-once) a no-op.
CREATE TABLE webhooks.messages (
  id          text PRIMARY KEY,
  owner_id    uuid NOT NULL REFERENCES core.users(id) ON DELETE CASCADE,
  event_type  text NOT NULL CHECK (event_type = ANY (webhooks.event_types())),
  payload     jsonb NOT NULL,
  source_key  text UNIQUE,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX messages_created_idx ON webhooks.messages (created_at);

CREATE TABLE webhooks.deliveries (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  message_id       text NOT NULL REFERENCES webhooks.messages(id) ON DELETE CASCADE,
  endpoint_id      uuid NOT NULL REFERENCES webhooks.endpoints(id) ON DELETE CASCADE,
  owner_id         uuid NOT NULL REFERENCES core.users(id) ON DELETE CASCADE,
  event_type       text NOT NULL,
  status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivering', 'succeeded', 'dead')),
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL DEFAULT now(),
  -- A claim is a lease: a process killed mid-delivery leaves `delivering` with a past lease, which
  -- the next claim takes again (at-least-once).
  locked_until     timestamptz,
  locked_by        text,
  last_response_code integer,
  last_error       text,
  last_duration_ms integer,
  delivered_at     timestamptz,
  -- The owner asks for a replay by setting this (GraphQL update permission on this column only).
  replay_requested_at timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (message_id, endpoint_id)
);
CREATE INDEX deliveries_due_idx ON webhooks.deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_lease_idx ON webhooks.deliveries (locked_until) WHERE status = 'delivering';
CREATE INDEX deliveries_endpoint_idx ON webhooks.deliveries (endpoint_id, created_at);
CREATE INDEX deliveries_owner_idx ON webhooks.deliveries (owner_id, created_at);

CREATE FUNCTION webhooks.deliveries_before_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- A replay puts a finished delivery back in the queue, now, with a fresh attempt budget.
  IF NEW.replay_requested_at IS DISTINCT FROM OLD.replay_requested_at AND NEW.replay_requested_at IS NOT NULL
     AND OLD.status IN ('succeeded', 'dead') THEN
    NEW.status := 'pending';
    NEW.attempts := 0;
    NEW.next_attempt_at := now();
    NEW.locked_until := NULL;
  END IF;
  NEW.updated_at := now();
  RETURN NEW;
END $$;
CREATE TRIGGER deliveries_before_update BEFORE UPDATE ON webhooks.deliveries
  FOR EACH ROW EXECUTE FUNCTION webhooks.deliveries_before_update();

-- The delivery log: one row per HTTP attempt.
CREATE TABLE webhooks.attempts (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  delivery_id   uuid NOT NULL REFERENCES webhooks.deliveries(id) ON DELETE CASCADE,
  endpoint_id   uuid NOT NULL REFERENCES webhooks.endpoints(id) ON DELETE CASCADE,
  owner_id      uuid NOT NULL REFERENCES core.users(id) ON DELETE CASCADE,
  attempt       integer NOT NULL,
  started_at    timestamptz NOT NULL,
  duration_ms   integer NOT NULL,
  response_code integer,
  error         text,
  response_body text
);
CREATE INDEX attempts_delivery_idx ON webhooks.attempts (delivery_id, attempt);
CREATE INDEX attempts_owner_idx ON webhooks.attempts (owner_id, started_at);

-- What finally failed (every attempt used), kept for the owner to read and replay.
CREATE TABLE webhooks.dead_letters (
  delivery_id  uuid PRIMARY KEY REFERENCES webhooks.deliveries(id) ON DELETE CASCADE,
  endpoint_id  uuid NOT NULL REFERENCES webhooks.endpoints(id) ON DELETE CASCADE,
  owner_id     uuid NOT NULL REFERENCES core.users(id) ON DELETE CASCADE,
  message_id   text NOT NULL REFERENCES webhooks.messages(id) ON DELETE CASCADE,
  event_type   text NOT NULL,
  attempts     integer NOT NULL,
  last_error   text,
  created_at   timestamptz NOT NULL DEFAULT now()
);

-- Told to the owner: an endpoint disabled after sustained failure.
CREATE TABLE webhooks.notifications (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  owner_id     uuid NOT NULL REFERENCES core.users(id) ON DELETE CASCADE,
  endpoint_id  uuid REFERENCES webhooks.endpoints(id) ON DELETE CASCADE,
  kind         text NOT NULL CHECK (kind IN ('endpoint_disabled')),
  message      text NOT NULL,
  read_at      timestamptz,
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notifications_owner_idx ON webhooks.notifications (owner_id, created_at);

-- link.clicked is batched: clicks of one link accumulate here and leave as one message per window.
CREATE TABLE webhooks.click_batches (
  link_id     uuid PRIMARY KEY REFERENCES links.links(id) ON DELETE CASCADE,
  owner_id    uuid NOT NULL REFERENCES core.users(id) ON DELETE CASCADE,
  code        text NOT NULL,
  clicks      bigint NOT NULL,
  first_at    timestamptz NOT NULL,
  last_at     timestamptz NOT NULL
);
CREATE INDEX click_batches_first_idx ON webhooks.click_batches (first_at);

-- Scheduled platform jobs: one row per job; the claim (next_run_at) makes each slot run once.
CREATE TABLE webhooks.job_runs (
  job              text PRIMARY KEY,
  next_run_at      timestamptz NOT NULL DEFAULT '-infinity',
  runs             bigint NOT NULL DEFAULT 0,
  last_started_at  timestamptz,
  last_finished_at timestamptz,
  last_duration_ms integer,
  last_outcome     text CHECK (last_outcome IN ('ok', 'error')),
  last_error       text,
  last_result      jsonb,
  last_runner      text
);

-- Jobs outside the webhooks schema go through one narrow SECURITY DEFINER function each, so the
-- links_admin role gets exactly that power and no grant on core or media.
CREATE FUNCTION webhooks.purge_expired_refresh_tokens(older_than timestamptz, max_rows int) RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, core AS $$
DECLARE n int;
BEGIN
  -- Children first would not matter: parent_id is ON DELETE SET NULL.
  DELETE FROM core.refresh_tokens WHERE id IN (
    SELECT id FROM core.refresh_tokens WHERE expires_at < older_than LIMIT max_rows FOR UPDATE SKIP LOCKED);
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;

CREATE FUNCTION webhooks.purge_audit_events(older_than timestamptz, max_rows int) RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, core AS $$
DECLARE n int;
BEGIN
  DELETE FROM core.audit_events WHERE id IN (
    SELECT id FROM core.audit_events WHERE created_at < older_than LIMIT max_rows FOR UPDATE SKIP LOCKED);
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;

-- Upload sessions left behind by assets that are no longer pending (media expires pending uploads
-- itself and deletes the session on completion; these are leftovers of failed or deleted assets).
CREATE FUNCTION webhooks.purge_upload_sessions(older_than timestamptz, max_rows int) RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, media AS $$
DECLARE n int;
BEGIN
  DELETE FROM media.upload_sessions WHERE id IN (
    SELECT s.id FROM media.upload_sessions s JOIN media.assets a ON a.id = s.asset_id
     WHERE a.status IN ('failed', 'deleted') AND s.created_at < older_than
     LIMIT max_rows FOR UPDATE OF s SKIP LOCKED);
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;

REVOKE ALL ON FUNCTION webhooks.purge_expired_refresh_tokens(timestamptz, int) FROM PUBLIC;
REVOKE ALL ON FUNCTION webhooks.purge_audit_events(timestamptz, int) FROM PUBLIC;
REVOKE ALL ON FUNCTION webhooks.purge_upload_sessions(timestamptz, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION webhooks.purge_expired_refresh_tokens(timestamptz, int) TO links_admin;
GRANT EXECUTE ON FUNCTION webhooks.purge_audit_events(timestamptz, int) TO links_admin;
GRANT EXECUTE ON FUNCTION webhooks.purge_upload_sessions(timestamptz, int) TO links_admin;

GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA webhooks TO links_admin;

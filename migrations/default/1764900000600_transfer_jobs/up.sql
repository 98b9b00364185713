-- Import and export of links and clicks (issue 16 §3–§4; core-service/src/modules/transfer/README.md).
--
-- The jobs live in `core` (core-service runs them). core_service still has no privilege on the
-- `links` schema (migrations/test: each role is refused on the other schemas); it reaches links
-- data only through the narrow `transfer` schema below: views that show one owner's rows and a
-- SECURITY DEFINER import function. The owner is a transaction-local setting
-- (`linkport.transfer_owner`, set with set_config(..., true)); unset, every view is empty, so a
-- query that forgot to name its owner fails closed.

CREATE TABLE core.transfer_jobs (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  owner_id       uuid NOT NULL REFERENCES core.users(id) ON DELETE CASCADE,
  kind           text NOT NULL CHECK (kind IN ('export_links', 'export_clicks', 'export_analytics', 'import_links')),
  -- export: csv | json; import: the source format (csv, bitly, kutt, shlink, yourls, dub).
  format         text NOT NULL,
  params         jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(params) = 'object'),
  dry_run        boolean NOT NULL DEFAULT false,
  status         text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
  -- Progress while running: rows done out of rows_total (null while unknown).
  rows_done      bigint NOT NULL DEFAULT 0,
  rows_total     bigint,
  -- The uploaded import file, or the export written by the job.
  source_key     text,
  source_bytes   bigint,
  object_key     text,
  object_bytes   bigint,
  result         jsonb,
  error          jsonb,
  -- The worker holding the job, until when (a crashed worker's job is claimed again after it).
  attempts       int NOT NULL DEFAULT 0,
  locked_by      text,
  lease_until    timestamptz,
  created_at     timestamptz NOT NULL DEFAULT now(),
  started_at     timestamptz,
  finished_at    timestamptz,
  -- When an export's object is deleted (and downloads answer 410).
  expires_at     timestamptz
);
CREATE INDEX transfer_jobs_owner_idx ON core.transfer_jobs (owner_id, created_at DESC);
CREATE INDEX transfer_jobs_ready_idx ON core.transfer_jobs (created_at) WHERE status IN ('queued', 'running');

-- Every problem of an import, by the line (CSV) or item (JSON) of the file it came from.
CREATE TABLE core.transfer_problems (
  job_id   uuid NOT NULL REFERENCES core.transfer_jobs(id) ON DELETE CASCADE,
  line     int NOT NULL,
  code     text NOT NULL,
  field    text,
  message  text NOT NULL,
  PRIMARY KEY (job_id, line, code)
);

CREATE SCHEMA transfer;
REVOKE ALL ON SCHEMA transfer FROM PUBLIC;
GRANT USAGE ON SCHEMA transfer TO core_service;

-- Links imported without a short code, by their source key (the destination): what makes a re-run
-- of the same file a no-op for them (rows with a code are recognised by the code itself).
CREATE TABLE transfer.import_keys (
  owner_id  uuid NOT NULL REFERENCES core.users(id) ON DELETE CASCADE,
  key       text NOT NULL,
  link_id   uuid NOT NULL REFERENCES links.links(id) ON DELETE CASCADE,
  PRIMARY KEY (owner_id, key)
);
REVOKE ALL ON transfer.import_keys FROM core_service;

CREATE FUNCTION transfer.owner() RETURNS uuid LANGUAGE sql STABLE AS $$
  SELECT nullif(current_setting('linkport.transfer_owner', true), '')::uuid
$$;

CREATE VIEW transfer.links AS
  SELECT l.id, l.code, l.destination, l.title, l.description,
         coalesce((SELECT string_agg(t.name, '|' ORDER BY t.name)
                     FROM links.link_tags lt JOIN links.tags t ON t.id = lt.tag_id
                    WHERE lt.link_id = l.id), '') AS tags,
         l.status, l.redirect_type, l.expires_at, l.max_clicks, l.click_count, l.last_clicked_at,
         l.created_at, l.updated_at
    FROM links.links l
   WHERE l.owner_id = transfer.owner();

-- Raw clicks without the visitor hash and user agent (pseudonymous identifiers stay in the database).
CREATE VIEW transfer.clicks AS
  SELECT c.clicked_at, l.code, c.link_id, c.country, c.device, c.browser, c.os, c.referrer_host, c.is_bot
    FROM links.clicks c JOIN links.links l ON l.id = c.link_id
   WHERE l.owner_id = transfer.owner();

CREATE VIEW transfer.daily_stats AS
  SELECT d.day, l.code, d.link_id, d.dimension, d.value, d.clicks, d.visitors
    FROM links.daily_stats d JOIN links.links l ON l.id = d.link_id
   WHERE l.owner_id = transfer.owner();

GRANT SELECT ON transfer.links, transfer.clicks, transfer.daily_stats TO core_service;

-- One batch of an import for `p_owner`. Rows: [{"i": line, "code"?, "destination", "title"?,
-- "description"?, "tags"?: [..], "expires_at"?, "created_at"?}]. Returns one outcome per row:
-- created, unchanged (already imported: same code and destination of this owner, or the same
-- code-less destination), conflict (the code belongs to another link), invalid (what the database
-- refuses: destination, code format or reserved word). Invalid rows are filtered before the
-- INSERT, so one bad row never aborts the batch. SECURITY DEFINER: core_service may write links only
-- through here, always for the owner it names.
CREATE FUNCTION transfer.import_links(p_owner uuid, p_rows jsonb)
RETURNS TABLE (i int, outcome text, detail text, code text)
-- public is on the path for the links trigger's pgcrypto calls (gen_random_bytes, crypt); nobody but
-- the owner may create objects there (migration 1763700000000).
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, links, public AS $$
#variable_conflict use_column
BEGIN
  CREATE TEMP TABLE IF NOT EXISTS pg_temp.transfer_batch (
    i int, code text, destination text, title text, description text, tags text[],
    expires_at timestamptz, created_at timestamptz, id uuid, ikey text, outcome text, detail text
  ) ON COMMIT DROP;
  TRUNCATE pg_temp.transfer_batch;
  INSERT INTO pg_temp.transfer_batch (i, code, destination, title, description, tags, expires_at, created_at, id, ikey)
  SELECT r.i, nullif(r.code, ''), r.destination, r.title, r.description,
         coalesce(ARRAY(SELECT jsonb_array_elements_text(r.tags)), '{}'),
         r.expires_at, r.created_at, gen_random_uuid(),
         CASE WHEN nullif(r.code, '') IS NULL THEN 'dest:' || r.destination END
    FROM jsonb_to_recordset(p_rows) AS r(i int, code text, destination text, title text, description text,
                                         tags jsonb, expires_at timestamptz, created_at timestamptz);

  UPDATE pg_temp.transfer_batch b SET outcome = 'invalid', detail =
    CASE WHEN NOT links.is_http_url(b.destination) THEN 'destination: not an absolute http(s) URL of at most 2048 characters'
         WHEN b.code IS NOT NULL AND (length(b.code) NOT BETWEEN 3 AND 64 OR b.code !~ '^[A-Za-z0-9_-]+$')
           THEN 'code: use 3 to 64 letters, digits, "-" or "_"'
         WHEN b.code IS NOT NULL AND links.is_reserved_code(b.code) THEN 'code: reserved word'
         WHEN b.title IS NOT NULL AND length(b.title) > 500 THEN 'title: at most 500 characters'
         WHEN b.description IS NOT NULL AND length(b.description) > 2000 THEN 'description: at most 2000 characters'
         WHEN EXISTS (SELECT 1 FROM unnest(b.tags) t WHERE length(t) NOT BETWEEN 1 AND 50) THEN 'tags: each 1 to 50 characters'
    END
   WHERE NOT links.is_http_url(b.destination)
      OR (b.code IS NOT NULL AND (length(b.code) NOT BETWEEN 3 AND 64 OR b.code !~ '^[A-Za-z0-9_-]+$' OR links.is_reserved_code(b.code)))
      OR (b.title IS NOT NULL AND length(b.title) > 500)
      OR (b.description IS NOT NULL AND length(b.description) > 2000)
      OR EXISTS (SELECT 1 FROM unnest(b.tags) t WHERE length(t) NOT BETWEEN 1 AND 50);

  UPDATE pg_temp.transfer_batch b
     SET outcome = CASE WHEN l.owner_id = p_owner AND l.destination = b.destination THEN 'unchanged' ELSE 'conflict' END,
         detail = CASE WHEN l.owner_id = p_owner AND l.destination = b.destination THEN 'already imported'
                       WHEN l.owner_id = p_owner THEN 'code already used by one of your links with another destination'
                       ELSE 'code already taken' END,
         id = l.id
    FROM links.links l
   WHERE b.outcome IS NULL AND b.code IS NOT NULL AND l.code = b.code;

  UPDATE pg_temp.transfer_batch b SET outcome = 'unchanged', detail = 'already imported', id = k.link_id
    FROM transfer.import_keys k
   WHERE b.outcome IS NULL AND b.ikey IS NOT NULL AND k.owner_id = p_owner AND k.key = b.ikey;

  -- A code taken between the check above and this insert (another writer) is a conflict too.
  WITH ins AS (
    INSERT INTO links.links AS nl (id, owner_id, code, destination, title, description, expires_at, created_at, updated_at)
    SELECT b.id, p_owner, b.code, b.destination, b.title, b.description, b.expires_at,
           coalesce(b.created_at, now()), coalesce(b.created_at, now())
      FROM pg_temp.transfer_batch b WHERE b.outcome IS NULL ORDER BY b.i
    ON CONFLICT (code) DO NOTHING
    RETURNING nl.id, nl.code
  )
  UPDATE pg_temp.transfer_batch b SET outcome = 'created', code = ins.code FROM ins WHERE ins.id = b.id;
  UPDATE pg_temp.transfer_batch b SET outcome = 'conflict', detail = 'code already taken' WHERE b.outcome IS NULL;

  INSERT INTO transfer.import_keys (owner_id, key, link_id)
  SELECT p_owner, b.ikey, b.id FROM pg_temp.transfer_batch b WHERE b.outcome = 'created' AND b.ikey IS NOT NULL
  ON CONFLICT DO NOTHING;

  INSERT INTO links.tags (owner_id, name)
  SELECT DISTINCT p_owner, t FROM pg_temp.transfer_batch b, unnest(b.tags) t WHERE b.outcome = 'created'
  ON CONFLICT (owner_id, name) DO NOTHING;
  INSERT INTO links.link_tags (link_id, tag_id)
  SELECT DISTINCT b.id, tg.id FROM pg_temp.transfer_batch b, unnest(b.tags) t
    JOIN links.tags tg ON tg.owner_id = p_owner AND tg.name = t
   WHERE b.outcome = 'created'
  ON CONFLICT DO NOTHING;

  RETURN QUERY SELECT b.i, b.outcome, b.detail, b.code FROM pg_temp.transfer_batch b ORDER BY b.i;
END $$;
REVOKE ALL ON FUNCTION transfer.import_links(uuid, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION transfer.import_links(uuid, jsonb) TO core_service;

-- Link previews (issue 15 §4, events/README.md "Link previews"): a link created with, or changed to,
-- a destination while its title or description is empty gets a job; the events process fetches the
-- destination (SSRF-guarded, bounded) and fills what the owner left empty. One row per link: a newer
-- destination replaces the pending job. Created by the migration role, so the schema's default
-- privileges (1764900000400_webhooks) give links_admin its rights.
CREATE TABLE webhooks.preview_jobs (
  link_id          uuid PRIMARY KEY REFERENCES links.links(id) ON DELETE CASCADE,
  destination      text NOT NULL,
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL,
  locked_until     timestamptz,
  last_error       text,
  created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX preview_jobs_due_idx ON webhooks.preview_jobs (next_attempt_at);

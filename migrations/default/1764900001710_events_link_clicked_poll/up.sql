-- link.clicked and link.limit_reached without a per-batch event (issue 15, issue 16 §2). They came
-- from the engine's links_webhooks trigger on click_count updates: the click worker's counter bump
-- recorded one hdb_catalog.event_log row per link per batch, each an HTTP hop to the events process
-- (measured: the drain fell from ≈8,000 to ≈4,400 clicks/s), and a redelivered Hasura event could
-- add its delta twice. click_count is no longer among the trigger's update columns
-- (hasura/metadata links_links.yaml); the events scheduler's link_clicked job polls the counters
-- instead (events/src/scheduler/jobs.ts, events/README.md "Where link.clicked comes from").
--
-- The watermark: per link, the click_count already told. click_count itself is exact (the worker
-- counts a stream entry once, replays included), so a window is (reported, click_count]: the job
-- writes the message and moves the watermark in one transaction, the move conditional on the
-- watermark it read (two runs at once: one wins, the other tells nothing). Each click is in exactly
-- one window; each window is one message whose id (webhook-id) is kept across retries.
CREATE TABLE webhooks.click_watermarks (
  link_id     uuid PRIMARY KEY REFERENCES links.links(id) ON DELETE CASCADE,
  reported    bigint NOT NULL,
  -- last_clicked_at when `reported` was told: the next window's `from`.
  reported_at timestamptz
);
GRANT SELECT, INSERT, UPDATE, DELETE ON webhooks.click_watermarks TO links_admin;

-- A link with no watermark starts at 0 (a link created while its owner is subscribed). An owner who
-- subscribes has the clicks so far marked as told: an endpoint hears of clicks from its creation
-- on, not the link's history. Only when no other endpoint of the owner was subscribed already —
-- otherwise that endpoint's untold window would be lost.
CREATE FUNCTION webhooks.subscribes_to_clicks(enabled boolean, event_types text[]) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
  SELECT enabled AND (event_types = '{}' OR event_types && ARRAY['link.clicked', 'link.limit_reached'])
$$;

CREATE FUNCTION webhooks.click_watermarks_baseline() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, webhooks AS $$
BEGIN
  IF NOT webhooks.subscribes_to_clicks(NEW.enabled, NEW.event_types)
     OR (TG_OP = 'UPDATE' AND webhooks.subscribes_to_clicks(OLD.enabled, OLD.event_types)) THEN
    RETURN NULL;
  END IF;
  IF EXISTS (SELECT 1 FROM webhooks.endpoints e
              WHERE e.owner_id = NEW.owner_id AND e.id <> NEW.id AND webhooks.subscribes_to_clicks(e.enabled, e.event_types)) THEN
    RETURN NULL;
  END IF;
  INSERT INTO webhooks.click_watermarks AS w (link_id, reported, reported_at)
  SELECT l.id, l.click_count, l.last_clicked_at FROM links.links l WHERE l.owner_id = NEW.owner_id ORDER BY l.id
  ON CONFLICT (link_id) DO UPDATE SET reported = EXCLUDED.reported, reported_at = EXCLUDED.reported_at;
  RETURN NULL;
END $$;
CREATE TRIGGER endpoints_click_watermarks AFTER INSERT OR UPDATE OF enabled, event_types ON webhooks.endpoints
  FOR EACH ROW EXECUTE FUNCTION webhooks.click_watermarks_baseline();

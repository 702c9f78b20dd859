/** deliveries adds the delivery queue, attempt history and secret rotation. */
export const deliveries = {
  version: 2,
  name: "deliveries",
  sql: `
ALTER TABLE webhooks ADD COLUMN previous_secret TEXT;
ALTER TABLE webhooks ADD COLUMN previous_secret_until INTEGER;

CREATE TABLE deliveries (
  id                 TEXT PRIMARY KEY,
  event_id           TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
  webhook_id         TEXT NOT NULL REFERENCES webhooks (id),
  event_type         TEXT NOT NULL,
  status             TEXT NOT NULL CHECK (status IN ('pending', 'failed', 'delivered', 'expired')),
  attempts           INTEGER NOT NULL DEFAULT 0,   -- every attempt ever made
  schedule_attempts  INTEGER NOT NULL DEFAULT 0,   -- attempts in the current schedule (a retry starts a fresh one)
  -- When a worker may next take it: the due time, or while leased the lease's end. NULL = finished.
  next_attempt_at    INTEGER,
  lease_until        INTEGER,                      -- set while a worker holds it
  last_status_code   INTEGER,
  last_response      TEXT,
  last_error         TEXT,
  created_at         INTEGER NOT NULL,
  updated_at         INTEGER NOT NULL,
  delivered_at       INTEGER
);
-- The queue: due work per endpoint, read by index range, never by scanning finished rows.
CREATE INDEX deliveries_queue ON deliveries (webhook_id, next_attempt_at) WHERE next_attempt_at IS NOT NULL;
CREATE INDEX deliveries_leased ON deliveries (lease_until) WHERE lease_until IS NOT NULL;
CREATE INDEX deliveries_by_webhook ON deliveries (webhook_id, id);
CREATE INDEX deliveries_by_event ON deliveries (event_id);
CREATE INDEX deliveries_created ON deliveries (created_at);

CREATE TABLE attempts (
  id            TEXT PRIMARY KEY,
  delivery_id   TEXT NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
  attempted_at  INTEGER NOT NULL,
  status_code   INTEGER,
  duration_ms   INTEGER NOT NULL,
  error         TEXT,
  response      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX attempts_by_delivery ON attempts (delivery_id, id);
`,
};

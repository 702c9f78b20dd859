/** inbound adds the inbound request log (also the dedupe index) and persistent rate-limit windows. */
export const inbound = {
  version: 3,
  name: "inbound",
  sql: `
CREATE TABLE inbound (
  id           TEXT PRIMARY KEY,
  source       TEXT NOT NULL,
  status       TEXT NOT NULL CHECK (status IN ('accepted', 'duplicate', 'rejected')),
  reason       TEXT,                          -- the error code of a rejection
  event_id     TEXT REFERENCES events (id) ON DELETE SET NULL,
  client_ip    TEXT NOT NULL,
  headers      TEXT NOT NULL,                 -- JSON object of allowlisted headers
  body         TEXT,                          -- as received; never stored for rejections
  size         INTEGER NOT NULL,
  dedupe_key   TEXT,                          -- webhook-id, else Idempotency-Key
  body_hash    TEXT,
  received_at  INTEGER NOT NULL
);
CREATE INDEX inbound_dedupe ON inbound (source, dedupe_key, received_at) WHERE dedupe_key IS NOT NULL AND status = 'accepted';
CREATE INDEX inbound_by_source ON inbound (source, id);
CREATE INDEX inbound_by_status ON inbound (status, id);
CREATE INDEX inbound_received ON inbound (received_at);

-- Fixed windows aligned to the Unix epoch; only accepted events count. In the database so a
-- restart does not hand every sender a fresh allowance.
CREATE TABLE rate_windows (
  source        TEXT NOT NULL,
  window_start  INTEGER NOT NULL,
  count         INTEGER NOT NULL,
  PRIMARY KEY (source, window_start)
);
`,
};

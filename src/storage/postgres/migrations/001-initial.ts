/**
 * initial is the whole schema of SQLite's migrations 1–8 in one step, in PostgreSQL's types: times are
 * epoch ms (BIGINT), JSON kept as the text received (bodies byte for byte), and keys that sort or range
 * (ids, event types) use the "C" collation so they order by bytes as on SQLite, whatever the database's locale.
 */
export const initial = {
  version: 1,
  name: "initial",
  sql: `
CREATE TABLE webhooks (
  id                     TEXT COLLATE "C" PRIMARY KEY,
  url                    TEXT NOT NULL,
  events                 TEXT NOT NULL,            -- JSON array of filters
  description            TEXT NOT NULL DEFAULT '',
  status                 TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
  secret                 TEXT NOT NULL,
  previous_secret        TEXT,
  previous_secret_until  BIGINT,
  failure_count          INTEGER NOT NULL DEFAULT 0,
  last_failure_at        BIGINT,
  failing_since          BIGINT,
  created_at             BIGINT NOT NULL,
  updated_at             BIGINT NOT NULL,
  deleted_at             BIGINT                    -- deleted endpoints stay for their delivery history
);
CREATE INDEX webhooks_live ON webhooks (id) WHERE deleted_at IS NULL;

CREATE TABLE events (
  id          TEXT COLLATE "C" PRIMARY KEY,
  type        TEXT COLLATE "C" NOT NULL,
  origin      TEXT NOT NULL,
  body        TEXT NOT NULL,                       -- the exact envelope sent to subscribers
  created_at  BIGINT NOT NULL
);
CREATE INDEX events_type ON events (type, id);
CREATE INDEX events_created ON events (created_at);

CREATE TABLE resources (
  id          TEXT COLLATE "C" PRIMARY KEY,
  type        TEXT NOT NULL,
  name        TEXT NOT NULL,
  status      TEXT NOT NULL,
  metadata    TEXT NOT NULL,                       -- JSON object
  created_at  BIGINT NOT NULL,
  updated_at  BIGINT NOT NULL
);

CREATE TABLE idempotency_keys (
  scope          TEXT NOT NULL,
  idem_key       TEXT NOT NULL,
  request_hash   TEXT NOT NULL,
  state          TEXT NOT NULL CHECK (state IN ('running', 'done')),
  status         INTEGER,
  response_body  TEXT,
  content_type   TEXT,
  locked_until   BIGINT NOT NULL,
  created_at     BIGINT NOT NULL,
  expires_at     BIGINT NOT NULL,
  PRIMARY KEY (scope, idem_key)
);
CREATE INDEX idempotency_expiry ON idempotency_keys (expires_at);

CREATE TABLE deliveries (
  id                 TEXT COLLATE "C" PRIMARY KEY,
  event_id           TEXT COLLATE "C" NOT NULL REFERENCES events (id) ON DELETE CASCADE,
  webhook_id         TEXT COLLATE "C" NOT NULL REFERENCES webhooks (id),
  event_type         TEXT NOT NULL,
  status             TEXT NOT NULL CHECK (status IN ('pending', 'failed', 'delivered', 'expired')),
  attempts           INTEGER NOT NULL DEFAULT 0,
  schedule_attempts  INTEGER NOT NULL DEFAULT 0,
  next_attempt_at    BIGINT,                       -- due time, or while leased the lease's end; NULL = finished
  lease_until        BIGINT,
  lease_owner        TEXT,                         -- the claim's token ("<node> <run>.<round>")
  last_status_code   INTEGER,
  last_response      TEXT,
  last_error         TEXT,
  created_at         BIGINT NOT NULL,
  updated_at         BIGINT NOT NULL,
  delivered_at       BIGINT
);
CREATE INDEX deliveries_queue ON deliveries (webhook_id, next_attempt_at, id) WHERE next_attempt_at IS NOT NULL;
CREATE INDEX deliveries_leased ON deliveries (lease_until) WHERE lease_until IS NOT NULL;
CREATE INDEX deliveries_by_webhook ON deliveries (webhook_id, id);
CREATE INDEX deliveries_by_event ON deliveries (event_id);
CREATE INDEX deliveries_status ON deliveries (status, created_at);

CREATE TABLE attempts (
  id            TEXT COLLATE "C" PRIMARY KEY,
  delivery_id   TEXT COLLATE "C" NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
  attempted_at  BIGINT NOT NULL,
  status_code   INTEGER,
  duration_ms   INTEGER NOT NULL,
  error         TEXT,
  response      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX attempts_by_delivery ON attempts (delivery_id, id);
CREATE INDEX attempts_by_time ON attempts (attempted_at);

CREATE TABLE inbound (
  id           TEXT COLLATE "C" PRIMARY KEY,
  source       TEXT COLLATE "C" NOT NULL,
  status       TEXT NOT NULL CHECK (status IN ('accepted', 'duplicate', 'rejected')),
  reason       TEXT,
  event_id     TEXT COLLATE "C" REFERENCES events (id) ON DELETE SET NULL,
  client_ip    TEXT NOT NULL,
  headers      TEXT NOT NULL,
  body         TEXT,
  size         INTEGER NOT NULL,
  dedupe_key   TEXT,
  body_hash    TEXT,
  received_at  BIGINT NOT NULL
);
CREATE INDEX inbound_by_source ON inbound (source, id);
CREATE INDEX inbound_by_status ON inbound (status, id);
CREATE INDEX inbound_received ON inbound (received_at);
CREATE INDEX inbound_by_event ON inbound (event_id) WHERE event_id IS NOT NULL;

-- Inbound dedupe on a unique key, so two nodes accepting the same key at once cannot both store it:
-- one row per (source, key), replaced only once the window since received_at has passed.
CREATE TABLE inbound_dedupe (
  source       TEXT NOT NULL,
  dedupe_key   TEXT NOT NULL,
  event_id     TEXT NOT NULL,
  body_hash    TEXT NOT NULL,
  received_at  BIGINT NOT NULL,
  PRIMARY KEY (source, dedupe_key)
);
CREATE INDEX inbound_dedupe_received ON inbound_dedupe (received_at);

CREATE TABLE rate_windows (
  source        TEXT NOT NULL,
  window_start  BIGINT NOT NULL,
  count         INTEGER NOT NULL,
  PRIMARY KEY (source, window_start)
);
CREATE INDEX rate_windows_start ON rate_windows (window_start);

CREATE TABLE delivery_queues (
  webhook_id     TEXT COLLATE "C" PRIMARY KEY REFERENCES webhooks (id),
  next_due_at    BIGINT,
  in_flight      INTEGER NOT NULL DEFAULT 0,
  served_at      BIGINT NOT NULL DEFAULT 0,
  max_in_flight  INTEGER NOT NULL DEFAULT 2147483647,
  ready_at       BIGINT                            -- GREATEST(next_due_at, served_at) while in_flight < max_in_flight and work is due; else NULL
);
CREATE INDEX delivery_queues_ready ON delivery_queues (ready_at) WHERE ready_at IS NOT NULL;
`,
};

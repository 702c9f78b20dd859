/** initial creates the foundation tables: endpoints, events, resources, idempotency keys. */
export const initial = {
  version: 1,
  name: "initial",
  sql: `
CREATE TABLE webhooks (
  id               TEXT PRIMARY KEY,
  url              TEXT NOT NULL,
  events           TEXT NOT NULL,            -- JSON array of filters
  description      TEXT NOT NULL DEFAULT '',
  status           TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
  secret           TEXT NOT NULL,
  failure_count    INTEGER NOT NULL DEFAULT 0,
  last_failure_at  INTEGER,
  failing_since    INTEGER,
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL,
  deleted_at       INTEGER                   -- deleted endpoints stay for their delivery history
);
CREATE INDEX webhooks_live ON webhooks (deleted_at, id);

CREATE TABLE events (
  id          TEXT PRIMARY KEY,
  type        TEXT NOT NULL,
  origin      TEXT NOT NULL,
  body        TEXT NOT NULL,                 -- the exact envelope sent to subscribers
  created_at  INTEGER NOT NULL
);
CREATE INDEX events_type ON events (type, id);
CREATE INDEX events_created ON events (created_at);

CREATE TABLE resources (
  id          TEXT PRIMARY KEY,
  type        TEXT NOT NULL,
  name        TEXT NOT NULL,
  status      TEXT NOT NULL,
  metadata    TEXT NOT NULL,                 -- JSON object
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);

CREATE TABLE idempotency_keys (
  scope          TEXT NOT NULL,              -- api key name, method and path
  idem_key       TEXT NOT NULL,
  request_hash   TEXT NOT NULL,              -- SHA-256 of the raw request body
  state          TEXT NOT NULL CHECK (state IN ('running', 'done')),
  status         INTEGER,
  response_body  TEXT,
  content_type   TEXT,
  locked_until   INTEGER NOT NULL,
  created_at     INTEGER NOT NULL,
  expires_at     INTEGER NOT NULL,
  PRIMARY KEY (scope, idem_key)
);
CREATE INDEX idempotency_expiry ON idempotency_keys (expires_at);
`,
};

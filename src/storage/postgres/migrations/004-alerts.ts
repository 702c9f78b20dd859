/**
 * alerts keeps what SPEC §11's operational events remember across restarts (SQLite's migration 11,
 * same names and integer flags, so copy-storage moves them by name).
 */
export const alerts = {
  version: 4,
  name: "alerts",
  sql: `
ALTER TABLE webhooks ADD COLUMN failing_reported INTEGER NOT NULL DEFAULT 0;  -- 1 = hookd.endpoint.failing sent for this streak

CREATE TABLE alert_expiry_batches (
  webhook_id    TEXT PRIMARY KEY,
  url           TEXT NOT NULL,
  window_start  BIGINT NOT NULL,             -- the window's first expiry (reported at once)
  count         INTEGER NOT NULL,            -- later expiries of the window, not reported yet
  delivery_ids  TEXT NOT NULL,               -- JSON array, first 20
  event_types   TEXT NOT NULL,               -- JSON array, distinct, first 20
  last_error    TEXT
);

CREATE TABLE alert_state (
  name         TEXT PRIMARY KEY,             -- 'backlog'
  reported     INTEGER NOT NULL,             -- 1 = a backlog event is out and not yet cleared
  reported_at  BIGINT                        -- when hookd.queue.backlog was last emitted
);
`,
};

/**
 * endpointOptions adds SPEC §9's per-endpoint delivery options (issue 16): the option columns on
 * webhooks, FIFO lanes (a lane and position per ordered delivery, one `delivery_lanes` row per lane
 * holding its next position and its head) and the rate-limit window on each ready row. Column names
 * match SQLite's, so copy-storage moves them by name.
 */
export const endpointOptions = {
  version: 2,
  name: "endpoint-options",
  sql: `
ALTER TABLE webhooks
  ADD COLUMN headers       TEXT,                   -- JSON object of extra request headers
  ADD COLUMN timeout_ms    INTEGER,
  ADD COLUMN rate_limit    INTEGER,
  ADD COLUMN ordering      TEXT NOT NULL DEFAULT 'none' CHECK (ordering IN ('none', 'fifo')),
  ADD COLUMN ordering_key  TEXT,
  ADD COLUMN client_tls    TEXT,
  ADD COLUMN oauth2        TEXT;

ALTER TABLE deliveries
  ADD COLUMN lane      TEXT COLLATE "C",           -- NULL = unordered; '' = the endpoint's single / "no key" lane
  ADD COLUMN sequence  BIGINT;
-- A lane's lowest waiting position (next_attempt_at = LANE_WAITING) is the first entry of one range.
CREATE INDEX deliveries_lane ON deliveries (webhook_id, lane, next_attempt_at, sequence) WHERE lane IS NOT NULL;

-- One row per lane: the position the next delivery gets, and the delivery at the head (may have
-- finished or been pruned since: a head is current only while that delivery is unfinished).
CREATE TABLE delivery_lanes (
  webhook_id     TEXT COLLATE "C" NOT NULL,
  lane           TEXT COLLATE "C" NOT NULL,
  next_sequence  BIGINT NOT NULL,
  active_id      TEXT COLLATE "C",
  updated_at     BIGINT NOT NULL,
  PRIMARY KEY (webhook_id, lane)
);
CREATE INDEX delivery_lanes_updated ON delivery_lanes (updated_at);

-- Rate limit: claims in the last second as "time:count" runs, and the time the window frees room.
ALTER TABLE delivery_queues
  ADD COLUMN paced_until  BIGINT,
  ADD COLUMN rate_log     TEXT;
`,
};

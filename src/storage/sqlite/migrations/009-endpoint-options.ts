/**
 * endpointOptions stores SPEC §9's per-endpoint delivery options (issue 16) and what FIFO lanes and
 * rate limits need: a lane and position per ordered delivery, one row per lane (its next position and
 * its head), and a rate log on each ready row. Existing rows keep their meaning: no options, no lanes.
 */
export const endpointOptions = {
  version: 9,
  name: "endpoint-options",
  sql: `
ALTER TABLE webhooks ADD COLUMN headers TEXT;                          -- JSON object, NULL = none
ALTER TABLE webhooks ADD COLUMN timeout_ms INTEGER;
ALTER TABLE webhooks ADD COLUMN rate_limit INTEGER;                    -- claims per 1-second window, NULL = unlimited
ALTER TABLE webhooks ADD COLUMN ordering TEXT NOT NULL DEFAULT 'none'; -- 'none' or 'fifo'
ALTER TABLE webhooks ADD COLUMN ordering_key TEXT;                     -- JSON Pointer into data
ALTER TABLE webhooks ADD COLUMN client_tls TEXT;                       -- profile names
ALTER TABLE webhooks ADD COLUMN oauth2 TEXT;

ALTER TABLE deliveries ADD COLUMN lane TEXT;        -- FIFO lane; NULL = unordered
ALTER TABLE deliveries ADD COLUMN sequence INTEGER; -- position in the lane (X-Hookd-Sequence)
-- A lane's next head is its lowest-sequence waiting delivery: one read of this index however much
-- finished history the lane has (finished rows sort under next_attempt_at NULL, waiting ones last).
CREATE INDEX deliveries_lane ON deliveries (webhook_id, lane, next_attempt_at, sequence) WHERE lane IS NOT NULL;

CREATE TABLE delivery_lanes (
  webhook_id    TEXT NOT NULL,
  lane          TEXT NOT NULL,
  next_sequence INTEGER NOT NULL,  -- the position the next delivery of the lane gets
  active_id     TEXT,              -- the lane's head; it no longer holds the lane once finished or gone
  updated_at    INTEGER NOT NULL,
  PRIMARY KEY (webhook_id, lane)
) WITHOUT ROWID;
CREATE INDEX delivery_lanes_updated ON delivery_lanes (updated_at); -- retention forgets idle lanes

ALTER TABLE delivery_queues ADD COLUMN paced_until INTEGER NOT NULL DEFAULT 0; -- rate limit: no claim before this
ALTER TABLE delivery_queues ADD COLUMN rate_log TEXT;  -- rate limit: "time:count" runs of the last second's claims
`,
};

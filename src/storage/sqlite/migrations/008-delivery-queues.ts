/**
 * deliveryQueues gives every active endpoint one ready row, so a claim round reads due endpoints off
 * an index instead of asking every endpoint (issue 13: 1 000 endpoints delivered at a tenth of the
 * speed of 10), and leases carry the token of the claim that took them. Existing unfinished work is
 * summarised into the new rows; leases left by the previous release are released at start anyway.
 */
export const deliveryQueues = {
  version: 8,
  name: "delivery-queues",
  sql: `
ALTER TABLE deliveries ADD COLUMN lease_owner TEXT;   -- the claim's token ("<node> <run>.<round>"); NULL when not leased

CREATE TABLE delivery_queues (
  webhook_id   TEXT PRIMARY KEY REFERENCES webhooks (id),
  next_due_at  INTEGER,                    -- earliest next_attempt_at of its unfinished deliveries (leased: the lease's end)
  in_flight    INTEGER NOT NULL DEFAULT 0, -- its deliveries leased now, by any process
  served_at    INTEGER NOT NULL DEFAULT 0, -- when a claim last took from it
  max_in_flight INTEGER NOT NULL DEFAULT 2147483647, -- the per-endpoint limit the last claim applied
  ready_at     INTEGER                     -- MAX(next_due_at, served_at) while in_flight < max_in_flight; else NULL
) WITHOUT ROWID;
CREATE INDEX delivery_queues_ready ON delivery_queues (ready_at) WHERE ready_at IS NOT NULL;

INSERT INTO delivery_queues (webhook_id, next_due_at, in_flight, served_at, ready_at)
  SELECT w.id, q.t, 0, 0, q.t
  FROM webhooks w
  LEFT JOIN (SELECT webhook_id, MIN(next_attempt_at) AS t FROM deliveries WHERE next_attempt_at IS NOT NULL GROUP BY webhook_id) q
    ON q.webhook_id = w.id
  WHERE w.status = 'active' AND w.deleted_at IS NULL;
`,
};

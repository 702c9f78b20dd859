/**
 * searchPartial: as SQLite's migration 014, migration 005's per-endpoint and per-type search indexes
 * become partial on `failed`/`expired` (the undelivered view and replay), so a delivery's status
 * changes on its way to `delivered` no longer write two index entries each. Other statuses are read
 * off deliveries_status or the per-endpoint history index, as the planner prices them.
 */
export const searchPartial = {
  version: 7,
  name: "search-partial",
  sql: `
DROP INDEX IF EXISTS deliveries_search_webhook;
DROP INDEX IF EXISTS deliveries_search_type;
CREATE INDEX deliveries_undelivered_webhook ON deliveries (webhook_id, status, created_at, id) WHERE status IN ('failed', 'expired');
CREATE INDEX deliveries_undelivered_type ON deliveries (event_type, status, created_at, id) WHERE status IN ('failed', 'expired');
`,
};

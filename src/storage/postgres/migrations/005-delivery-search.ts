/**
 * deliverySearch backs SPEC §11's list of deliveries across endpoints and bulk replay (issue 18), as
 * SQLite's migration 012 does: one index range per status, ordered by (created_at, id), starting with
 * the filter's equality columns. deliveries_status gains `id`, a superset of what it served before.
 */
export const deliverySearch = {
  version: 5,
  name: "delivery-search",
  sql: `
DROP INDEX IF EXISTS deliveries_status;
CREATE INDEX deliveries_status ON deliveries (status, created_at, id);
CREATE INDEX deliveries_search_webhook ON deliveries (webhook_id, status, created_at, id);
CREATE INDEX deliveries_search_type ON deliveries (event_type, status, created_at, id);
`,
};

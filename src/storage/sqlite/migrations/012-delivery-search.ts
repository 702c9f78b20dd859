/**
 * deliverySearch backs SPEC §11's list of deliveries across endpoints and bulk replay (issue 18):
 * each reads one status at a time, newest or oldest first by (created_at, id), from an index that
 * starts with the filter's equality columns, so a page or a replay batch is one index range however
 * many deliveries are stored. deliveries_status gains `id` (a superset of what it served before:
 * counts by status, the oldest pending, retention) so ties within a millisecond page without a sort.
 */
export const deliverySearch = {
  version: 12,
  name: "delivery-search",
  sql: `
DROP INDEX IF EXISTS deliveries_status;
CREATE INDEX deliveries_status ON deliveries (status, created_at, id);
CREATE INDEX deliveries_search_webhook ON deliveries (webhook_id, status, created_at, id);
CREATE INDEX deliveries_search_type ON deliveries (event_type, status, created_at, id);
`,
};

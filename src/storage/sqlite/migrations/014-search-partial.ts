/**
 * searchPartial keeps migration 012's per-endpoint and per-type search indexes for what they are for,
 * the undelivered view and bulk replay (SPEC §11), and stops every delivery paying for them: as full
 * indexes each status change (pending → delivered, on every delivery) rewrote two entries, about 15% of
 * delivery throughput. Partial on `failed`/`expired`, a delivery enters them only when it fails. Other
 * statuses are searched off deliveries_status (src/storage/sqlite/delivery-search.ts). The WHERE must stay
 * word for word what delivery-search.ts writes (UNDELIVERED there): INDEXED BY needs the query to imply it.
 */
export const searchPartial = {
  version: 14,
  name: "search-partial",
  sql: `
DROP INDEX IF EXISTS deliveries_search_webhook;
DROP INDEX IF EXISTS deliveries_search_type;
CREATE INDEX deliveries_undelivered_webhook ON deliveries (webhook_id, status, created_at, id) WHERE status IN ('failed', 'expired');
CREATE INDEX deliveries_undelivered_type ON deliveries (event_type, status, created_at, id) WHERE status IN ('failed', 'expired');
`,
};

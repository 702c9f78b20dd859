/** deliveryStatusIndex lets /metrics count deliveries by status and find the oldest unfinished one without a table scan. */
export const deliveryStatusIndex = {
  version: 4,
  name: "delivery-status-index",
  sql: "CREATE INDEX deliveries_status ON deliveries (status, created_at);",
};

/** dropDeliveriesCreated: retention now finds old finished deliveries through (status, created_at); one index fewer to write per delivery. */
export const dropDeliveriesCreated = {
  version: 5,
  name: "drop-deliveries-created",
  sql: "DROP INDEX IF EXISTS deliveries_created;",
};

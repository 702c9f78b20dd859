/**
 * routing adds SPEC §10's per-endpoint routing options (issue 17) and the inbound source of an event;
 * column names match SQLite's migration 10, so copy-storage moves them by name.
 */
export const routing = {
  version: 3,
  name: "routing",
  sql: `
ALTER TABLE webhooks
  ADD COLUMN filter        TEXT,                   -- MongoDB-style query as compact JSON, NULL = every event
  ADD COLUMN transform     TEXT,                   -- JSONata expression, NULL = the envelope as stored
  ADD COLUMN content_type  TEXT;                   -- for a transform's string results

ALTER TABLE events ADD COLUMN source TEXT;         -- inbound source id, NULL for API, resource and test events
`,
};

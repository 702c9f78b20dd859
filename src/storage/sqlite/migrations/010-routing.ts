/**
 * routing adds SPEC §10's per-endpoint routing options (issue 17): a filter (compact JSON text), a
 * JSONata transform and the content type of its string results; and the `[[sources]]` id an inbound
 * event came from (filter and transform input). Existing rows keep their meaning: no filter, no
 * transform, no source.
 */
export const routing = {
  version: 10,
  name: "routing",
  sql: `
ALTER TABLE webhooks ADD COLUMN filter TEXT;        -- MongoDB-style query as compact JSON, NULL = every event
ALTER TABLE webhooks ADD COLUMN transform TEXT;     -- JSONata expression, NULL = the envelope as stored
ALTER TABLE webhooks ADD COLUMN content_type TEXT;  -- for a transform's string results, NULL = text/plain
ALTER TABLE events ADD COLUMN source TEXT;          -- inbound source id, NULL for API, resource and test events
`,
};

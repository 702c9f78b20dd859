/**
 * audit keeps SPEC §14's audit log: one row per change made through the admin API or a config reload,
 * written in the transaction of the change. The listing is newest first by (time, id) and every filter
 * is one index range in that order: all entries, one target's, one key's, each optionally from `since`
 * on; retention deletes the oldest off the same (time, id) index.
 */
export const audit = {
  version: 13,
  name: "audit",
  sql: `
CREATE TABLE audit_log (
  id          TEXT PRIMARY KEY,   -- aud_ + UUIDv7: time-ordered
  time        INTEGER NOT NULL,
  key         TEXT NOT NULL,      -- the API key's name, or 'sighup'
  client_ip   TEXT,
  request_id  TEXT,
  method      TEXT NOT NULL,
  path        TEXT NOT NULL,
  target_id   TEXT,               -- NULL for a bulk replay or a reload
  changes     TEXT NOT NULL       -- JSON object, field -> {before, after}, masked, in the order given
);
CREATE INDEX audit_log_time ON audit_log (time, id);
CREATE INDEX audit_log_target ON audit_log (target_id, time, id) WHERE target_id IS NOT NULL;
CREATE INDEX audit_log_key ON audit_log (key, time, id);
`,
};

/**
 * audit keeps SPEC §14's audit log, as SQLite's migration 013 does: one row per admin change or config
 * reload, written in the change's transaction; every listing is one index range newest first by
 * (time, id), and retention deletes off the same (time, id) index. `changes` is the JSON text as
 * written (its keys keep their order; JSONB would sort them).
 */
export const audit = {
  version: 6,
  name: "audit",
  sql: `
CREATE TABLE audit_log (
  id          TEXT COLLATE "C" PRIMARY KEY,   -- aud_ + UUIDv7: time-ordered
  time        BIGINT NOT NULL,
  key         TEXT COLLATE "C" NOT NULL,      -- the API key's name, or 'sighup'
  client_ip   TEXT,
  request_id  TEXT,
  method      TEXT NOT NULL,
  path        TEXT NOT NULL,
  target_id   TEXT COLLATE "C",               -- NULL for a bulk replay or a reload
  changes     TEXT NOT NULL                   -- JSON object, field -> {before, after}, masked
);
CREATE INDEX audit_log_time ON audit_log (time, id);
CREATE INDEX audit_log_target ON audit_log (target_id, time, id) WHERE target_id IS NOT NULL;
CREATE INDEX audit_log_key ON audit_log (key, time, id);
`,
};

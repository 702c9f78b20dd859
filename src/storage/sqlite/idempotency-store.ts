import type { Database } from "bun:sqlite";
import type { IdempotencyBegin, IdempotencyStore } from "../types";

interface KeyRow {
  request_hash: string;
  state: "running" | "done";
  status: number | null;
  response_body: string | null;
  content_type: string | null;
  locked_until: number;
  expires_at: number;
}

/** sqliteIdempotencyStore claims keys atomically; a claim left by a crashed process lapses after its lock. */
export function sqliteIdempotencyStore(db: Database): IdempotencyStore {
  const find = db.query<KeyRow, [string, string]>(
    `SELECT request_hash, state, status, response_body, content_type, locked_until, expires_at
     FROM idempotency_keys WHERE scope = ? AND idem_key = ?`,
  );
  const claim = db.query(
    `INSERT OR REPLACE INTO idempotency_keys
       (scope, idem_key, request_hash, state, status, response_body, content_type, locked_until, created_at, expires_at)
     VALUES (?, ?, ?, 'running', NULL, NULL, NULL, ?, ?, ?)`,
  );
  const finish = db.query(
    `UPDATE idempotency_keys SET state = 'done', status = ?, response_body = ?, content_type = ?
     WHERE scope = ? AND idem_key = ?`,
  );
  const forget = db.query("DELETE FROM idempotency_keys WHERE scope = ? AND idem_key = ?");
  const unlockRunning = db.query("UPDATE idempotency_keys SET locked_until = 0 WHERE state = 'running'");

  const begin = db.transaction(
    (scope: string, key: string, hash: string, now: number, ttlMs: number, lockMs: number): IdempotencyBegin => {
      const row = find.get(scope, key);
      if (row && row.expires_at > now) {
        if (row.request_hash !== hash) return { kind: "mismatch" };
        if (row.state === "done") {
          return {
            kind: "replay",
            status: row.status ?? 200,
            body: row.response_body ?? "",
            contentType: row.content_type ?? "application/json",
          };
        }
        if (row.locked_until > now) return { kind: "in_progress" };
      }
      claim.run(scope, key, hash, now + lockMs, now, now + ttlMs);
      return { kind: "started" };
    },
  );

  return {
    begin: (scope, key, hash, now, ttlMs, lockMs) => begin(scope, key, hash, now, ttlMs, lockMs),
    complete: (scope, key, status, body, contentType) => {
      finish.run(status, body, contentType, scope, key);
    },
    release: (scope, key) => {
      forget.run(scope, key);
    },
    releaseAbandoned: () => unlockRunning.run().changes,
  };
}
